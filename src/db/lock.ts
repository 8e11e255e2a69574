import { createHash } from 'node:crypto'
import type { Connection } from 'mysql2/promise'
import { LockError, SyncError } from '../errors.js'
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
  let conn = await take(target, name)
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
      conn = await take(target, name)
      passedAt = Date.now()
    } catch (err) {
      // Not reachable right now: the error is the connection's, and the table's retry asks again.
      if (!(err instanceof LockError)) throw err
      throw new SyncError(
        `lost the pipeline lock "${name}" on ${target.address} (its connection closed), and another run holds it now`,
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
async function take(target: Db, name: string): Promise<Connection> {
  const conn: Connection = await target.dedicated()
  try {
    const [rows] = await conn.query('SELECT GET_LOCK(?, 0) AS got', [name])
    const got = (rows as Array<{ got: number | string | null }>)[0]?.got
    if (Number(got) !== 1) {
      throw new LockError(
        `pipeline lock "${name}" is held by another run on ${target.address}`,
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
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the lock connection did not answer')), RELEASE_TIMEOUT_MS)
  })
  return Promise.race([work, expired]).finally(() => clearTimeout(timer))
}
