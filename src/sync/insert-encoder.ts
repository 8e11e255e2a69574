import type { ColumnCodec } from '../db/codec.js'
import type { Db } from '../db/connect.js'
import { PACKET_HEADER_ROOM } from '../db/driver.js'
import { quoteId } from '../db/quote.js'
import { SqlWriter } from '../db/sql-writer.js'
import { SyncError } from '../errors.js'
import { LOAD_ID_COLUMN, ROW_ID_COLUMN } from '../schema/table-def.js'
import { MD5_B64URL_LENGTH, md5Base64url } from './md5.js'
import type { RawRow } from './read.js'
import { rowId } from './row-id.js'

/*
 * The INSERT path's encoder: each row's literals are written into the statement's bytes as the row
 * arrives (from a row as read, or straight from its text-protocol packet), the way RowEncoder writes
 * LOAD DATA text, so no string per value and no batch of strings is ever built.
 */

/**
 * Soft cap on one INSERT: bigger statements are not faster, and stay far from max_allowed_packet. Each is
 * bytes, then a string, then mysql2's packet while it is sent. Under V8's 128 KB limit for ordinary heap
 * objects the string is made in the young generation and dies there; bigger ones go to the large-object
 * space (1 MB and more: external strings) that only a full collection frees. On 300k rows into a
 * local_infile=OFF target, peak RSS was 211 MB at 4 MB, 184 MB at 1 MB, 164–167 MB at 512 KB and 110–148 MB
 * at 120 KB, for about 0.5 s more client CPU than 512 KB (2.5 → 3.0–3.6 s).
 */
const STATEMENT_BYTES = 120 * 1024
/**
 * The cap for a statement holding non-ASCII text: its string takes two bytes a character, so half the
 * bytes keep it under the same 128 KB.
 */
const WIDE_STATEMENT_BYTES = 60 * 1024
/** Room for the statement's head and tail around the VALUES rows. */
const PACKET_MARGIN = 64 * 1024

/** What the encoder needs of a write target; write.ts WriteTarget extends it. */
export interface InsertTarget {
  target: Pick<Db, 'flavor' | 'maxAllowedPacket'>
  /** Table written to (the real table, or a staging table during a full refresh). */
  table: string
  /** The source table name, for messages. */
  label: string
  /** Codecs of the copied columns, in the order of the row values. */
  codecs: ColumnCodec[]
  /** Target columns the source no longer has: written as NULL so they hold NULL "from then on". */
  nullColumns: string[]
  /** Positions of the primary-key values in a row; empty for a table without one. */
  keyIndexes: number[]
  /**
   * upsert: INSERT … ON DUPLICATE KEY UPDATE (merge by key); insert: plain INSERT (empty staging table);
   * load: LOAD DATA LOCAL … REPLACE, the bulk path (bulk.ts), which BatchWriter does not take.
   */
  mode: 'upsert' | 'insert' | 'load'
  loadId: string
}

/** One encoded INSERT statement and how many rows it carries. */
export interface Statement {
  sql: SqlWriter
  rows: number
}

/** The statement text around the VALUES rows of a table's INSERTs. */
export interface InsertShape {
  head: string
  tail: string
}

/**
 * Encodes rows as multi-row INSERT statements: as many rows per statement as fit under both the soft cap
 * and the target's max_allowed_packet. A single row that cannot fit fails with its table, key and size.
 */
export class InsertEncoder {
  readonly statements: Statement[] = []
  private out: SqlWriter | null = null
  private inStatement = 0
  private readonly limit: number
  private readonly wideLimit: number
  private readonly packetLimit: number
  private readonly tupleEnd: Buffer
  private readonly keySlot: number[]
  private readonly keyPositions: number[]
  /** The key values of the last row added: views into its row or packet, valid until the next row. */
  readonly lastKey: Array<Buffer | null>
  rows = 0
  bytes = 0

