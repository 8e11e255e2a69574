import { Readable } from 'node:stream'
import type { ResultSetHeader } from 'mysql2'
import type { PoolConnection } from 'mysql2/promise'
import { quoteId } from '../db/quote.js'
import { SyncError } from '../errors.js'
import { LOAD_ID_COLUMN, ROW_ID_COLUMN } from '../schema/table-def.js'
import { queryWithTimeout, type RawRow } from './read.js'
import { rowId, type WriteTarget } from './write.js'

/**
 * The bulk path: `LOAD DATA LOCAL INFILE` streamed from the rows in memory, for initial loads and full
 * refreshes. `CHARACTER SET binary` makes the server take every byte as it comes, so text arrives in its
 * column's own character set exactly as CAST(col AS BINARY) read it, with no conversion either way.
 * Columns the server cannot take as plain text go through a user variable: BIT (as its decimal value),
 * spatial values (the internal format, as INSERT takes it) and MySQL's JSON (utf8mb4 text).
 * REPLACE: a resumed load may meet rows an earlier attempt wrote; they are replaced, never doubled.
 */
export function loadDataStatement(w: WriteTarget): string {
  const targets: string[] = []
  const sets: string[] = []
  w.codecs.forEach((c, i) => {
    const v = `@v${i}`
    switch (c.kind) {
      case 'bit':
        targets.push(v)
        sets.push(`${quoteId(c.name)} = CAST(${v} AS UNSIGNED)`)
        break
      case 'geometry':
        targets.push(v)
        sets.push(`${quoteId(c.name)} = ${v}`)
        break
      case 'utf8':
        targets.push(v)
        sets.push(`${quoteId(c.name)} = CONVERT(${v} USING utf8mb4)`)
        break
      default:
        targets.push(quoteId(c.name))
    }
  })
  for (const n of w.nullColumns) sets.push(`${quoteId(n)} = NULL`)
  targets.push(quoteId(LOAD_ID_COLUMN), quoteId(ROW_ID_COLUMN))
  return (
    `LOAD DATA LOCAL INFILE 'dbsync.tsv' REPLACE INTO TABLE ${quoteId(w.table)} ` +
    `CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ` +
    `(${targets.join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`
  )
}

const TAB = 0x09
const NL = 0x0a
const BACKSLASH = 0x5c
const CHUNK = 256 * 1024

/**
 * Serialize rows as LOAD DATA text: tab-separated, backslash-escaped, `\N` for NULL. Written straight
 * into 256 KiB chunks: a million rows would otherwise make tens of millions of small Buffers for the
 * garbage collector.
 */
export function encodeRows(w: WriteTarget, rows: RawRow[], ordinalBase = 0): Buffer[] {
  const out = new ChunkWriter()
  const loadId = Buffer.from(w.loadId)
  const codecs = w.codecs
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    for (let i = 0; i < codecs.length; i++) {
      const v = row[i] ?? null
      if (v === null) out.nullField()
      else if (codecs[i]!.kind === 'bit') out.ascii(bitValue(v))
      else out.escaped(v)
      out.byte(TAB)
    }
    out.raw(loadId)
    out.byte(TAB)
    out.ascii(rowId(row, w.keyIndexes, w.loadId, ordinalBase + r))
    out.byte(NL)
    out.maybeFlush()
  }
  return out.finish()
}

class ChunkWriter {
  private chunks: Buffer[] = []
  private buf = Buffer.allocUnsafe(CHUNK * 2)
  private len = 0

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(bigger, 0, 0, this.len)
    this.buf = bigger
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.len++] = b
  }

  raw(v: Buffer): void {
    this.ensure(v.length)
    this.buf.set(v, this.len)
    this.len += v.length
  }

  ascii(s: string): void {
    this.ensure(s.length)
    this.len += this.buf.write(s, this.len, 'latin1')
  }

  nullField(): void {
    this.ensure(2)
    this.buf[this.len++] = BACKSLASH
    this.buf[this.len++] = 0x4e // N
  }

  /** Copy a value, escaping the bytes LOAD DATA treats specially (and NUL, which some servers cut at). */
  escaped(v: Buffer): void {
    this.ensure(v.length * 2)
    const buf = this.buf
    let o = this.len
    for (let i = 0; i < v.length; i++) {
      const b = v[i]!
      if (b === TAB) {
        buf[o++] = BACKSLASH
        buf[o++] = 0x74 // t
      } else if (b === NL) {
        buf[o++] = BACKSLASH
        buf[o++] = 0x6e // n
      } else if (b === BACKSLASH) {
        buf[o++] = BACKSLASH
        buf[o++] = BACKSLASH
      } else if (b === 0) {
        buf[o++] = BACKSLASH
        buf[o++] = 0x30 // 0
      } else {
        buf[o++] = b
      }
    }
    this.len = o
  }

  maybeFlush(): void {
    if (this.len < CHUNK) return
    this.chunks.push(this.buf.subarray(0, this.len))
    this.buf = Buffer.allocUnsafe(CHUNK * 2)
    this.len = 0
  }

  finish(): Buffer[] {
    if (this.len > 0) this.chunks.push(this.buf.subarray(0, this.len))
    return this.chunks
  }
}

/** A BIT value's bytes (big-endian) as a decimal number. */
function bitValue(v: Buffer): string {
  return v.length === 0 ? '0' : BigInt(`0x${v.toString('hex')}`).toString()
}

/**
 * Run a LOAD DATA of encoded rows on `conn` (inside the caller's transaction). With LOCAL the server turns data
 * errors into warnings, since it cannot stop the client mid-stream, so any warning fails the batch here:
 * a truncated or converted value must never be committed quietly.
 */
export async function loadRows(
  conn: PoolConnection,
  w: WriteTarget,
  statement: string,
  chunks: Buffer[],
  rows: number,
) {
  // Not mysql2's `timeout` option, whose timer outlives a cut connection (read.ts queryWithTimeout).
  const [res] = await queryWithTimeout(
    conn,
    { sql: statement, infileStreamFactory: () => Readable.from(chunks) },
    w.timeoutMs,
  )
  const header = res as ResultSetHeader
  if (header.warningStatus > 0) {
    const [warnings] = await conn.query('SHOW WARNINGS LIMIT 5')
    const text = (warnings as Array<{ Message: string }>).map((x) => x.Message).join('; ')
    throw new SyncError(`table ${w.label}: the target changed values while loading: ${text}`)
  }
  if (header.affectedRows < rows) {
    throw new SyncError(`table ${w.label}: LOAD DATA stored ${header.affectedRows} of ${rows} rows`)
  }
}

/** Whether an error means the server (or the client flag) refuses LOAD DATA LOCAL. */
export function isLocalInfileRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string }
  return (
    e?.code === 'ER_NOT_ALLOWED_COMMAND' ||
    e?.errno === 1148 ||
    e?.errno === 3948 ||
    e?.code === 'ER_CLIENT_LOCAL_FILES_DISABLED' ||
    /local (data|infile).*(disabled|not allowed)/i.test(e?.message ?? '')
  )
}
