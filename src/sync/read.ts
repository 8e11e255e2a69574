import type { FieldPacket, PoolConnection, QueryOptions, QueryResult } from 'mysql2/promise'
import { destroyConnection, type RawRow } from '../db/driver.js'
import { type KeyTerm, keysAfter } from '../db/keyset.js'
import { withDeadline } from '../observe/deadline.js'

/** One row as read: the raw bytes of each selected value (null for SQL NULL). */
export type { RawRow }

export interface KeysetQuery {
  /** Quoted table name. */
  from: string
  /** Select expressions of the copied values; the order terms' values are appended after them. */
  select: string[]
  /** Fixed conditions ANDed into every batch (bounds of the run). */
  where: string[]
  order: KeyTerm[]
  /** Position to start after (values of `order`), or null to start at the beginning. */
  after: Buffer[] | null
  /** Rows per read, upper bound. */
  batchSize: number
  /** Per-query timeout in ms. */
  timeoutMs: number
}

/** Read budget per batch: a batch stops growing once its rows hold this many bytes. */
const BATCH_BYTES = 32 * 1024 * 1024

/**
 * Read rows in keyset order, batch by batch: `WHERE (order terms) > (last row's values) ORDER BY terms
 * LIMIT n`. Never OFFSET, and the comparison covers the whole (cursor, primary key) tuple, so rows sharing
 * a cursor value are neither skipped nor doubled at a batch boundary. The row limit adapts to the bytes
 * seen so far, so wide rows (a 1 MB LONGTEXT) do not make a batch of batch_size rows hold gigabytes.
 * Yields rows whose last `order.length` values are the order terms.
 */
export async function* readKeyset(conn: PoolConnection, q: KeysetQuery): AsyncGenerator<RawRow[]> {
  let after = q.after
  let limit = q.batchSize
  const n = q.order.length
  for (;;) {
    const text = keysetText(q, after, limit)
    const [rows] = await queryWithTimeout(
      conn,
      { sql: text, typeCast: false, rowsAsArray: true },
      q.timeoutMs,
    )
    const batch = rows as unknown as RawRow[]
    if (batch.length === 0) return
    const last = batch[batch.length - 1]!
    after = last.slice(last.length - n) as Buffer[]
    const bytes = approxBytes(batch)
    yield batch
    if (batch.length < limit) return
    limit = nextLimit(q, bytes, batch.length)
  }
}

/** One keyset batch's SELECT: the rows after `after` (null: from the start), at most `limit`. */
export function keysetText(q: KeysetQuery, after: Buffer[] | null, limit: number): string {
  const conds = [...q.where]
  if (after) conds.push(keysAfter(q.order, after))
  return (
    `SELECT ${[...q.select, ...q.order.map((o) => o.select)].join(', ')} FROM ${q.from}` +
    (conds.length ? ` WHERE ${conds.join(' AND ')}` : '') +
    ` ORDER BY ${q.order.map((o) => o.expr).join(', ')} LIMIT ${limit}`
  )
}

/** The next batch's row limit: as many rows as the bytes seen so far say fit in the read budget. */
export function nextLimit(q: KeysetQuery, bytes: number, rows: number): number {
  const perRow = Math.max(1, bytes / rows)
  return Math.max(1, Math.min(q.batchSize, Math.floor(BATCH_BYTES / perRow)))
}

/**
 * A query abandoned after `timeoutMs`. Use this, not mysql2's own `timeout` option: when the connection
 * dies mid-query (a network cut), mysql2 rejects the query but never clears that option's timer, which
 * then kept the finished CLI process alive for the whole timeout (test/integration/faults.test.ts). This
 * timer is cleared either way, and on expiry destroys the connection, which must not be reused mid-result.
 */
export async function queryWithTimeout(
  conn: PoolConnection,
  options: QueryOptions,
  timeoutMs: number,
): Promise<[QueryResult, FieldPacket[]]> {
  const query = conn.query(options)
  return withDeadline(query, timeoutMs, () => {
    // A destroyed connection never settles the query it was running: it is left behind, unheard.
    query.catch(() => undefined)
    destroyConnection(conn)
    throw Object.assign(new Error(`query timed out after ${timeoutMs} ms`), {
      code: 'PROTOCOL_SEQUENCE_TIMEOUT',
    })
  })
}

/** Bytes held by a batch's values, roughly. */
export function approxBytes(rows: RawRow[]): number {
  let total = 0
  for (const row of rows) {
    for (const v of row) total += v ? v.length + 8 : 8
  }
  return total
}
