import type { PoolConnection } from 'mysql2/promise'
import type { Db } from '../db/connect.js'
import { destroyConnection } from '../db/driver.js'
import { CONCAT_MAX_BYTES } from './checksum-sql.js'

/** One row read with `typeCast: false`: the raw bytes of each value, null for SQL NULL. */
export type Raw = Array<Buffer | null>

/** Both connections of a running chunk: the source in a consistent snapshot. */
export interface ChunkConns {
  source: PoolConnection
  target: PoolConnection
}

type Queryable = Pick<PoolConnection, 'query'>

/** Run a query and get its rows as raw bytes, exactly as stored (no JS type conversion). */
export async function rawQuery(conn: Queryable, text: string): Promise<Raw[]> {
  const [rows] = await conn.query({ sql: text, typeCast: false, rowsAsArray: true })
  return rows as unknown as Raw[]
}

/**
 * Source first, then target, always in this order, so chunks competing for both pools cannot deadlock.
 * REPEATABLE READ and a consistent snapshot: the hashes, the bisection and the row reads of a chunk all
 * see the same data.
 */
export async function openPair(source: Db, target: Db, targetSnapshot: boolean): Promise<ChunkConns> {
  const s = await begin(source, true)
  try {
    return { source: s, target: await begin(target, targetSnapshot) }
  } catch (err) {
    s.destroy()
    throw err
  }
}

async function begin(db: Db, snapshot: boolean): Promise<PoolConnection> {
  const conn = await db.pool.getConnection()
  try {
    await conn.query(`SET SESSION group_concat_max_len = ${CONCAT_MAX_BYTES}`)
    if (snapshot) {
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ')
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')
    }
    return conn
  } catch (err) {
    destroyConnection(conn)
    throw err
  }
}

/** Commit the snapshots and give the connections back; destroy them after a failure. */
export async function closePair(conns: ChunkConns, targetSnapshot: boolean, failed: boolean): Promise<void> {
  await Promise.all([end(conns.source, true, failed), end(conns.target, targetSnapshot, failed)])
}

async function end(conn: PoolConnection, snapshot: boolean, failed: boolean): Promise<void> {
  if (failed) {
    // It may be dead or mid-transaction: never hand it back to the pool.
    destroyConnection(conn)
    return
  }
  try {
    if (snapshot) await conn.query('COMMIT')
    conn.release()
  } catch {
    destroyConnection(conn)
  }
}
