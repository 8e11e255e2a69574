import type { PoolConnection } from 'mysql2/promise'
import type { Db } from '../db/connect.js'
import { destroyConnection } from '../db/driver.js'

/** A source connection inside one consistent snapshot. */
export interface Snapshot {
  conn: PoolConnection
  /** Commit the read-only transaction and give the connection back; destroys it after an error. */
  close(failed?: boolean): Promise<void>
}

/**
 * Open a consistent snapshot on the source. It must begin after the run's cap was read (cap.ts): rows
 * stamped below the cap were committed before the list of open transactions was taken, so the snapshot
 * sees all of them.
 */
export async function openSnapshot(source: Db): Promise<Snapshot> {
  const conn = await source.pool.getConnection()
  try {
    // The isolation level is set for the next transaction only, whatever the session default is.
    await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
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