  constructor(
    private readonly w: InsertTarget,
    private readonly shape: InsertShape,
    private readonly ordinalBase = 0,
  ) {
    this.packetLimit = w.target.maxAllowedPacket - PACKET_MARGIN
    this.limit = Math.min(STATEMENT_BYTES, this.packetLimit)
    this.wideLimit = Math.min(WIDE_STATEMENT_BYTES, this.packetLimit)
    this.tupleEnd = Buffer.from(`${w.nullColumns.map(() => ',NULL').join('')},'${w.loadId}','`, 'latin1')
    this.keySlot = w.codecs.map((_c, i) => w.keyIndexes.indexOf(i))
    this.keyPositions = w.keyIndexes.map((_k, j) => j)
    this.lastKey = w.keyIndexes.map(() => null)
  }

  /** The ordinal of the next row after this encoder's last. */
  get nextOrdinal(): number {
    return this.ordinalBase + this.rows
  }

  add(row: RawRow): void {
    const out = this.startRow()
    const codecs = this.w.codecs
    for (let i = 0; i < codecs.length; i++) {
      const v = row[i] ?? null
      const slot = this.keySlot[i]!
      if (slot >= 0) this.lastKey[slot] = v
      if (i > 0) out.byte(0x2c)
      if (v === null) out.raw(NULL)
      else codecs[i]!.write(out, v, 0, v.length)
    }
    this.endRow(out)
  }

  /**
   * Encode a text-protocol result row: per column a length-encoded string, or 0xFB for NULL, starting at
   * `offset` of `buf` (MySQL client/server protocol, "ProtocolText::ResultsetRow"). Returns the offset
   * after the copied columns (the row may go on with the values of its order terms).
   */
  addPacket(buf: Buffer, offset: number): number {
    const out = this.startRow()
    const codecs = this.w.codecs
    let o = offset
    for (let i = 0; i < codecs.length; i++) {
      if (i > 0) out.byte(0x2c)
      const first = buf[o++]!
      let len = first
      if (first === 0xfb) {
        out.raw(NULL)
        const slot = this.keySlot[i]!
        if (slot >= 0) this.lastKey[slot] = null
        continue
      }
      if (first === 0xfc) {
        len = buf[o]! | (buf[o + 1]! << 8)
        o += 2
      } else if (first === 0xfd) {
        len = buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16)
        o += 3
      } else if (first === 0xfe) {
        len = buf.readUInt32LE(o) + buf.readUInt32LE(o + 4) * 0x100000000
        o += 8
      }
      const slot = this.keySlot[i]!
      if (slot >= 0) this.lastKey[slot] = buf.subarray(o, o + len)
      codecs[i]!.write(out, buf, o, o + len)
      o += len
    }
    this.endRow(out)
    return o
  }

  /** The finished statements; the encoder takes no more rows. */
  finish(): Statement[] {
    this.closeStatement()
    return this.statements
  }

  private startRow(): SqlWriter {
    if (this.out === null) {
      this.out = new SqlWriter(PACKET_HEADER_ROOM)
      this.out.utf8(this.shape.head)
    }
    const out = this.out
    this.rowStart = out.len
    if (this.inStatement > 0) out.byte(0x2c)
    out.byte(0x28)
    return out
  }

  private rowStart = 0

  private endRow(out: SqlWriter): void {
    out.raw(this.tupleEnd)
    this.writeRowId(out)
    out.byte(0x27)
    out.byte(0x29)
    this.rows++
    const size = out.len + this.shape.tail.length
    if (size <= (out.wide ? this.wideLimit : this.limit)) {
      this.inStatement++
      this.bytes += out.len - this.rowStart
      return
    }
    const tuple = out.len - this.rowStart - (this.inStatement > 0 ? 1 : 0)
    if (tuple + this.shape.head.length + this.shape.tail.length > this.packetLimit) {
      throw new SyncError(
        `table ${this.w.label}: row ${describeKey(this.lastKey)} needs ${tuple} bytes, more than the ` +
          `target's max_allowed_packet (${this.w.target.maxAllowedPacket})`,
        'raise max_allowed_packet on the target server (SET GLOBAL max_allowed_packet = ...)',
      )
    }
    this.bytes += tuple
    if (this.inStatement === 0) {
      // A row bigger than the soft cap: a statement of its own.
      this.inStatement = 1
      this.closeStatement()
      return
    }
    // The row does not fit: the statement ends before it, and a new one starts with it.
    const next = new SqlWriter(PACKET_HEADER_ROOM)
    next.utf8(this.shape.head)
    next.raw(out.buf, this.rowStart + 1, out.len)
    next.wide ||= out.wide
    out.len = this.rowStart
    this.closeStatement()
    this.out = next
    this.inStatement = 1
  }

  /**
   * `_dlt_id` (row-id.ts): for a one-column key, its MD5 computed where the key's bytes lie and written in
   * place (md5.ts, as the bulk path does), not through node:crypto and a string per row.
   */
  private writeRowId(out: SqlWriter): void {
    if (this.keyPositions.length === 1) {
      const key = this.lastKey[0] ?? EMPTY
      const buf = out.room(MD5_B64URL_LENGTH)
      md5Base64url(key, 0, key.length, buf, out.len)
      out.len += MD5_B64URL_LENGTH
      return
    }
    out.ascii(rowId(this.lastKey, this.keyPositions, this.w.loadId, this.ordinalBase + this.rows))
  }

  private closeStatement(): void {
    if (this.out === null || this.inStatement === 0) return
    this.out.utf8(this.shape.tail)
    this.statements.push({ sql: this.out, rows: this.inStatement })
    this.out = null
    this.inStatement = 0
  }
}

