import { codecKind } from '../db/codec.js'
import { type KeyTerm, keysAfter, keysAtMost, keysIn } from '../db/keyset.js'
import { quoteId } from '../db/quote.js'
import { assertNever } from '../errors.js'
import { charsetMaxLen, parseColumnType } from '../schema/column-type.js'
import type { ColumnDef } from '../schema/table-def.js'

// The key vocabulary lives in db/keyset.ts; these re-exports keep validate's and repair's imports stable.
export { type KeyTerm, keysAfter, keysAtMost, keysIn, keyTerms } from '../db/keyset.js'

/*
 * The SQL text of the chunked comparison (checksum.ts runs it). Every expression here runs unchanged on
 * MySQL 5.7/8 and MariaDB: SHA1, HEX, CAST, CONV, CONCAT_WS and SUM behave the same on all of them.
 */

/**
 * An exact, short text image of a column's value, the same on both servers for the same stored value:
 * numbers and temporal values are the column itself, which CONCAT_WS turns into its text exactly as
 * CAST(... AS CHAR) would (both call the value's string conversion): numbers as their decimal text (HEX
 * would truncate DECIMAL to an integer), FLOAT widened to DOUBLE first (FLOAT prints with six digits),
 * temporal values as 'YYYY-MM-DD hh:mm:ss.ffffff' at the column's precision (TIMESTAMP in the session's
 * zone, UTC on both sides, db/connect.ts). Without the CAST, and with text instead of `+ 0` for temporal
 * values, the images cost about a tenth less server CPU on the bench table. BIT is HEX of its bits, short
 * strings (CHAR, VARCHAR, BINARY, VARBINARY, ENUM, SET of at most SHORT_BYTES bytes) HEX of their bytes (cheaper
 * than SHA1, and as exact), and longer strings, binary, JSON and spatial values SHA1 of their bytes: HEX of
 * a 20 MB BLOB would pass max_allowed_packet, where string functions return NULL, and SHA1 is markedly
 * faster than MD5 on MariaDB. A column's image has one form for every value (chosen from the definition,
 * never per value), so two values' images are equal only when their bytes are; no image contains '#' or
 * is 'N'.
 */
export function columnImage(c: Pick<ColumnDef, 'name' | 'dataType' | 'charset' | 'columnType'>): string {
  const q = quoteId(c.name)
  const kind = codecKind(c)
  switch (kind) {
    case 'number':
    case 'temporal':
      return q
    case 'float':
      return `(${q} * 1e0)`
    case 'bit':
      return `HEX(${q})`
    case 'binary':
    case 'text':
      return isShortString(c) ? `HEX(${q})` : `SHA1(${q})`
    case 'geometry':
    case 'utf8':
      return `SHA1(${q})`
    default:
      return assertNever(kind)
  }
}

/**
 * HEX images only values of at most 20 bytes: never longer than a SHA1 image (40 characters), so no row's
 * digest input grows past what it was with SHA1 everywhere (CONCAT_WS returns NULL past max_allowed_packet).
 */
const SHORT_BYTES = 20

/** The most bytes a value of this column can take, when that is small and known from the definition. */
function isShortString(c: Pick<ColumnDef, 'dataType' | 'charset' | 'columnType'>): boolean {
  const t = parseColumnType(c)
  const perChar = codecKind(c) === 'binary' ? 1 : charsetMaxLen(c.charset)
  // ENUM and SET values are known: their bytes, exactly in UTF-8, else characters times the widest.
  const bytes = (v: string) =>
    /^utf8/i.test(c.charset ?? '') ? Buffer.byteLength(v) : [...v].length * perChar
  if (t.family === 'enum') return Math.max(...t.values.map(bytes)) <= SHORT_BYTES
  if (t.family === 'set') return t.values.reduce((n, v) => n + bytes(v) + 1, -1) <= SHORT_BYTES
  if (t.family === 'char' || t.family === 'varchar' || t.family === 'binary' || t.family === 'varbinary')
    return t.length * perChar <= SHORT_BYTES
  return false
}

