import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'
import { inject } from 'vitest'
import './provided-context.js'
import { attachServer, type ThrowawayServer } from './servers.js'
import { connectionOptions, quoteIdent, withDatabase } from './urls.js'

/** A pair of fresh databases, `dbsync_t_<random>_source` and `..._target`, and a connection to each. */
export interface TestDbs {
  /** Source URL including the database, as a pipeline would name it. */
  sourceUrl: string
  targetUrl: string
  sourceDb: string
  targetDb: string
  source: mysql.Connection
  target: mysql.Connection
  /** Drops both databases and closes both connections; safe to call twice, and after a server restart. */
  drop(): Promise<void>
}

/**
 * Opens a connection with the options tests rely on: several statements per query, DATETIME/DATE as the
 * server's strings, and BIGINT/DECIMAL as strings so no precision is lost in comparisons.
 */
export function openConnection(url: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    ...connectionOptions(url),
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  })
}

/**
 * Waits, polling, until the server's clock is a second past what it reads now: for tests whose rows must
 * carry a later timestamp than earlier ones. The server's clock, not this process's: they may differ.
 */
export async function waitForServerSecond(conn: mysql.Connection): Promise<void> {
  await conn.query('SET @dbsync_test_t0 = NOW(6)')
  for (;;) {
    const [rows] = await conn.query('SELECT NOW(6) >= @dbsync_test_t0 + INTERVAL 1 SECOND AS past')
    if (Number((rows as Array<{ past: number | string }>)[0]?.past) === 1) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Creates a uniquely named database on the source and on the target server (the shared test servers, or
 * servers a test file started itself, as URLs without a database). The names differ, so a single server
 * can serve as both.
 */
export async function createTestDatabases(
  servers: { source: string; target: string } = { source: inject('sourceUrl'), target: inject('targetUrl') },
): Promise<TestDbs> {
  const id = randomBytes(5).toString('hex')
  const sourceDb = `dbsync_t_${id}_source`
  const targetDb = `dbsync_t_${id}_target`
  const sourceServer = servers.source
  const targetServer = servers.target
  const [sourceSide, targetSide] = await Promise.allSettled([
    createDatabase(sourceServer, sourceDb),
    createDatabase(targetServer, targetDb),
  ])
  if (sourceSide.status === 'rejected' || targetSide.status === 'rejected') {
    // Undo the half that worked so the teardown check does not report it as a leak.
    if (sourceSide.status === 'fulfilled') await dropDatabase(sourceServer, sourceDb, sourceSide.value)
    if (targetSide.status === 'fulfilled') await dropDatabase(targetServer, targetDb, targetSide.value)
    throw sourceSide.status === 'rejected' ? sourceSide.reason : (targetSide as PromiseRejectedResult).reason
  }
  let dropped: Promise<void> | undefined
  return {
    sourceUrl: withDatabase(sourceServer, sourceDb),
    targetUrl: withDatabase(targetServer, targetDb),
    sourceDb,
    targetDb,
    source: sourceSide.value,
    target: targetSide.value,
    drop() {
      dropped ??= Promise.all([
        dropDatabase(sourceServer, sourceDb, sourceSide.value),
        dropDatabase(targetServer, targetDb, targetSide.value),
      ]).then(() => undefined)
      return dropped
    },
  }
}

async function createDatabase(serverUrl: string, name: string): Promise<mysql.Connection> {
  const conn = await openConnection(withDatabase(serverUrl, ''))
  try {
    await conn.query(`CREATE DATABASE ${quoteIdent(name)}`)
    await conn.query(`USE ${quoteIdent(name)}`)
    return conn
  } catch (err) {
    conn.destroy()
    throw err
  }
}

async function dropDatabase(serverUrl: string, name: string, conn: mysql.Connection): Promise<void> {
  const sql = `DROP DATABASE IF EXISTS ${quoteIdent(name)}`
  try {
    await conn.query(sql)
    await conn.end()
    return
  } catch {
    // The test's connection may be dead (a fault test killed the server) or busy; use a fresh one.
    conn.destroy()
  }
  const fresh = await openConnection(withDatabase(serverUrl, ''))
  try {
    await fresh.query(sql)
  } finally {
    await fresh.end()
  }
}

/**
 * Handles on the shared throwaway servers (kill, restart), or null when the run uses external servers.
 * Test files run in parallel, so killing a shared server breaks whatever else is running: a fault test
 * should rather start its own with `startServer()` in beforeAll and stop() it in afterAll (about 2 s). A
 * test that does kill a shared server must restart it, since the teardown check fails on a server it
 * cannot reach.
 */
export function testServers(): { source: ThrowawayServer; target: ThrowawayServer } | null {
  const servers = inject('servers')
  if (servers === null) return null
  return { source: attachServer(servers.source), target: attachServer(servers.target) }
}

/**
 * Creates `items` (id, 200-byte pad, DATETIME(6) updated_at) on `conn` and doubles it `doublings` times:
 * 2^doublings rows of about 220 bytes, all stamped in the past, for tests that need a copy that takes a while.
 */
export async function seedItems(conn: mysql.Connection, doublings: number): Promise<void> {
  await conn.query(`
    CREATE TABLE items (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL,
                        updated_at DATETIME(6) NOT NULL, INDEX (updated_at));
    INSERT INTO items VALUES (1, REPEAT('x', 200), '2024-01-01 00:00:00');
  `)
  for (let i = 0; i < doublings; i++) {
    await conn.query(
      'INSERT INTO items SELECT id + m, pad, updated_at FROM items, (SELECT MAX(id) AS m FROM items) x',
    )
  }
}
