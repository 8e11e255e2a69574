import { type CodecColumn, type ColumnCodec, columnCodec } from './codec.js'
import type { Flavor } from './flavor.js'
import { quoteId } from './quote.js'

/*
 * The one vocabulary for key tuples, used by the sync reads (sync/read.ts) and the chunked comparison
 * (validate/checksum-sql.ts). Values in these predicates are literals made by the column codecs from raw
 * source bytes (db/codec.ts); identifiers go through quoteId.
 */

/** One term of a key tuple (a primary-key column, or the cursor) as a side reads and compares it. */
export interface KeyTerm {
  /** The column name (for a cursor: its column names joined by ', '), for messages. */
  name: string
  /** In ORDER BY and in range conditions: the bare column, so the server walks the index. */
  expr: string
  /** Reads the value exactly (text through CAST AS BINARY), matching `literal`. */
  select: string
  literal(value: Buffer): string
}

/** Key terms of one side; literals use that side's spelling of character-set names. */
export function keyTerms(columns: CodecColumn[], flavor: Flavor): KeyTerm[] {
  return codecTerms(columns.map((c) => columnCodec(c, flavor)))
}

/** Key terms for plain columns, from their codecs. */
export function codecTerms(codecs: ColumnCodec[]): KeyTerm[] {
  return codecs.map((c) => ({
    name: c.name,
    expr: quoteId(c.name),
    select: c.select,
    literal: (v: Buffer) => c.literal(v),
  }))
}

/** A cursor term, and what kind of values its first column holds. */
export interface CursorTerm extends KeyTerm {
  kind: ColumnCodec['kind']
}

/**
 * The cursor: one column, or a list of which the first non-NULL value counts (`COALESCE(a, b)`). Values
 * are read and written with the first column's codec (the config requires the columns to share a type).
 */
export function cursorTerm(columns: CodecColumn[], flavor: Flavor): CursorTerm {
  const first = columns[0]!
  const codec = columnCodec(first, flavor)
  const expr =
    columns.length === 1 ? quoteId(first.name) : `COALESCE(${columns.map((c) => quoteId(c.name)).join(', ')})`
  return {
    name: columns.map((c) => c.name).join(', '),
    expr,
    select: codec.kind === 'text' ? `CAST(${expr} AS BINARY)` : expr,
    literal: (v: Buffer) => codec.literal(v),
    kind: codec.kind,
  }
}

/**
 * `(a, b, c) > (x, y, z)` spelled out as `a > x OR (a = x AND (b > y OR (b = y AND c > z)))`, so both
 * MySQL's and MariaDB's range optimizers use the index (neither does for a row constructor on every
 * version). Keys are NULL-free and ascending.
 */
export function keysAfter(keys: KeyTerm[], values: Buffer[]): string {
  return nest(keys, values, '>', '>')
}

/** `(a, b) <= (x, y)` spelled out. */
export function keysAtMost(keys: KeyTerm[], values: Buffer[]): string {
  return nest(keys, values, '<', '<=')
}

function nest(keys: KeyTerm[], values: Buffer[], strict: string, last: string): string {
  let inner = ''
  for (let i = keys.length - 1; i >= 0; i--) {
    const { expr, literal } = keys[i]!
    const lit = literal(values[i]!)
    inner = inner ? `(${expr} ${strict} ${lit} OR (${expr} = ${lit} AND ${inner}))` : `${expr} ${last} ${lit}`
  }
  return inner
}

/** `k IN (...)` for one key column, else `(a = x AND b = y) OR ...`: both optimizers make it a range. */
export function keysIn(keys: KeyTerm[], values: Buffer[][]): string {
  if (keys.length === 1) {
    const k = keys[0]!
    return `${k.expr} IN (${values.map((v) => k.literal(v[0]!)).join(', ')})`
  }
  return values
    .map((v) => `(${keys.map((k, i) => `${k.expr} = ${k.literal(v[i]!)}`).join(' AND ')})`)
    .join(' OR ')
}
