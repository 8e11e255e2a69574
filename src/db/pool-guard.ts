import type { Pool as CorePool, PoolConnection } from 'mysql2'
import { ConnectError } from '../errors.js'

/**
 * Every connection of a side's pool passes through here (pool.query, getConnection and Kysely all call the
 * core pool's getConnection), so that a server near its max_connections makes runs wait instead of fail:
 * a connection the server refuses ("Too many connections") is asked for again, first come first served,
 * until `acquireTimeoutMs` has passed since the first refusal; then the request fails with that reason.
 * Requests that wait for one of the pool's own connections (`pool.max` reached) are handed out by mysql2's
 * FIFO queue as before, without a bound.
 */

/** Why getting a connection failed: refused (server at max_connections), timeout (acquire bound), connect (other). */
export type PoolErrorKind = 'refused' | 'timeout' | 'connect'

/** What the metrics hear about a pool (observe/metrics.ts). */
export interface PoolHooks {
  acquired?(side: 'source' | 'target', seconds: number): void
  error?(side: 'source' | 'target', kind: PoolErrorKind): void
}

export interface GuardOptions {
  side: 'source' | 'target'
  address: string
  acquireTimeoutMs: number
  hooks?: PoolHooks
}

type Callback = (err: Error | null, conn?: PoolConnection) => void

interface Waiter {
  cb: Callback
  since: number
  /** Set once the server refused this request, or it queued behind one that was. */
  deadline?: number
  settled: boolean
  /** Taken from the head of `refused` for another try: a new refusal puts it back there. */
  retrying?: boolean
  lastError?: Error
}

// mysql2 names these; the numbers are for servers whose errors it does not name.
const REFUSED_CODES = new Set(['ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_USER_LIMIT_REACHED'])
const REFUSED_ERRNOS = new Set([1040, 1203, 1226])
const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 1_000

/** Whether the server refused a new connection because of a connection limit. */
export function isRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number }
  return Boolean(e && ((e.code && REFUSED_CODES.has(e.code)) || (e.errno && REFUSED_ERRNOS.has(e.errno))))
}

/** Requests of a guarded pool not yet given a connection: all of them, and those the server refused. */
export interface GuardCounts {
  waiting(): number
  refusedWaiting(): number
}

/** Route the pool's getConnection through the guard. */
export function guardPool(core: CorePool, opts: GuardOptions): GuardCounts {
  const original = core.getConnection.bind(core)
  // mysql2 calls getConnection itself again for requests it queued: those are ours already.
  const inner = new WeakSet<Callback>()
  // Requests the server refused, oldest first; while any waits, newcomers queue behind it.
  const refused: Waiter[] = []
  let retryTimer: NodeJS.Timeout | undefined
  let delay = RETRY_MIN_MS
  let waiting = 0

  const settle = (w: Waiter, err: Error | null, conn?: PoolConnection) => {
    if (w.settled) {
      conn?.release()
      return
    }
    w.settled = true
    waiting--
    if (err) w.cb(err)
    else {
      opts.hooks?.acquired?.(opts.side, (Date.now() - w.since) / 1000)
      w.cb(null, conn)
    }
  }

  const expired = (w: Waiter) => {
    opts.hooks?.error?.(opts.side, 'timeout')
    return timeoutError(opts, w.lastError)
  }

  const attempt = (w: Waiter) => {
    const cb: Callback = (err, conn) => {
      if (err && isRefused(err)) {
        opts.hooks?.error?.(opts.side, 'refused')
        w.lastError = err
        w.deadline ??= Date.now() + opts.acquireTimeoutMs
        if (Date.now() >= w.deadline) return settle(w, expired(w))
        if (w.retrying) refused.unshift(w)
        else refused.push(w)
        return schedule()
      }
      // A server without TLS under ssl-mode=preferred is not an error: connect.ts retries in plain.
      if (err && (err as { code?: string }).code !== 'HANDSHAKE_NO_SSL_SUPPORT')
        opts.hooks?.error?.(opts.side, 'connect')
      delay = RETRY_MIN_MS
      settle(w, err, conn)
      // One got through: the next in line may too.
      if (!err) kick()
    }
    inner.add(cb)
    original(cb)
  }

  const schedule = () => {
    if (retryTimer || refused.length === 0) return
    // Not unref'd: a command whose only work is waiting for a connection (status, a first connect) must
    // not end as if it had finished. Once the pool is closed, the next try fails and settles.
    retryTimer = setTimeout(kick, delay)
    delay = Math.min(RETRY_MAX_MS, delay * 2)
  }

  const kick = () => {
    clearTimeout(retryTimer)
    retryTimer = undefined
    const now = Date.now()
    while (
      refused.length &&
      (refused[0]!.settled || (refused[0]!.deadline ?? Number.POSITIVE_INFINITY) <= now)
    ) {
      const w = refused.shift()!
      if (!w.settled) settle(w, expired(w))
    }
    const head = refused.shift()
    if (head) {
      head.retrying = true
      attempt(head)
    }
  }

  core.getConnection = ((cb: Callback) => {
    if (inner.has(cb)) return original(cb)
    const w: Waiter = { cb, since: Date.now(), settled: false }
    waiting++
    // Waiting in mysql2's own queue (pool.max reached) is not bounded: those connections are busy with
    // this run's tables (a long first load holds its source connection for as long as it streams), and
    // they come back. Only a server refusing connections starts the clock.
    if (refused.length) {
      w.deadline = w.since + opts.acquireTimeoutMs
      refused.push(w)
      schedule()
    } else attempt(w)
  }) as CorePool['getConnection']
  return {
    waiting: () => waiting,
    refusedWaiting: () => refused.filter((w) => !w.settled).length,
  }
}

/**
 * Open a connection outside the pool (the run lock's), asking again while the server refuses it for a
 * connection limit, until `acquireTimeoutMs` has passed.
 */
export async function waitWhileRefused<T>(opts: GuardOptions, open: () => Promise<T>): Promise<T> {
  const since = Date.now()
  let delay = RETRY_MIN_MS
  for (;;) {
    try {
      const conn = await open()
      opts.hooks?.acquired?.(opts.side, (Date.now() - since) / 1000)
      return conn
    } catch (err) {
      if (!isRefused(err)) {
        opts.hooks?.error?.(opts.side, 'connect')
        throw err
      }
      opts.hooks?.error?.(opts.side, 'refused')
      if (Date.now() - since + delay > opts.acquireTimeoutMs) {
        opts.hooks?.error?.(opts.side, 'timeout')
        throw timeoutError(opts, err as Error)
      }
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(RETRY_MAX_MS, delay * 2)
    }
  }
}

function timeoutError(opts: GuardOptions, lastError: Error | undefined): ConnectError {
  const why = lastError ? `; the server refused: ${lastError.message}` : ''
  return Object.assign(
    new ConnectError(
      `${opts.side} ${opts.address}: no connection within ${opts.acquireTimeoutMs / 1000} s${why}`,
      `raise the server's max_connections, lower concurrency, or raise ${opts.side}.pool.acquire_timeout`,
    ),
    { code: 'DBSYNC_POOL_ACQUIRE_TIMEOUT' },
  )
}
