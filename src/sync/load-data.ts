import { Readable } from 'node:stream'
import type { ResultSetHeader } from 'mysql2'
import type { PoolConnection } from 'mysql2/promise'
import { quoteId, quoteString } from '../db/quote.js'
import { SyncError } from '../errors.js'
import { LOAD_ID_COLUMN, ROW_ID_COLUMN } from '../schema/table-def.js'
import { IdMessage } from './id-message.js'
import { queryWithTimeout, type RawRow } from './read.js'
import { ChunkWriter, NL, TAB } from './tsv-chunks.js'
import type { WriteTarget } from './write.js'

/**
 * The bulk path: `LOAD DATA LOCAL INFILE` streamed from the rows in memory, for initial loads and full
 * refreshes. `CHARACTER SET binary` makes the server take every byte as it comes, so text arrives in its
 * column's own character set exactly as CAST(col AS BINARY) read it, with no conversion either way.
 * Columns the server cannot take as plain text go through a user variable: BIT (as its decimal value),
 * spatial values (the internal format, as INSERT takes it) and MySQL's JSON (utf8mb4 text).
 * REPLACE: a resumed load may meet rows an earlier attempt wrote; they are replaced, never doubled.
 * `_dlt_load_id` is the same for every row of a statement, so it is set once here (a constant in the SET
 * clause, which MySQL and MariaDB both take) instead of sent on every row: on narrow rows it was about a
 * quarter of the text (18 of about 75 bytes a row).
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
  sets.push(`${quoteId(LOAD_ID_COLUMN)} = ${quoteString(w.loadId)}`)
  targets.push(quoteId(ROW_ID_COLUMN))
  return (
    `LOAD DATA LOCAL INFILE 'dbsync.tsv' REPLACE INTO TABLE ${quoteId(w.table)} ` +
    `CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ` +
    `(${targets.join(', ')}) SET ${sets.join(', ')}`
  )
}

/**
 * Serialize rows as LOAD DATA text: tab-separated, backslash-escaped, `\N` for NULL; each row is its own
 * columns and `_dlt_id` (the statement sets `_dlt_load_id`). Written straight
 * into 256 KiB chunks: a million rows would otherwise make tens of millions of small Buffers for the
 * garbage collector.
 */
export function encodeRows(w: WriteTarget, rows: RawRow[], ordinalBase = 0): Buffer[] {
  const encoder = new RowEncoder(w, ordinalBase)
  for (const row of rows) encoder.add(row)
  return encoder.finish()
}

/**
 * Encodes rows one at a time as they arrive, so none has to be kept (bulk.ts): either rows as read
 * (`add`) or straight from the text-protocol row packet (`addPacket`), with no value objects at all.
 * Both write the same bytes, `_dlt_id` included: the same id as row-id.ts gives, hashed from the key's
 * bytes where they lie (md5.ts), with no string or Buffer made per row.
 */
export class RowEncoder {
  private readonly out = new ChunkWriter()
  private readonly bits: boolean[]
  /** For each column, its position in the key, or -1. */
  private readonly keySlot: number[]
  /** Where each key value of the last row lies (buffer, start, end); a null buffer for NULL. */
  private readonly keyBuf: Array<Buffer | null>
  private readonly keyStart: number[]
  private readonly keyEnd: number[]
  rows = 0

  constructor(
    private readonly w: WriteTarget,
    private readonly ordinalBase: number,
  ) {
    this.bits = w.codecs.map((c) => c.kind === 'bit')
    this.keySlot = w.codecs.map((_c, i) => w.keyIndexes.indexOf(i))
    this.keyBuf = w.keyIndexes.map(() => null)
    this.keyStart = w.keyIndexes.map(() => 0)
    this.keyEnd = w.keyIndexes.map(() => 0)
  }

  /** Bytes encoded so far. */
  get bytes(): number {
    return this.out.size
  }

  /** The ordinal of the next row after this encoder's last. */
  get nextOrdinal(): number {
    return this.ordinalBase + this.rows
  }

  /** The key of the last row added, copied out (null values as null); empty for a table without a key. */
  get lastKey(): Array<Buffer | null> {
    return this.keyBuf.map((v, j) => (v ? Buffer.from(v.subarray(this.keyStart[j], this.keyEnd[j])) : null))
  }

  add(row: RawRow): void {
    const out = this.out
    const n = this.bits.length
    for (let i = 0; i < n; i++) {
      const v = row[i] ?? null
      const slot = this.keySlot[i]!
      if (slot >= 0) this.keyAt(slot, v, 0, v ? v.length : 0)
      if (v === null) out.nullField()
      else if (this.bits[i]) out.ascii(bitValue(v))
      else out.escaped(v, 0, v.length)
      out.byte(TAB)
    }
    this.endRow()
  }

