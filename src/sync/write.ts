import type { ResultSetHeader } from 'mysql2'
import type { PoolConnection } from 'mysql2/promise'
import type { Db } from '../db/connect.js'
import {
  BYTES_QUERY_ENABLED,
  destroyConnection,
  MAX_BYTES_PACKET,
  PACKET_HEADER_ROOM,
  queryBytes,
} from '../db/driver.js'
import type { SqlWriter } from '../db/sql-writer.js'
import { withDeadline } from '../observe/deadline.js'
import { type StateUpdate, stateQuery } from '../state/sync-state.js'
import { InsertEncoder, type InsertTarget, insertShape, type Statement } from './insert-encoder.js'
import type { TableProfile } from './job.js'
import { queryWithTimeout, type RawRow } from './read.js'
import type { BatchSink } from './sink.js'

/** Where and how a table's rows are written: what the encoder needs (InsertTarget), on a real target. */
export interface WriteTarget extends InsertTarget {
  target: Db
  /** A batch write still running after this long means a stuck connection: it fails and is retried. */
  timeoutMs: number
  /** Accumulates encode and write time. */
  profile?: TableProfile
}

/** What a batch did to the target. */
export interface WriteCounts {
  inserted: number
  /** Existing rows whose values changed. */
  updated: number
  /** Existing rows written again with the same values (re-reads inside the lag window, say). */
  unchanged: number
}

/** A batch encoded as INSERT statements (insert-encoder.ts), ready to send. */
export interface InsertBatch {
  statements: Statement[]
  rows: number
}

/** Encode rows as INSERT statements (CPU only, no I/O); encode time goes to the profile. */
export function encodeInserts(w: WriteTarget, rows: RawRow[], ordinalBase = 0): InsertBatch {
  if (w.mode === 'load') throw new Error(`table ${w.label}: LOAD DATA batches go through bulk.ts`)
  const started = performance.now()
  const encoder = new InsertEncoder(w, insertShape(w), ordinalBase)
  for (const row of rows) encoder.add(row)
  const batch = { statements: encoder.finish(), rows: rows.length }
  if (w.profile) w.profile.encodeMs += performance.now() - started
  return batch
}

/** Send a batch's statements on `conn` (inside the caller's transaction); what they did to the target. */
export async function sendInserts(conn: PoolConnection, w: WriteTarget, batch: InsertBatch) {
  const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0 }
  for (const s of batch.statements) {
    const res = await sendStatement(conn, s.sql, w.timeoutMs)
    addCounts(counts, res, s.rows)
  }
  return counts
}

/**
 * One statement: its bytes are the packet (db/driver.ts queryBytes), so no string and no copy is made; the buffer
 * goes back to the pool once the server answered (until then the socket may still be sending it). A
 * statement too long for one packet goes as a string, which mysql2 splits.
 */
async function sendStatement(conn: PoolConnection, sql: SqlWriter, timeoutMs: number) {
  if (!BYTES_QUERY_ENABLED || sql.start !== PACKET_HEADER_ROOM || sql.len > MAX_BYTES_PACKET) {
    const text = sql.text()
    sql.release()
    // Not mysql2's `timeout` option, whose timer outlives a cut connection (read.ts queryWithTimeout).
    const [res] = await queryWithTimeout(conn, { sql: text }, timeoutMs)
    return res as ResultSetHeader
  }
  const sent = queryBytes(conn, sql.buf, sql.len)
  let abandoned = false
  try {
    return await withDeadline(sent, timeoutMs, () => {
      // A destroyed connection never settles the query it was running: it is left behind, unheard. Its
      // buffer is not reused: end() still flushes what the socket holds of it.
      abandoned = true
      sent.catch(() => undefined)
      destroyConnection(conn)
      throw Object.assign(new Error(`query timed out after ${timeoutMs} ms`), {
        code: 'PROTOCOL_SEQUENCE_TIMEOUT',
      })
    })
  } finally {
    if (!abandoned) sql.release()
  }
}

/**
 * Write one batch and, in the same transaction, the state that covers it: a crash at any moment leaves
 * either both or neither, so a rerun neither skips nor doubles a row. With no rows, it saves the state.
 */
export async function writeBatch(w: WriteTarget, rows: RawRow[], state: StateUpdate | null, ordinalBase = 0) {
  const writer = new BatchWriter(w, () => undefined)
  await writer.push(rows, state, ordinalBase)
  await writer.flush()
}

/**
 * The INSERT sink: batches encoded as they are pushed and committed in order, each in its own transaction
 * with its state, while the next one is encoded (the target loads batch N while this process encodes
 * batch N+1). With `parallel` > 1, that many batches send at once on separate connections, each
 * committing only after the one before it, so the saved state only ever covers rows committed before it;
 * only for plain INSERTs into a table this load created (no row locks to wait on).
 */
export class BatchWriter implements BatchSink<RawRow[] | InsertBatch> {
  private readonly inflight: Array<Promise<void>> = []
  private last: Promise<void> = Promise.resolve()

  constructor(
    private readonly w: WriteTarget,
    private readonly done: (counts: WriteCounts, rowCount: number) => void,
  ) {}

  /** Batches sending at once (see above); 1 unless the table is a fresh one this load fills. */
  parallel = 1

  async push(batch: RawRow[] | InsertBatch, state: StateUpdate | null, ordinalBase = 0): Promise<void> {
    const encoded = Array.isArray(batch) ? encodeInserts(this.w, batch, ordinalBase) : batch
    while (this.inflight.length >= this.parallel) await this.inflight.shift()
    const task = this.commit(encoded, state, this.last)
    // Awaited by a later push or by flush; until then its failure must not count as unhandled.
    task.catch(() => undefined)
    this.inflight.push(task)
    this.last = task
  }

  async flush(): Promise<void> {
    const results = await Promise.allSettled(this.inflight.splice(0))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  }

  private async commit(batch: InsertBatch, state: StateUpdate | null, before: Promise<void>) {
    let counts: WriteCounts | null = null
    await inBatchTransaction(this.w, state, async (conn) => {
      counts = await sendInserts(conn, this.w, batch)
      // A batch whose predecessor failed must not commit: its state would claim rows that are not there.
      await before
    })
    this.done(counts!, batch.rows)
  }
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
      destroyConnection(conn)
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
