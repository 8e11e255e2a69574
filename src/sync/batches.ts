import type { PoolConnection } from 'mysql2/promise'
import { coreConnection, destroyConnection, onConnectionLost } from '../db/driver.js'
import { approxBytes, type RawRow } from './read.js'

/**
 * Keep the next batch's read in flight while the caller writes the current one: reading batch N+1
 * overlaps writing batch N, and at most two batches are held at once.
 */
export async function* prefetch<T>(
  source: AsyncIterator<T>,
  profile?: { readWaitMs: number },
): AsyncGenerator<T> {
  let next = source.next()
  for (;;) {
    const waitStart = performance.now()
    const r = await next
    if (profile) profile.readWaitMs += performance.now() - waitStart
    if (r.done) return
    next = source.next()
    // If the caller stops (an error, a shutdown), this read's failure must not become an unhandled rejection.
    next.catch(() => undefined)
    yield r.value
  }
}

/**
 * Stream a whole result set in batches, with backpressure: the query result is paused while a batch is
 * being written. For full refreshes, where one ordered scan is cheaper than keyset round trips and works
 * for tables without a primary key.
 */
export async function* streamBatches(
  conn: PoolConnection,
  text: string,
  batchRows: number,
  idleTimeoutMs: number,
  batchBytes = 32 * 1024 * 1024,
): AsyncGenerator<RawRow[]> {
  const core = coreConnection(conn)
  const stream = core.query({ sql: text, typeCast: false, rowsAsArray: true }).stream({ highWaterMark: 1000 })
  const stopListening = onConnectionLost(core, (err) => stream.destroy(err))
  let batch: RawRow[] = []
  let bytes = 0
  // mysql2's query timeout bounds the whole statement, which a long scan may rightly exceed; what must
  // never happen is a scan that stops receiving rows and waits forever. Backpressure pauses count too,
  // so the bound is generous (the caller's query timeout).
  const timer = setTimeout(stalled, idleTimeoutMs)
  function stalled() {
    // Destroying the connection alone leaves mysql2's stream unsettled: fail the stream itself, with a
    // code the retry logic treats as transient.
    const err = Object.assign(
      new Error(`no rows from the source for ${idleTimeoutMs} ms: the connection stalled`),
      {
        code: 'ETIMEDOUT',
      },
    )
    stream.destroy(err)
    destroyConnection(conn)
  }
  try {
    for await (const row of stream) {
      timer.refresh()
      batch.push(row)
      for (const v of row) bytes += v ? v.length + 8 : 8
      if (batch.length >= batchRows || bytes >= batchBytes) {
        yield batch
        timer.refresh()
        batch = []
        bytes = 0
      }
    }
  } finally {
    clearTimeout(timer)
    stopListening()
  }
  if (batch.length > 0) yield batch
}

export { approxBytes }
