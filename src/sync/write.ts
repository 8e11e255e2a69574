import type { ResultSetHeader } from 'mysql2'
import type { PoolConnection } from 'mysql2/promise'
import type { ColumnCodec } from '../db/codec.js'
import type { Db } from '../db/connect.js'
import { quoteId } from '../db/quote.js'
import { SyncError } from '../errors.js'
import { LOAD_ID_COLUMN, ROW_ID_COLUMN } from '../schema/table-def.js'
import { type StateUpdate, stateQuery } from '../state/sync-state.js'
import type { TableProfile } from './job.js'
import { noteBytesMoved } from './memory.js'
import { approxBytes, queryWithTimeout, type RawRow } from './read.js'
import { rowId } from './row-id.js'
import type { BatchSink } from './sink.js'

/** Where and how a table's rows are written. */
export interface WriteTarget {
  target: Db
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
  /** A batch write still running after this long means a stuck connection: it fails and is retried. */
  timeoutMs: number
  /** Accumulates encode and write time. */
  profile?: TableProfile
}

/** Soft cap on one INSERT: bigger statements are not faster, and stay far from max_allowed_packet. */
const STATEMENT_BYTES = 8 * 1024 * 1024
/** Room for the statement's head and tail around the VALUES rows. */
const PACKET_MARGIN = 64 * 1024

/**
 * Build the INSERT statements for a batch: as many rows per statement as fit under both the soft cap
 * and the target's max_allowed_packet. A single row that cannot fit fails with its table, key and size.
 * `ordinalBase` numbers the rows of a table without a primary key (their _dlt_id is load id + ordinal).
 * Hand-built, not Kysely's insertInto().values().onDuplicateKeyUpdate(): compiling a 2,000-row batch
 * through Kysely's node tree took ~10x as long as joining the codec literals (README, Kysely), far past
 * the 5 % the merge bench allows, and Kysely has no slot for MySQL 8's `AS _new` row alias.
 */
export function buildInserts(
  w: WriteTarget,
  rows: RawRow[],
  ordinalBase = 0,
): Array<{ sql: string; rows: number }> {
  const cols = [...w.codecs.map((c) => c.name), ...w.nullColumns, LOAD_ID_COLUMN, ROW_ID_COLUMN]
  const head = `INSERT INTO ${quoteId(w.table)} (${cols.map(quoteId).join(', ')}) VALUES `
  let tail = ''
  if (w.mode !== 'insert') {
    // The key columns and _dlt_id are rewritten too: under a case- or accent-insensitive key, 'abc' and
    // 'ABC' are the same key, and a change between them must still reach the target.
    const updated = [...w.codecs.map((c) => c.name), ...w.nullColumns, ROW_ID_COLUMN]
    const ref = w.target.flavor.upsertValueRef
    tail = `${w.target.flavor.upsertRowAlias} ON DUPLICATE KEY UPDATE ${[
      keepLoadIdIfSame(w),
      ...updated.map((n) => `${quoteId(n)} = ${ref(quoteId(n))}`),
    ].join(', ')}`
  }
  const packetLimit = w.target.maxAllowedPacket - PACKET_MARGIN
  const limit = Math.min(STATEMENT_BYTES, packetLimit)
  const nulls = w.nullColumns.map(() => 'NULL')
  const loadIdLit = `'${w.loadId}'`
  const out: Array<{ sql: string; rows: number }> = []
  let parts: string[] = []
  let size = 0
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    const lits = new Array<string>(w.codecs.length)
    for (let i = 0; i < w.codecs.length; i++) lits[i] = w.codecs[i]!.literal(row[i] ?? null)
    const id = rowId(row, w.keyIndexes, w.loadId, ordinalBase + r)
    const tuple = `(${lits.join(',')}${nulls.length ? ',' + nulls.join(',') : ''},${loadIdLit},'${id}')`
    if (tuple.length + head.length + tail.length > packetLimit) {
      throw new SyncError(
        `table ${w.label}: row ${describeKey(row, w.keyIndexes)} needs ${tuple.length} bytes, more than the ` +
          `target's max_allowed_packet (${w.target.maxAllowedPacket})`,
        'raise max_allowed_packet on the target server (SET GLOBAL max_allowed_packet = ...)',
      )
    }
    if (parts.length > 0 && size + tuple.length + 1 > limit) {
      out.push({ sql: head + parts.join(',') + tail, rows: parts.length })
      parts = []
      size = head.length + tail.length
    }
    if (parts.length === 0) size = head.length + tail.length
    parts.push(tuple)
    size += tuple.length + 1
  }
  if (parts.length > 0) out.push({ sql: head + parts.join(',') + tail, rows: parts.length })
  return out
}

