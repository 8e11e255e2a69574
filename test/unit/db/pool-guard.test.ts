import type { Pool as CorePool, PoolConnection } from 'mysql2'
import { describe, expect, it } from 'vitest'
import { guardPool, type PoolErrorKind } from '../../../src/db/pool-guard.js'

type Callback = (err: Error | null, conn?: PoolConnection) => void

/**
 * A stand-in for mysql2's core pool: the server refuses new connections while `full` is set; otherwise
 * each request gets a connection named by its order. Only getConnection is used by the guard.
 */
function fakePool() {
  const state = { full: true, served: 0, delayMs: 0 }
  const pool = {
    getConnection(cb: Callback) {
      setTimeout(() => {
        if (state.full) {
          cb(Object.assign(new Error('Too many connections'), { code: 'ER_CON_COUNT_ERROR', errno: 1040 }))
          return
        }
        state.served++
        cb(null, { id: state.served, release() {} } as unknown as PoolConnection)
      }, state.delayMs)
    },
  }
  return { state, core: pool as unknown as CorePool }
}

function acquire(core: CorePool): Promise<{ id: number } | Error> {
  return new Promise((resolve) =>
    core.getConnection((err, conn) => resolve(err ?? (conn as unknown as { id: number }))),
  )
}

describe('guardPool', () => {
  it('makes requests wait while the server refuses, then serves them first come first served', async () => {
    const { state, core } = fakePool()
    const errors: PoolErrorKind[] = []
    const acquired: number[] = []
    const counts = guardPool(core, {
      side: 'target',
      address: 'db:3306',
      acquireTimeoutMs: 60_000,
      hooks: { error: (_s, k) => errors.push(k), acquired: (_s, secs) => acquired.push(secs) },
    })
    const order: number[] = []
    const requests = [1, 2, 3].map((n) =>
      acquire(core).then((r) => {
        order.push(n)
        return r
      }),
    )
    // All three refused once and queued, oldest first.
    while (counts.refusedWaiting() < 3) await new Promise((r) => setTimeout(r, 10))
    expect(counts.waiting()).toBe(3)
    expect(errors.filter((k) => k === 'refused').length).toBeGreaterThanOrEqual(1)
    state.full = false
    const got = await Promise.all(requests)
    expect(order).toEqual([1, 2, 3])
    expect(got).toEqual([
      { id: 1, release: expect.any(Function) },
      { id: 2, release: expect.any(Function) },
      {
        id: 3,
        release: expect.any(Function),
      },
    ])
    expect(acquired).toHaveLength(3)
    // Each waited at least from its refusal until the server took connections again.
    expect(Math.min(...acquired)).toBeGreaterThan(0)
    expect(counts.refusedWaiting()).toBe(0)
    expect(counts.waiting()).toBe(0)
  })

  it('fails a request refused for longer than acquire_timeout, naming the side and the refusal', async () => {
    const { core } = fakePool()
    const errors: PoolErrorKind[] = []
    guardPool(core, {
      side: 'source',
      address: 'db:3306',
      acquireTimeoutMs: 300,
      hooks: { error: (_s, k) => errors.push(k) },
    })
    const res = await acquire(core)
    expect(res).toBeInstanceOf(Error)
    expect((res as Error).message).toBe(
      'source db:3306: no connection within 0.3 s; the server refused: Too many connections',
    )
    expect((res as unknown as { exitCode: number }).exitCode).toBe(3)
    expect(errors).toContain('timeout')
  })

  it('does not bound a wait that is not a refusal (the pool waiting for its own connections)', async () => {
    const { state, core } = fakePool()
    state.full = false
    state.delayMs = 400
    guardPool(core, { side: 'source', address: 'db:3306', acquireTimeoutMs: 100 })
    expect(await acquire(core)).toMatchObject({ id: 1 })
  })
})
