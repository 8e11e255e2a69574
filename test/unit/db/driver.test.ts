import { createPool } from 'mysql2'
import { describe, expect, it } from 'vitest'
import { corePoolCounts, destroyConnections, hasPoolInternals } from '../../../src/db/driver.js'

// Contract test of the mysql2 internals db/driver.ts reads: an upgrade that moves them fails here, loudly,
// instead of the pool gauges reading 0 and a stuck scheduled run never being freed.
describe('mysql2 pool internals (db/driver.ts)', () => {
  it('has the queues the pool gauges and the stuck-run release read', async () => {
    // No connection is made until one is asked for: the port is never dialled.
    const pool = createPool({ host: '127.0.0.1', port: 1, connectionLimit: 2 })
    try {
      expect(hasPoolInternals(pool)).toBe(true)
      expect(corePoolCounts(pool)).toEqual({ all: 0, idle: 0, queued: 0 })
      expect(() => destroyConnections(pool)).not.toThrow()
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()))
    }
  })
})
