import type { PoolConnection } from 'mysql2/promise'
import type { Db } from '../db/connect.js'
import { destroyConnection } from '../db/driver.js'

/** A source connection inside one consistent snapshot. */
export interface Snapshot {
  conn: PoolConnection
  /** Commit the read-only transaction and give the connection back; destroys it after an error. */
  close(failed?: boolean): Promise<void>
}

/** Pooled connections (the driver's connection object, the same each time the pool lends it) already set. */
const repeatableRead = new WeakSet<object>()

/**
 * Open a consistent snapshot on the source. It must begin after the run's cap was read (cap.ts): rows
 * stamped below the cap were committed before the list of open transactions was taken, so the snapshot
 * sees all of them.
 */
export async function openSnapshot(source: Db): Promise<Snapshot> {
  const conn = await source.pool.getConnection()
  try {
    // REPEATABLE READ whatever the server's default: set for the session, once per pooled connection (one
    // round trip a table fewer where a run has thousands of small tables). Nothing dbsync runs on a source
    // connection sets another level; its other reads are single autocommit statements, the same in any.
    if (!repeatableRead.has(conn.connection)) {
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ')
      repeatableRead.add(conn.connection)
    }
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')
    let closed = false
    return {
      conn,
      async close(failed = false) {
        if (closed) return
        closed = true
        if (failed) {
          destroyConnection(conn)
          return
        }
        try {
          await conn.query('COMMIT')
          conn.release()
        } catch {
          destroyConnection(conn)
        }
      },
    }
  } catch (err) {
    destroyConnection(conn)
    throw err
  }
}
