import type { RetryPolicy } from '../config/types.js'
import { isConnectionLost } from '../db/driver.js'

// Server errors after which the same work can simply be tried again from committed state; a lost
// connection (db/driver.ts isConnectionLost) is one too.
const TRANSIENT_CODES = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_LOCK_TABLE_FULL',
])
// ER_CONNECTION_KILLED and friends by number, for servers whose errors mysql2 does not name.
const TRANSIENT_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 1927, 4031])

/** Whether an error is worth retrying (lost connection, deadlock, lock wait timeout, server going away). */
export function isTransient(err: unknown): boolean {
  let e: unknown = err
  for (let depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: string; errno?: number; fatal?: boolean; cause?: unknown }
    if (x.code && TRANSIENT_CODES.has(x.code)) return true
    if (typeof x.errno === 'number' && TRANSIENT_ERRNOS.has(x.errno)) return true
    if (isConnectionLost(e)) return true
    e = x.cause
  }
  return false
}

/** Exponential backoff with jitter: a random delay between half and all of min(max, base * 2^(attempt-1)). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** Sleep that ends early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
