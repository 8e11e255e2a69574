import { createHash } from 'node:crypto'
import type { Connection } from 'mysql2/promise'
import { LockError } from '../errors.js'
import type { Db } from './connect.js'

const RELEASE_TIMEOUT_MS = 5_000

/** A held run lock; `release()` is idempotent. */
export interface RunLock {
  name: string
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
  } catch (err) {
    await conn.end().catch(() => undefined)
    throw err
  }
  let released = false
  return {
    name,
    async release() {
      if (released) return
      released = true
      // The lock dies with the session, so a connection that does not answer is simply destroyed.
      const ended = conn
        .query('DO RELEASE_LOCK(?)', [name])
        .then(() => conn.end())
        .then(() => true)
        .catch(() => false)
      const timer = new Promise<boolean>((r) => setTimeout(() => r(false), RELEASE_TIMEOUT_MS).unref())
      if (!(await Promise.race([ended, timer]))) conn.destroy()
      // Even a polite end leaves the socket half-open until the server says goodbye; a stalled peer never
      // does, and the socket would keep the process alive.
      else setTimeout(() => conn.destroy(), 1000).unref()
    },
  }
}