/**
 * SHA1 of a row's images joined by '#' (no image contains it). CONCAT_WS skips NULLs, so a nullable
 * column's NULL becomes 'N', which no image is (images are digits, '-', '.', 'e' and hex): NULL stays
 * apart from '' and from every value. A NOT NULL column needs no such guard: were its value NULL on one side
 * (a hand-altered target), CONCAT_WS would skip it there and the joined text would hold one '#' less.
 * Cheaper than the flag per column it replaces (about 15% of the images' server CPU on the bench table).
 */
export function rowDigest(columns: ColumnDef[]): string {
  return `SHA1(${rowImage(columns, "'#'")})`
}

function rowImage(columns: ColumnDef[], separator: string): string {
  const images = columns.map((c) => (c.nullable ? `COALESCE(${columnImage(c)}, 'N')` : columnImage(c)))
  return `CONCAT_WS(${separator}, ${images.join(', ')})`
}

/**
 * The cap on one range's joined row images (chunkConcatSql), set per session (read-pair.ts): MySQL's default
 * group_concat_max_len is 1 KB, MariaDB's 1 MB. A range past it is cut with a warning and hashed as a sum.
 */
export const CONCAT_MAX_BYTES = 32 * 1024 * 1024

/** The most bytes one image can take: DECIMAL(65,30) prints 67 characters, SHA1 40, the others fewer. */
const IMAGE_MAX_BYTES = 70

/** Whether a chunk of these rows surely fits CONCAT_MAX_BYTES (wider rows hash as sums, never cut). */
export function concatFits(columns: ColumnDef[], chunkRows: number): boolean {
  return chunkRows * (columns.length * (IMAGE_MAX_BYTES + 1) + 1) <= CONCAT_MAX_BYTES
}

/**
 * Count, SHA1 of the range's row images joined by '/' in scan order (key order: the range is read along the
 * primary key on both sides, FORCE INDEX (PRIMARY)), and the source's pending rows. One SHA1 per range instead of a SHA1, CONV and
 * DECIMAL addition per row: about a quarter less server CPU on the bench table. The images are bytes
 * (a binary separator), so the server copies each into the concatenation without checking it as UTF-8,
 * which cost more than the per-row hash it replaces. No image contains '/' or '#', and every row has the
 * same number of '#', so equal texts mean equal rows in equal order. Not linear: bisection hashes both halves.
 * A row whose image is NULL (longer than max_allowed_packet) would be skipped, and a text past
 * CONCAT_MAX_BYTES is cut: both warn, and the caller then hashes the range as a sum (checksum-hash.ts).
 */
export function chunkConcatSql(
  table: string,
  columns: ColumnDef[],
  conds: string[],
  pending: string | null,
): string {
  const extra = pending ? `, COALESCE(SUM(${pending}), 0)` : ''
  const joined = `GROUP_CONCAT(${rowImage(columns, "_binary'#'")} SEPARATOR '/')`
  // Read along the primary key on both sides, whatever the optimizer prefers: a secondary index that covers
  // every compared column (a two-column table with a KEY on its second) is smaller, and the range's rows
  // would come in its order on a side that has it and in key order on one that lacks it.
  return `SELECT COUNT(*), SHA1(${joined})${extra} FROM ${quoteId(table)} FORCE INDEX (PRIMARY)${where(conds)}`
}

/**
 * The chunk hash: the SUM of each row's first 64 digest bits. A sum, not BIT_XOR, so two equal rows do not
 * cancel out (tables without a key may hold duplicates), and so the hash of one half of a range is the
 * whole minus the other half: bisecting costs one query per side per level. A changed row escapes with
 * odds of 2^-64.
 *
 * A row whose digest is NULL (its CONCAT_WS input is longer than max_allowed_packet: both servers then
 * return NULL with a warning) would be skipped by SUM on both sides alike, unseen. It adds UNHASHED instead:
 * the 64-bit parts of fewer than 2^64 rows sum to less than 2^128, so `sum / 2^128` counts such rows
 * exactly (splitHash), and the sum stays linear for bisection. DECIMAL arithmetic, exact on both servers
 * up to 65 digits.
 */
