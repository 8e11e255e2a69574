import { describe, expect, it } from 'vitest'
import { backoffDelay, isTransient, sleep } from '../../../src/sync/retry.js'

describe('isTransient', () => {
  it('retries lost connections, deadlocks and lock waits, by code or by number', () => {
    expect(isTransient({ code: 'PROTOCOL_CONNECTION_LOST' })).toBe(true)
    expect(isTransient({ code: 'ER_LOCK_DEADLOCK', errno: 1213 })).toBe(true)
    expect(isTransient({ errno: 1205 })).toBe(true)
    expect(isTransient({ errno: 2013 })).toBe(true)
    expect(isTransient(new Error("Can't add new command when connection is in closed state"))).toBe(true)
  })

  it('looks through causes, but not forever', () => {
    const wrapped = new Error('table orders failed', {
      cause: new Error('read', { cause: { code: 'ECONNRESET' } }),
    })
    expect(isTransient(wrapped)).toBe(true)
    let deep: unknown = { code: 'ECONNRESET' }
    for (let i = 0; i < 5; i++) deep = { message: 'wrapper', cause: deep }
    expect(isTransient(deep)).toBe(false)
  })

  it('does not retry what another try would repeat', () => {
    expect(isTransient({ code: 'ER_BAD_FIELD_ERROR', errno: 1054 })).toBe(false)
    expect(isTransient({ code: 'ER_DUP_ENTRY', errno: 1062 })).toBe(false)
    expect(isTransient({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 })).toBe(false)
    expect(isTransient(new Error('Data too long for column'))).toBe(false)
    expect(isTransient(undefined)).toBe(false)
    expect(isTransient(null)).toBe(false)
  })
})

describe('backoffDelay', () => {
  const policy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 1000 }

  it('doubles from the base up to the maximum, jittered between half and all of it', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a, () => 1))).toEqual([200, 400, 800, 1000])
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a, () => 0))).toEqual([100, 200, 400, 500])
  })
})

describe('sleep', () => {
  it('ends at once when its signal is already aborted or aborts', async () => {
    await sleep(3_600_000, AbortSignal.abort())
    const c = new AbortController()
    const slept = sleep(3_600_000, c.signal)
    c.abort()
    await slept
  })
})