/**
 * `_dlt_load_id` keeps the run that last changed the row: a row merged again with the very same values
 * (a lag or NULL-cursor re-read, a re-merge after a full refresh) is left untouched, so the server counts
 * it as unchanged. Assigned first: ON DUPLICATE KEY UPDATE evaluates left to right, so the comparison
 * still sees the old values. Text compares as bytes (a case-only change under a _ci collation is a change).
 */
function keepLoadIdIfSame(w: WriteTarget): string {
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

/** What a batch did to the target. */
export interface WriteCounts {
  inserted: number
  /** Existing rows whose values changed. */
  updated: number
  /** Existing rows written again with the same values (re-reads inside the lag window, say). */
  unchanged: number
}

/** A batch encoded as INSERT statements, ready to send. */
export interface PreparedBatch {
  rowCount: number
  /** Bytes of the values, roughly. */
  bytes: number
  inserts: Array<{ sql: string; rows: number }>
}

/** Encode a batch as INSERT statements (CPU only, no I/O). */
export function prepareBatch(w: WriteTarget, rows: RawRow[], ordinalBase = 0): PreparedBatch {
  if (w.mode === 'load') throw new Error(`table ${w.label}: LOAD DATA batches go through bulk.ts`)
  const started = performance.now()
  const p = { rowCount: rows.length, bytes: approxBytes(rows), inserts: buildInserts(w, rows, ordinalBase) }
  if (w.profile) w.profile.encodeMs += performance.now() - started
  return p
}

/**
 * Write a batch and, in the same transaction, the state that covers it: a crash at any moment leaves
 * either both or neither, so a rerun neither skips nor doubles a row.
 */
export function commitBatch(
  w: WriteTarget,
  p: PreparedBatch,
  state: StateUpdate | null,
): Promise<WriteCounts> {
  return commitOnce(w, p, state)
}

/** prepareBatch + commitBatch, for single batches. */
export function writeBatch(w: WriteTarget, rows: RawRow[], state: StateUpdate | null, ordinalBase = 0) {
  return commitBatch(w, prepareBatch(w, rows, ordinalBase), state)
}

/**
 * Batches committed in order, one at a time, while the next one is encoded: the target loads batch N
 * while this process encodes batch N+1. `push` returns once the batch is encoded and the previous one
 * committed, so at most two batches are held; `flush` waits for the last.
 */
export class BatchWriter implements BatchSink<RawRow[]> {
  private inflight: Promise<void> | null = null

  constructor(
    private readonly w: WriteTarget,
    private readonly done: (counts: WriteCounts, rowCount: number) => void,
  ) {}

  async push(rows: RawRow[], state: StateUpdate | null, ordinalBase = 0): Promise<void> {
    const prepared = prepareBatch(this.w, rows, ordinalBase)
    await this.flush()
    const commit = commitBatch(this.w, prepared, state).then((counts) => {
      this.done(counts, prepared.rowCount)
      // What the batch allocated: its rows (a Buffer object of about 100 bytes per value besides the
      // bytes) and its statements (hex literals, twice the values' size).
      const values = prepared.rowCount * this.w.codecs.length
      noteBytesMoved(prepared.bytes + values * 100 + prepared.inserts.reduce((n, i) => n + i.sql.length, 0))
    })
    // Awaited by the next push or flush; until then its failure must not count as unhandled.
    commit.catch(() => undefined)
    this.inflight = commit
  }

  async flush(): Promise<void> {
    const pending = this.inflight
    this.inflight = null
    if (pending) await pending
  }
}

async function commitOnce(w: WriteTarget, p: PreparedBatch, state: StateUpdate | null) {
  const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 }
  await inBatchTransaction(w, state, async (conn) => {
    for (const s of p.inserts) {
      // Not mysql2's `timeout` option, whose timer outlives a cut connection (read.ts queryWithTimeout).
      const [res] = await queryWithTimeout(conn, { sql: s.sql }, w.timeoutMs)
      addCounts(counts, res as ResultSetHeader, s.rows)
    }
  })
  return counts
}

