import { describe, expect, it } from 'vitest'
import {
  cursorEpochMs,
  knownLagSeconds,
  nextBacklog,
  pendingLagSeconds,
  tableLagSeconds,
} from '../../../src/observe/lag.js'

const now = Date.UTC(2026, 0, 2, 0, 0, 10)

describe('cursorEpochMs', () => {
  it('reads DATE, DATETIME and fractional seconds as UTC', () => {
    expect(cursorEpochMs('2026-01-02')).toBe(Date.UTC(2026, 0, 2))
    expect(cursorEpochMs('2026-01-02 03:04:05')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5))
    expect(cursorEpochMs('2026-01-02T03:04:05.678901')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678))
  })

  it('is undefined for zero dates, numbers and text', () => {
    expect(cursorEpochMs('0000-00-00 00:00:00')).toBeUndefined()
    expect(cursorEpochMs('2026-13-01')).toBeUndefined()
    expect(cursorEpochMs('12345')).toBeUndefined()
    expect(cursorEpochMs('abc')).toBeUndefined()
  })
})

describe('lag', () => {
  it('is now minus the newest cursor, never negative, null without a temporal cursor', () => {
    expect(tableLagSeconds('2026-01-02 00:00:00', now)).toBe(10)
    expect(tableLagSeconds('2026-01-03 00:00:00', now)).toBe(0)
    expect(tableLagSeconds('42', now)).toBeNull()
    expect(tableLagSeconds(null, now)).toBeNull()
  })

  it('prefers the backlog: zero when the last run left nothing, the pending age otherwise', () => {
    const caughtUp = { oldestPendingMs: null, caughtUpToMs: now - 5000, lastRunOk: true }
    expect(knownLagSeconds('2020-01-01', caughtUp, now)).toBe(0)
    expect(pendingLagSeconds({ ...caughtUp, oldestPendingMs: now - 3000 }, now)).toBe(3)
    // After a failure the backlog is stale: the last cap is the oldest change that may be missing.
    expect(pendingLagSeconds({ ...caughtUp, lastRunOk: false }, now)).toBe(5)
    expect(pendingLagSeconds({ oldestPendingMs: null, caughtUpToMs: null, lastRunOk: false }, now)).toBeNull()
    expect(knownLagSeconds('2026-01-02 00:00:00', null, now)).toBe(10)
  })

  it('keeps the previous backlog, marked stale, after a run that did not succeed', () => {
    const lag = { oldestPendingMs: 1, caughtUpToMs: 2 }
    expect(nextBacklog(null, { status: 'ok', lag })).toEqual({ ...lag, lastRunOk: true })
    const prev = { ...lag, lastRunOk: true }
    expect(nextBacklog(prev, { status: 'ok' })).toBe(prev)
    expect(nextBacklog(prev, { status: 'failed' })).toEqual({ ...lag, lastRunOk: false })
    expect(nextBacklog(null, { status: 'interrupted' })).toBeNull()
  })
})