const NULL = Buffer.from('NULL', 'latin1')
const EMPTY = Buffer.alloc(0)

/** A row's key for messages: `(42)`, or `(no primary key)`. */
function describeKey(key: Array<Buffer | null>): string {
  if (key.length === 0) return '(no primary key)'
  return `(${key.map((v) => (v ? v.toString('utf8') : 'NULL')).join(', ')})`
}

/**
 * The text around a table's VALUES rows: plain INSERT (an empty table this load created) or INSERT … ON
 * DUPLICATE KEY UPDATE (merge by key). Hand-built, not Kysely's insertInto().values().onDuplicateKeyUpdate():
 * compiling a 2,000-row batch through Kysely's node tree took ~10x as long as joining the codec literals
 * (README, Kysely), far past the 5 % the merge bench allows, and Kysely has no slot for MySQL 8's `AS _new`
 * row alias.
 */
export function insertShape(w: InsertTarget): InsertShape {
  const cols = [...w.codecs.map((c) => c.name), ...w.nullColumns, LOAD_ID_COLUMN, ROW_ID_COLUMN]
  const head = `INSERT INTO ${quoteId(w.table)} (${cols.map(quoteId).join(', ')}) VALUES `
  if (w.mode === 'insert') return { head, tail: '' }
  // The key columns and _dlt_id are rewritten too: under a case- or accent-insensitive key, 'abc' and
  // 'ABC' are the same key, and a change between them must still reach the target.
  const updated = [...w.codecs.map((c) => c.name), ...w.nullColumns, ROW_ID_COLUMN]
  const ref = w.target.flavor.upsertValueRef
  const tail = `${w.target.flavor.upsertRowAlias} ON DUPLICATE KEY UPDATE ${[
    keepLoadIdIfSame(w),
    ...updated.map((n) => `${quoteId(n)} = ${ref(quoteId(n))}`),
  ].join(', ')}`
  return { head, tail }
}

/**
 * `_dlt_load_id` keeps the run that last changed the row: a row merged again with the very same values
 * (a lag or NULL-cursor re-read, a re-merge after a full refresh) is left untouched, so the server counts
 * it as unchanged. Assigned first: ON DUPLICATE KEY UPDATE evaluates left to right, so the comparison
 * still sees the old values. Text compares as bytes (a case-only change under a _ci collation is a change).
 */
function keepLoadIdIfSame(w: InsertTarget): string {
  const ref = w.target.flavor.upsertValueRef
  const same = [
    ...w.codecs.map((c) => {
      const [a, b] = [quoteId(c.name), ref(quoteId(c.name))]
      return c.kind === 'text' || c.kind === 'utf8' ? `BINARY ${a} <=> BINARY ${b}` : `${a} <=> ${b}`
    }),
    ...w.nullColumns.map((n) => `${quoteId(n)} IS NULL`),
  ]
  const id = quoteId(LOAD_ID_COLUMN)
  return `${id} = IF(${same.join(' AND ')}, ${id}, ${ref(id)})`
}