/**
 * One batch's transaction on a pooled target connection: `work` writes the rows, then the state that
 * covers them is written and everything commits together. On any failure the transaction is rolled back
 * and the connection destroyed, never handed back mid-transaction. Write time goes to the profile.
 */
export async function inBatchTransaction(
  w: WriteTarget,
  state: StateUpdate | null,
  work: (conn: PoolConnection) => Promise<void>,
): Promise<void> {
  const stateSql = state ? stateQuery(w.target.kysely, state).compile() : null
  const conn = await w.target.pool.getConnection()
  let ok = false
  try {
    await conn.query('START TRANSACTION')
    const started = performance.now()
    await work(conn)
    if (stateSql) {
      await queryWithTimeout(
        conn,
        { sql: stateSql.sql, values: stateSql.parameters as unknown[] },
        w.timeoutMs,
      )
    }
    await queryWithTimeout(conn, { sql: 'COMMIT' }, w.timeoutMs)
    if (w.profile) w.profile.writeMs += performance.now() - started
    ok = true
  } finally {
    if (ok) {
      conn.release()
    } else {
      // The connection may be dead or mid-transaction: never hand it back to the pool.
      await conn.query('ROLLBACK').catch(() => undefined)
      conn.destroy()
    }
  }
}

/**
 * A multi-row INSERT … ON DUPLICATE KEY UPDATE reports "Records: R  Duplicates: D" and affected rows
 * counting 1 per insert, 2 per changed row and 0 per unchanged one (FOUND_ROWS is off, see connect.ts).
 * MariaDB counts only changed rows as duplicates; where a server counts every matched row, the first
 * reading comes out negative and the second applies. A single-row INSERT reports no "Records:" line.
 */
function addCounts(counts: WriteCounts, res: ResultSetHeader, rows: number): void {
  const m = /Records:\s*(\d+)\s+Duplicates:\s*(\d+)/.exec(res.info ?? '')
  const affected = res.affectedRows
  if (!m) {
    if (affected === 1) counts.inserted += rows
    else if (affected === 2) counts.updated += rows
    else counts.unchanged += rows
    return
  }
  const records = Number(m[1])
  const duplicates = Number(m[2])
  let inserted = affected - 2 * duplicates
  let updated = duplicates
  if (inserted < 0 || inserted + updated > records) {
    inserted = records - duplicates
    updated = Math.max(0, Math.min(duplicates, (affected - inserted) / 2))
  }
  counts.inserted += inserted
  counts.updated += updated
  counts.unchanged += Math.max(0, records - inserted - updated)
}

/** A row's key for messages: `(id=42)`, or `(no primary key)`. */
export function describeKey(row: RawRow, keyIndexes: number[]): string {
  if (keyIndexes.length === 0) return '(no primary key)'
  return `(${keyIndexes.map((i) => (row[i] ? row[i]!.toString('utf8') : 'NULL')).join(', ')})`
}
