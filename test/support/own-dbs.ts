import type mysql from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest'
import { createTestDatabases, type TestDbs } from './db.js'
import { type StartServerOptions, startServer, type ThrowawayServer } from './servers.js'

/**
 * `createTestDatabases()` for servers a test file started itself (startServer): a fresh
 * `dbsync_t_<random>_source` database on `sourceServer` and `..._target` on `targetServer` (server URLs
 * without a database; both may be one server), with a root connection to each.
 */
export function createDatabasesOn(sourceServer: string, targetServer: string): Promise<TestDbs> {
  return createTestDatabases({ source: sourceServer, target: targetServer })
}

/** A 100,000-row table `big` (id, payload, updated_at), built server-side in one statement. */
export async function createBigTable(conn: mysql.Connection, rows = 100_000): Promise<void> {
  await conn.query('CREATE TABLE digits (d INT PRIMARY KEY)')
  await conn.query('INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)')
  await conn.query(
    'CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(100) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at))',
  )
  await conn.query(
    `INSERT INTO big SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 1, CONCAT('row-', a.d, b.d, c.d, e.d, f.d, REPEAT('p', 60)),
            '2024-01-01' + INTERVAL (a.d + 10*b.d + 100*c.d) SECOND
       FROM digits a, digits b, digits c, digits e, digits f
      WHERE a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d < ?`,
    [rows],
  )
}

/**
 * In a describe block: a target server of the file's own (`startServer(opts)`), started before its tests
 * and stopped after them, with fresh source (on the shared source server) and target databases for each
 * test, dropped after it. `dbs` is the current test's.
 */
export function ownTargetDatabases(opts: StartServerOptions): { readonly dbs: TestDbs } {
  let server: ThrowawayServer | undefined
  let dbs: TestDbs | undefined
  beforeAll(async () => {
    server = await startServer(opts)
  })
  afterAll(async () => {
    await server?.stop()
  })
  beforeEach(async () => {
    dbs = await createDatabasesOn(inject('sourceUrl'), server!.url)
  })
  afterEach(async () => {
    await dbs?.drop()
  })
  return {
    get dbs(): TestDbs {
      if (!dbs) throw new Error('ownTargetDatabases: dbs is set before each test only')
      return dbs
    },
  }
}
