import { describe, expect, it } from 'vitest'
import { claimName, lockName } from '../../../src/db/lock.js'

// GET_LOCK names are case-insensitive and at most 64 characters (MySQL 5.7+, MariaDB); table names are
// case-sensitive on Linux. Two different tables must never share a claim, and no claim is the run lock.
describe('claimName', () => {
  it('reads as pipeline/table when short and lower-case', () => {
    expect(claimName('shop', 'orders')).toBe('dbsync:shop/orders')
  })

  it('fits 64 characters for the longest pipeline and table names', () => {
    const name = claimName('p'.repeat(64), 't'.repeat(64))
    expect(name.length).toBeLessThanOrEqual(64)
    expect(name).not.toBe(claimName('p'.repeat(64), `${'t'.repeat(63)}u`))
  })

  it('gives tables that differ only in case different claims', () => {
    const a = claimName('shop', 'Orders')
    const b = claimName('shop', 'orders')
    expect(a.toLowerCase()).not.toBe(b.toLowerCase())
    expect(a.toLowerCase()).not.toBe(claimName('shop', 'ORDERS').toLowerCase())
  })

  it('never equals a pipeline lock (pipeline names hold no "/")', () => {
    expect(claimName('a', 'b')).toContain('/')
    expect(claimName('x'.repeat(64), 'B')).toContain('/')
    expect(lockName('x'.repeat(64))).not.toContain('/')
  })
})
