import type { PoolConnection } from 'mysql2/promise'
import type { Db } from '../db/connect.js'

/** A source connection inside one consistent snapshot, with the run's late-commit cap. */
export interface Snapshot {
  conn: PoolConnection
  /**
   * Upper bound (exclusive) for temporal cursor values in this run: the start of the oldest
   * transaction still open on the source, or now, whichever is earlier. `utc` is for TIMESTAMP cursors
   * (the session is UTC), `serverLocal` for DATETIME/DATE cursors, which applications usually fill in the
   * server's own time zone.
   */
  cap: { utc: string; serverLocal: string }
  /** Set when open transactions could not be seen (no PROCESS privilege): the cap is then just "now". */
  capWarning: string | null
  /** Commit the read-only transaction and give the connection back; destroys it after an error. */
  close(failed?: boolean): Promise<void>
}

// Transactions open at the moment we look (other than our own session), and the server's clock; with
// the same instant in the server's own time zone, for DATETIME cursors. CONVERT_TZ takes 'SYSTEM' too; it
// returns NULL for a named zone when the server has no time zone tables, and UTC is used then.
const capSql = (bound: string) =>
  `SELECT c.cap, CONVERT_TZ(c.cap, '+00:00', @@global.time_zone) AS local_cap FROM (SELECT ${bound} AS cap) c`
// Only transactions that have written, hold locks or are running a statement can still commit rows
// stamped before now: one that is read-only, or has only read so far, stamps whatever it writes later at
// or after now, above the cap anyway. Leaving those out keeps other syncs' snapshots (READ ONLY) and idle
// sessions from holding every table back.
const CAP_SQL = capSql(`LEAST(NOW(6), COALESCE((SELECT MIN(trx_started) FROM information_schema.INNODB_TRX
  WHERE trx_mysql_thread_id <> CONNECTION_ID() AND trx_is_read_only = 0 AND trx_autocommit_non_locking = 0
    AND (trx_rows_modified > 0 OR trx_lock_structs > 0 OR trx_query IS NOT NULL)), NOW(6)))`)
const NOW_SQL = capSql('NOW(6)')

/**
 * Open a consistent snapshot on the source and compute the late-commit cap.
 *
 * The cap is read just BEFORE the snapshot starts, on purpose: INNODB_TRX is a live view, not part of the
 * snapshot. Any transaction open when we look is in it, so its rows (stamped at or after its start) are
 * above the cap; a transaction that starts after we look stamps its rows after "now", also above the
 * cap. Either way the row waits for a later run instead of being passed over for good. Rows below the
 * cap were committed before the snapshot began, so the snapshot sees all of them.
 */
export async function openSnapshot(source: Db): Promise<Snapshot> {
  const conn = await source.pool.getConnection()
  try {
    let capWarning: string | null = null
    let cap: { utc: string; serverLocal: string }
    try {
      cap = await readCap(conn, CAP_SQL)
    } catch (err) {
      if (!isPrivilegeError(err)) throw err
      capWarning =
        'cannot read information_schema.INNODB_TRX (needs the PROCESS privilege): late commits are covered only by lag'
      cap = await readCap(conn, NOW_SQL)
    }
    // The isolation level is set for the next transaction only, whatever the session default is.
    await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')
    let closed = false
    return {
      conn,
      cap,
      capWarning,
      async close(failed = false) {
        if (closed) return
        closed = true
        if (failed) {
          conn.destroy()
          return
        }
        try {
          await conn.query('COMMIT')
          conn.release()
        } catch {
          conn.destroy()
        }
      },
    }
  } catch (err) {
    conn.destroy()
    throw err
  }
}

async function readCap(conn: PoolConnection, text: string): Promise<{ utc: string; serverLocal: string }> {
  const [rows] = await conn.query(text)
  const row = (rows as Array<{ cap: string; local_cap: string | null }>)[0]
  if (!row?.cap) throw new Error('the source did not report its clock')
  return { utc: row.cap, serverLocal: row.local_cap ?? row.cap }
}

function isPrivilegeError(err: unknown): boolean {
  const code = (err as { code?: string }).code
  return (
    code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' ||
    code === 'ER_TABLEACCESS_DENIED_ERROR' ||
    code === 'ER_ACCESS_DENIED_ERROR'
  )
}
