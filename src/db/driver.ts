import type { Pool as CorePool } from 'mysql2'

/*
 * The one place dbsync touches mysql2 beyond its public API. mysql2 offers no pool statistics and no way to
 * destroy a pool's connections at once, so both read the core pool's internals (lib/base/pool.js in mysql2
 * 3.x: `_allConnections`, `_freeConnections`, `_connectionQueue`, each a Denque with `length` and
 * `toArray()`). mysql2 is pinned exactly in package.json, and test/unit/db/driver.test.ts checks these
 * fields on a real mysql2 pool, so an upgrade that moves them fails the tests instead of silently reading 0.
 */

interface Queue<T> {
  length: number
  toArray(): T[]
}

interface CoreInternals {
  _allConnections: Queue<{ destroy(): void }>
  _freeConnections: Queue<unknown>
  _connectionQueue: Queue<unknown>
}

function internals(pool: CorePool): Partial<CoreInternals> {
  return pool as unknown as Partial<CoreInternals>
}

/** Whether this mysql2's pool has the internals read here (the contract test asserts it). */
export function hasPoolInternals(pool: CorePool): boolean {
  const p = internals(pool)
  return [p._allConnections, p._freeConnections, p._connectionQueue].every(
    (q) => q !== undefined && typeof q.length === 'number' && typeof q.toArray === 'function',
  )
}

/** Connections open, idle, and requests queued for one (0 where the internals are missing). */
export function corePoolCounts(pool: CorePool): { all: number; idle: number; queued: number } {
  const p = internals(pool)
  return {
    all: p._allConnections?.length ?? 0,
    idle: p._freeConnections?.length ?? 0,
    queued: p._connectionQueue?.length ?? 0,
  }
}

/** Destroy every connection of the pool at once: queries in flight fail, which frees a stuck run. */
export function destroyConnections(pool: CorePool): void {
  for (const conn of internals(pool)._allConnections?.toArray() ?? []) conn.destroy()
}
