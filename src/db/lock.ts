import { createHash } from 'node:crypto'
import type { Connection } from 'mysql2/promise'
import { LockError, SyncError } from '../errors.js'
import { withDeadline } from '../observe/deadline.js'
import type { Db } from './connect.js'

const RELEASE_TIMEOUT_MS = 5_000
/** How long a passed lock check stands for the checks that follow it. */
const RECHECK_MS = 1_000

/** A held run lock; `release()` is idempotent. */
export interface RunLock {
  name: string
  /**
   * Make sure the lock is still ours. GET_LOCK dies with its session, so a connection cut mid-run frees it
   * for another run; then it is taken again on a new connection when nobody else has it, and otherwise
   * this throws a SyncError: two runs must never write the same tables at once. A check that passed less
   * than a second ago is taken as an answer (a thousand tables starting must not cost a thousand round
   * trips), unless `fresh` asks for a new one: before a full refresh's swap, say.
   */
  held(fresh?: boolean): Promise<void>
  release(): Promise<void>
}

/** The lock name for a pipeline: `dbsync:<pipeline>`, hashed when past the server's 64-character limit. */
export function lockName(pipeline: string): string {
  const name = `dbsync:${pipeline}`
  if (name.length <= 64) return name
  return `dbsync:${createHash('sha256').update(pipeline).digest('hex').slice(0, 56)}`
}

/**
 * Take the pipeline's run lock on the target, or throw LockError (exit 4) when another run holds it.
 * GET_LOCK dies with the session, so a killed run frees the lock by itself; hold it on a connection of
 * its own, outside the pool, so no pooled query can release it by accident.
 */
export async function acquireRunLock(target: Db, pipeline: string): Promise<RunLock> {
  const name = lockName(pipeline)
  const what = `pipeline lock "${name}"`
  return holdLock(target, name, what, await take(target, name, 0, what))
}

/**
 * The per-table work claim of `workers: shared`: `dbsync:<pipeline>/<table>`. Lock names are
 * case-insensitive and at most 64 characters on MySQL 5.7+ and MariaDB ("Locking Functions" in the MySQL
 * manual), while table names are case-sensitive on Linux: a name with upper-case letters, or too long,
 * becomes a hash of the exact pipeline and table names. The pipeline name holds no "/", so no claim name
 * equals the pipeline lock's or another pipeline's.
 */
export function claimName(pipeline: string, table: string): string {
  const name = `dbsync:${pipeline}/${table}`
  if (name.length <= 64 && name === name.toLowerCase()) return name
  const hash = createHash('sha256').update(`${pipeline}\0${table}`).digest('hex')
  return `dbsync:${pipeline.length <= 15 ? pipeline.toLowerCase() : ''}/${hash}`.slice(0, 64)
}

/**
 * The lock a `workers: shared` run holds while it lives, `dbsync:<pipeline>#<load id>`: such a run holds
 * no pipeline lock, so `status` asks this one whether a run recorded as running still is.
 */
export function liveRunName(pipeline: string, loadId: string): string {
  const name = `dbsync:${pipeline}#${loadId}`
  if (name.length <= 64) return name
  return `dbsync:#${createHash('sha256').update(`${pipeline}\0${loadId}`).digest('hex')}`.slice(0, 64)
}

/**
 * Take a table's work claim on a connection of its own, waiting up to `waitSeconds`; null when another
 * session holds it. The claim is checked and released exactly like the run lock (held(), release()), and
 * dies with its session, so a killed instance's tables are free for the others at once.
 */
export function claimTable(
  target: Db,
  pipeline: string,
  table: string,
  waitSeconds = 0,
): Promise<RunLock | null> {
  const name = claimName(pipeline, table)
  return tryLock(target, name, `table ${table}'s claim "${name}"`, waitSeconds)
}

/** Take a named lock on a connection of its own, waiting up to `waitSeconds`; null when it is taken. */
export async function tryLock(
  target: Db,
  name: string,
  what: string,
  waitSeconds = 0,
): Promise<RunLock | null> {
  try {
    return holdLock(target, name, what, await take(target, name, waitSeconds, what))
  } catch (err) {
    if (err instanceof LockError) return null
    throw err
  }
}

/** Whether a session holds the named lock now (IS_USED_LOCK is not NULL). */
export async function lockInUse(target: Db, name: string): Promise<boolean> {
  const [rows] = await target.pool.query('SELECT IS_USED_LOCK(?) AS holder', [name])
  return (rows as Array<{ holder: unknown }>)[0]?.holder != null
}

function holdLock(target: Db, name: string, what: string, first: Connection): RunLock {
  let conn = first
  let released = false
  let checking: Promise<void> | null = null
  let passedAt = Date.now()
  const check = async () => {
    const mine = await bounded(
      conn.query('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [name]).then(([rows]) => {
        return Number((rows as Array<{ mine: number | string | null }>)[0]?.mine) === 1
      }),
    ).catch(() => false)
    if (mine) {
      passedAt = Date.now()
      return
    }
    conn.destroy()
    try {
      conn = await take(target, name, 0, what)
      passedAt = Date.now()
    } catch (err) {
      // Not reachable right now: the error is the connection's, and the table's retry asks again.
      if (!(err instanceof LockError)) throw err
      throw new SyncError(
        `lost the ${what} on ${target.address} (its connection closed), and another run holds it now`,
        'this run stops writing; the other run, or the next one, carries on from the saved positions',
      )
    }
  }
  return {
    name,
    held(fresh = false) {
      if (!fresh && checking === null && Date.now() - passedAt < RECHECK_MS) return Promise.resolve()
      // Tables ask at once: one check on the lock's connection serves them all.
      checking ??= check().finally(() => {
        checking = null
      })
      return checking
    },
    async release() {
      if (released) return
      released = true
      // The lock dies with the session, so a connection that does not answer is simply destroyed.
      const ended = await bounded(
        conn
          .query('DO RELEASE_LOCK(?)', [name])
          .then(() => conn.end())
          .then(() => true),
      ).catch(() => false)
      if (!ended) conn.destroy()
      // Even a polite end leaves the socket half-open until the server says goodbye; a stalled peer never
      // does, and the socket would keep the process alive (connect.ts also cuts it when the pool closes).
      else setTimeout(() => conn.destroy(), 1000).unref()
    },
  }
}

/** GET_LOCK on a connection of its own, or LockError (exit 4) when another session holds the lock. */
async function take(target: Db, name: string, waitSeconds: number, what: string): Promise<Connection> {
  const conn: Connection = await target.dedicated()
  try {
    const [rows] = await conn.query('SELECT GET_LOCK(?, ?) AS got', [name, waitSeconds])
    const got = (rows as Array<{ got: number | string | null }>)[0]?.got
    if (Number(got) !== 1) {
      throw new LockError(
        `${what} is held by another run on ${target.address}`,
        'wait for the other run to finish; it frees the lock when it ends or dies',
      )
    }
    return conn
  } catch (err) {
    await bounded(conn.end()).catch(() => conn.destroy())
    throw err
  }
}

/** A lock statement that does not answer within RELEASE_TIMEOUT_MS fails. */
function bounded<T>(work: Promise<T>): Promise<T> {
  return withDeadline(work, RELEASE_TIMEOUT_MS, () => {
    throw new Error('the lock connection did not answer')
  })
}
