/**
 * The literal rule of dbsync, for every statement it builds:
 * - identifiers (schemas, tables, columns, indexes) only through `quoteId()` or Kysely's `sql.id`;
 * - row values on the copy paths (INSERT/upsert, LOAD DATA's re-read keys, keyset bounds, cursor values)
 *   are SQL literals made only by the codecs of this file, from the exact bytes the source sent;
 * - every other value is a bound `?` parameter. Nothing else concatenates values into SQL.
 * The codecs refuse bytes that do not look like their type (numbers, temporals), and hex-encode the rest,
 * so a literal can never carry SQL and a value never passes through a lossy JS number or Date.
 */
import { SyncError } from '../errors.js'
import type { Flavor } from './flavor.js'
import { quoteId } from './quote.js'
import { canQuote, isNumberText, isTemporalText, type SqlWriter } from './sql-writer.js'

/** What a codec needs to know of a column: a `ColumnDef` (schema/table-def.ts) satisfies it. */
export interface CodecColumn {
  name: string
  /** Lower-case DATA_TYPE. */
  dataType: string
  charset: string | null
}

/**
 * How one column's value crosses from source to target without passing through a lossy JS type.
 * Rows are read with mysql2's `typeCast: false`: every value arrives as the raw bytes of the text
 * protocol (a Buffer) or null, and is written back as an SQL literal built from those bytes:
 * - numbers (integers of any width, DECIMAL, DOUBLE, YEAR) as their digits, unquoted, after a strict
 *   check, so BIGINT UNSIGNED and DECIMAL(65,30) never meet a JS number;
 * - FLOAT read as `col * 1e0`: the text protocol prints FLOAT with 6 significant digits (3.40282e38),
 *   while the DOUBLE it widens to exactly prints enough to round back to the same float;
 * - text as `_charset X'..'` of the column's own bytes (read through CAST AS BINARY, so nothing is
 *   converted on the way out or in, whatever the character set);
 * - binary, BIT and spatial values as X'..' (spatial: the server's internal format, as mysqldump does);
 * - temporal values as their ASCII text, quoted (the session is UTC on both sides, see db/connect.ts).
 */
export type CodecKind = 'number' | 'float' | 'bit' | 'temporal' | 'binary' | 'text' | 'geometry' | 'utf8'

export interface ColumnCodec {
  name: string
  kind: CodecKind
  /** Expression in the SELECT list. */
  select: string
  /** SQL literal for a raw value read with `select`. */
  literal(value: Buffer | null): string
  /**
   * The same value's literal written as bytes (the INSERT path), for the non-NULL value at
   * `v[start..end)`: the rule of `literal`, except that text is quoted rather than hex-encoded where that
   * is exact (sql-writer.ts canQuote: ASCII, or valid UTF-8 in a utf8mb4 column).
   */
  write(out: SqlWriter, v: Buffer, start: number, end: number): void
}

const NUMBER_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'double',
  'real',
  'year',
])
const TEMPORAL_TYPES = new Set(['date', 'datetime', 'timestamp', 'time'])
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob'])
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set'])
const GEOMETRY_TYPES = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
])

/** Decide how a column's values are read and written. */
export function codecKind(c: Pick<CodecColumn, 'dataType' | 'charset'>): CodecKind {
  const t = c.dataType
  if (NUMBER_TYPES.has(t)) return 'number'
  if (t === 'float') return 'float'
  if (t === 'bit') return 'bit'
  if (TEMPORAL_TYPES.has(t)) return 'temporal'
  if (BINARY_TYPES.has(t)) return 'binary'
  if (GEOMETRY_TYPES.has(t)) return 'geometry'
  if (TEXT_TYPES.has(t)) return c.charset && c.charset !== 'binary' ? 'text' : 'binary'
  // MySQL's JSON, and types such as MariaDB's INET6/UUID: their text form, which is utf8mb4.
  return 'utf8'
}

// Digits, sign, point and exponent only: what the server prints for numbers. Anything else is refused,
// so an unquoted literal can never carry SQL.
const NUMBER_RE = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/
const TEMPORAL_RE = /^-?[\d: .-]+$/

/** The codec for a source column; `flavor` is the target's (character-set names differ by server). */
export function columnCodec(c: CodecColumn, targetFlavor: Flavor): ColumnCodec {
  const kind = codecKind(c)
  const q = quoteId(c.name)
  const name = c.name
  switch (kind) {
    case 'number':
    case 'float':
      return {
        name,
        kind,
        select: kind === 'float' ? `(${q} * 1e0)` : q,
        literal: (v) => (v === null ? 'NULL' : numberLiteral(v, name)),
        write: (out, v, s, e) => {
          if (!isNumberText(v, s, e)) numberLiteral(v.subarray(s, e), name)
          out.raw(v, s, e)
        },
      }
    case 'temporal':
      return {
        name,
        kind,
        select: q,
        literal: (v) => (v === null ? 'NULL' : temporalLiteral(v, name)),
        write: (out, v, s, e) => {
          if (!isTemporalText(v, s, e)) temporalLiteral(v.subarray(s, e), name)
          out.byte(0x27)
          out.raw(v, s, e)
          out.byte(0x27)
        },
      }
    case 'bit':
    case 'binary':
    case 'geometry':
      return {
        name,
        kind,
        select: q,
        literal: (v) => (v === null ? 'NULL' : `X'${v.toString('hex')}'`),
        write: (out, v, s, e) => out.hex(v, s, e),
      }
    case 'text':
    case 'utf8': {
      const charset = kind === 'utf8' ? 'utf8mb4' : (c.charset ?? 'utf8mb4')
      const intro = `_${kind === 'utf8' ? 'utf8mb4' : targetFlavor.charsetName(charset)}`
      const introBytes = Buffer.from(intro, 'latin1')
      const quotable = QUOTABLE_CHARSETS.has(charset)
      const utf8 = charset === 'utf8mb4'
      return {
        name,
        kind,
        select: kind === 'utf8' ? q : `CAST(${q} AS BINARY)`,
        literal: (v) => (v === null ? 'NULL' : `${intro} X'${v.toString('hex')}'`),
        write: (out, v, s, e) => {
          out.raw(introBytes)
          if (quotable && canQuote(v, s, e, utf8)) {
            out.quoted(v, s, e)
          } else {
            out.byte(0x20)
            out.hex(v, s, e)
          }
        },
      }
    }
  }
}

/**
 * Character sets whose ASCII values may be written quoted: ASCII bytes are the same characters in them as
 * in the UTF-8 connection; the bytes are taken as the introducer's character set unchanged.
 */
const QUOTABLE_CHARSETS = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'latin1', 'ascii'])

function numberLiteral(v: Buffer, column: string): string {
  const s = v.toString('latin1')
  if (!NUMBER_RE.test(s))
    throw new SyncError(`column ${column}: unexpected numeric value from the source: ${s}`)
  return s
}

function temporalLiteral(v: Buffer, column: string): string {
  const s = v.toString('latin1')
  if (!TEMPORAL_RE.test(s))
    throw new SyncError(`column ${column}: unexpected temporal value from the source: ${s}`)
  return `'${s}'`
}