export function digestSum(columns: ColumnDef[]): string {
  const part = `CAST(CONV(SUBSTRING(${rowDigest(columns)}, 1, 16), 16, 10) AS UNSIGNED)`
  return `COALESCE(SUM(COALESCE(${part}, ${UNHASHED})), 0)`
}

/** 2^128, what a row without a digest adds to a chunk's sum. */
const UNHASHED = 2n ** 128n

/** A chunk sum as read: the rows' 64-bit digest parts, and how many rows had no digest. */
export function splitHash(total: bigint): { sum: bigint; unhashed: bigint } {
  return { sum: total % UNHASHED, unhashed: total / UNHASHED }
}

/** A key range `(lo, hi]`; null ends are open. Boundaries are raw key values read from the source. */
export interface KeyRange {
  lo: Buffer[] | null
  hi: Buffer[] | null
}

/** The WHERE conditions of a range. */
export function rangeWhere(keys: KeyTerm[], r: KeyRange): string[] {
  const out: string[] = []
  if (r.lo) out.push(keysAfter(keys, r.lo))
  if (r.hi) out.push(keysAtMost(keys, r.hi))
  return out
}

function where(conds: string[]): string {
  return conds.length ? ` WHERE ${conds.join(' AND ')}` : ''
}

/**
 * Count, hash and (on the source, when some rows are not judged) the number of pending rows of a range.
 * Returns one row: COUNT, SUM[, pending].
 */
export function chunkHashSql(
  table: string,
  columns: ColumnDef[],
  conds: string[],
  pending: string | null,
): string {
  const extra = pending ? `, COALESCE(SUM(${pending}), 0)` : ''
  return `SELECT COUNT(*), ${digestSum(columns)}${extra} FROM ${quoteId(table)}${where(conds)}`
}

/**
 * The key of the row at 0-based position `offset` of a range, in key order: a chunk's upper boundary
 * (offset = chunk rows - 1 after the previous boundary) or a bisection point. The server walks at most
 * `offset` index entries; only one key crosses the network.
 */
export function keyAtSql(table: string, keys: KeyTerm[], conds: string[], offset: number): string {
  const order = keys.map((k) => k.expr).join(', ')
  return `SELECT ${keys.map((k) => k.select).join(', ')} FROM ${quoteId(table)}${where(conds)} ORDER BY ${order} LIMIT 1 OFFSET ${offset}`
}

/**
 * Rows of a small range for the row-level comparison: key values, then each column's image, then (when
 * `pending` is given) 1 for a pending row. `limit` pages through a large range (the target may hold many
 * rows where the source holds few).
 */
export function rowImagesSql(
  table: string,
  keys: KeyTerm[],
  columns: ColumnDef[],
  conds: string[],
  pending: string | null,
  limit: number | null,
): string {
  const select = [...keys.map((k) => k.select), ...columns.map(columnImage)]
  if (pending) select.push(`COALESCE(${pending}, 0)`)
  const order = keys.map((k) => k.expr).join(', ')
  return (
    `SELECT ${select.join(', ')} FROM ${quoteId(table)}${where(conds)} ORDER BY ${order}` +
    (limit === null ? '' : ` LIMIT ${limit}`)
  )
}

/** Which of these keys a side holds (by the server's own equality, collation included). */
export function keysPresentSql(table: string, keys: KeyTerm[], values: Buffer[][]): string {
  return `SELECT ${keys.map((k) => k.select).join(', ')} FROM ${quoteId(table)} WHERE ${keysIn(keys, values)}`
}

/** Delete these keys. */
export function deleteKeysSql(table: string, keys: KeyTerm[], values: Buffer[][]): string {
  return `DELETE FROM ${quoteId(table)} WHERE ${keysIn(keys, values)}`
}
