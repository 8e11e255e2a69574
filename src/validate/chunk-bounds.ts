import type { Db } from '../db/connect.js'
import { quoteId } from '../db/quote.js'
import { parseColumnType } from '../schema/column-type.js'
import { keyAtSql, keysAfter } from './checksum-sql.js'
import type { CompareSpec } from './checksum-types.js'
import { rawQuery } from './read-pair.js'

/**
 * Where each chunk of the comparison ends. A key of one integer column is stepped by value: the chunk
 * after `lo` ends at lo + chunkRows, which holds at most chunkRows rows (one per value of a unique key),
 * exactly chunkRows where the keys are dense, and needs no query: the index walk that finds a boundary
 * by position (LIMIT 1 OFFSET chunkRows - 1) reads a chunk's rows once more on the source, about an
 * eighth of what hashing them costs. Where keys are sparse (a chunk counted fewer than half of chunkRows)
 * boundaries go back to the walk, until a walked chunk spans few enough values to step again; more rows
 * than chunkRows in a stepped chunk (a declared key that is not unique) end the stepping for good. Any
 * boundaries make the comparison exact; these only decide the chunks' sizes.
 */
export class ChunkBounds {
  private stepping: boolean
  private stepped = true
  /** The source key's MIN and MAX, read once when first stepping; null for an empty table. */
  private span: Promise<{ min: bigint; max: bigint } | null> | null = null

  constructor(
    private readonly source: Db,
    private readonly spec: CompareSpec,
  ) {
    const keys = spec.keys.source
    const column = keys.length === 1 ? spec.columns.find((c) => c.name === keys[0]!.name) : undefined
    this.stepping = column !== undefined && parseColumnType(column).family === 'int'
  }

  /** The last key of the chunk after `lo` (null: the table's start), or null for the last chunk. */
  async after(lo: Buffer[] | null): Promise<Buffer[] | null> {
    const from = lo === null ? null : asInteger(lo[0]!)
    if (!this.stepping || !this.stepped || from === undefined) return this.walk(lo, from)
    this.span ??= this.readSpan()
    const span = await this.span
    if (span === null) return null
    const hi = (from ?? span.min - 1n) + BigInt(this.spec.chunkRows)
    return hi >= span.max ? null : [Buffer.from(hi.toString())]
  }

  /** A chunk's source rows, once counted. */
  counted(rows: number): void {
    if (rows > this.spec.chunkRows) this.stepping = false
    else if (rows < this.spec.chunkRows / 2) this.stepped = false
  }

  private async walk(lo: Buffer[] | null, from: bigint | null | undefined): Promise<Buffer[] | null> {
    const keys = this.spec.keys.source
    const sql = keyAtSql(this.spec.table, keys, lo ? [keysAfter(keys, lo)] : [], this.spec.chunkRows - 1)
    const hi = ((await rawQuery(this.source.pool, sql))[0] as Buffer[] | undefined) ?? null
    const to = hi === null ? undefined : asInteger(hi[0]!)
    if (this.stepping && typeof from === 'bigint' && to !== undefined)
      this.stepped = to - from <= 2n * BigInt(this.spec.chunkRows)
    return hi
  }

  private async readSpan(): Promise<{ min: bigint; max: bigint } | null> {
    const k = quoteId(this.spec.keys.source[0]!.name)
    const [row] = await rawQuery(
      this.source.pool,
      `SELECT MIN(${k}), MAX(${k}) FROM ${quoteId(this.spec.table)}`,
    )
    const min = row?.[0] ? asInteger(row[0]) : undefined
    const max = row?.[1] ? asInteger(row[1]) : undefined
    return min === undefined || max === undefined ? null : { min, max }
  }
}

/** An integer key value as read (its decimal text), or undefined when it is not one. */
function asInteger(v: Buffer): bigint | undefined {
  const text = v.toString('latin1')
  return /^-?\d+$/.test(text) ? BigInt(text) : undefined
}