  /**
   * Encode a text-protocol result row: per column a length-encoded string, or 0xFB for NULL, starting at
   * `offset` of `buf` (MySQL client/server protocol, "ProtocolText::ResultsetRow").
   */
  addPacket(buf: Buffer, offset: number): void {
    const out = this.out
    const n = this.bits.length
    let o = offset
    for (let i = 0; i < n; i++) {
      const first = buf[o++]!
      let len: number
      if (first < 0xfb) {
        len = first
      } else if (first === 0xfb) {
        out.nullField()
        out.byte(TAB)
        const slot = this.keySlot[i]!
        if (slot >= 0) this.keyAt(slot, null, 0, 0)
        continue
      } else if (first === 0xfc) {
        len = buf[o]! | (buf[o + 1]! << 8)
        o += 2
      } else if (first === 0xfd) {
        len = buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16)
        o += 3
      } else {
        // 0xfe: an 8-byte length; values stop far below 2^53 (max_allowed_packet is at most 1 GB).
        len = buf.readUInt32LE(o) + buf.readUInt32LE(o + 4) * 0x100000000
        o += 8
      }
      const slot = this.keySlot[i]!
      if (slot >= 0) this.keyAt(slot, buf, o, o + len)
      if (this.bits[i]) out.ascii(bitValue(buf.subarray(o, o + len)))
      else out.escaped(buf, o, o + len)
      out.byte(TAB)
      o += len
    }
    this.endRow()
  }

  private keyAt(slot: number, buf: Buffer | null, start: number, end: number): void {
    this.keyBuf[slot] = buf
    this.keyStart[slot] = start
    this.keyEnd[slot] = end
  }

  private endRow(): void {
    const out = this.out
    this.writeRowId()
    out.byte(NL)
    out.maybeFlush()
    this.rows++
  }

  /** `_dlt_id` of the row just encoded: row-id.ts's id, written in place. */
  private writeRowId(): void {
    const keys = this.keyBuf.length
    if (keys === 1) {
      // One key column: the MD5 of its bytes, hashed where they lie.
      this.out.md5(this.keyBuf[0] ?? EMPTY, this.keyStart[0]!, this.keyEnd[0]!)
      return
    }
    const msg = ID_MESSAGE
    msg.reset()
    if (keys === 0) {
      msg.ascii(`${this.w.loadId}:${this.ordinalBase + this.rows}`)
    } else {
      for (let j = 0; j < keys; j++)
        msg.lengthPrefixed(this.keyBuf[j] ?? EMPTY, this.keyStart[j]!, this.keyEnd[j]!)
    }
    this.out.md5(msg.buf, 0, msg.len)
  }

  finish(): Buffer[] {
    return this.out.finish()
  }

  /** The buffers behind the chunks, for recycleChunks. */
  get buffers(): Buffer[] {
    return this.out.owned
  }
}

const EMPTY = Buffer.alloc(0)
const ID_MESSAGE = new IdMessage()

/** A BIT value's bytes (big-endian) as a decimal number. */
export function bitValue(v: Buffer): string {
  if (v.length <= 6) {
    // Exact in a double: up to 48 bits.
    let n = 0
    for (let i = 0; i < v.length; i++) n = n * 256 + v[i]!
    return String(n)
  }
  return BigInt(`0x${v.toString('hex')}`).toString()
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

/**
 * Whether an error means the server (or the client flag) refuses LOAD DATA LOCAL: MySQL's 1148
 * (ER_NOT_ALLOWED_COMMAND) and 3948 (ER_CLIENT_LOCAL_FILES_DISABLED, MySQL 8), MariaDB's 4166
 * (ER_LOAD_INFILE_CAPABILITY_DISABLED, 10.5.2 and later; 1148 before).
 */
export function isLocalInfileRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string }
  return (
    e?.code === 'ER_NOT_ALLOWED_COMMAND' ||
    e?.code === 'ER_CLIENT_LOCAL_FILES_DISABLED' ||
    e?.code === 'ER_LOAD_INFILE_CAPABILITY_DISABLED' ||
    e?.errno === 1148 ||
    e?.errno === 3948 ||
    e?.errno === 4166 ||
    /local (data|infile).*(disabled|not allowed)|disabled the local infile/i.test(e?.message ?? '')
  )
}
