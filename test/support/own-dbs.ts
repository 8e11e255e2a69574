import { randomBytes } from 'node:crypto'
import type mysql from 'mysql2/promise'
import { openConnection, type TestDbs } from './db.js'
import { quoteIdent, withDatabase } from './urls.js'

/**
 * `createTestDatabases()` for servers a test file started itself (startServer): a fresh
 * `dbsync_t_<random>_source` database on `sourceServer` and `..._target` on `targetServer` (server URLs
 * without a database; both may be one server), with a root connection to each.
 */
export async function createDatabasesOn(sourceServer: string, targetServer: string): Promise<TestDbs> {
  const id = randomBytes(5).toString('hex')
  const sourceDb = `dbsync_t_${id}_source`
  const targetDb = `dbsync_t_${id}_target`
  const source = await openIn(sourceServer, sourceDb)
  let target: mysql.Connection
  try {
    target = await openIn(targetServer, targetDb)
  } catch (err) {
    await dropIn(sourceServer, sourceDb, source)
    throw err
  }
  let dropped: Promise<void> | undefined
  return {
    sourceUrl: withDatabase(sourceServer, sourceDb),
    targetUrl: withDatabase(targetServer, targetDb),
    sourceDb,
    targetDb,
    source,
    target,
    drop() {
      dropped ??= Promise.all([
        dropIn(sourceServer, sourceDb, source),
        dropIn(targetServer, targetDb, target),
      ]).then(() => undefined)
      return dropped
    },
  }
}

async function openIn(serverUrl: string, db: string): Promise<mysql.Connection> {
  const conn = await openConnection(withDatabase(serverUrl, ''))
  try {
    await conn.query(`CREATE DATABASE ${quoteIdent(db)}`)
    await conn.query(`USE ${quoteIdent(db)}`)
    return conn
  } catch (err) {
    conn.destroy()
    throw err
  }
}

async function dropIn(serverUrl: string, db: string, conn: mysql.Connection): Promise<void> {
  const sql = `DROP DATABASE IF EXISTS ${quoteIdent(db)}`
  try {
    await conn.query(sql)
    await conn.end()
    return
  } catch {
    // The connection died with a killed server; a fresh one reaches the restarted server.
    conn.destroy()
  }
  const fresh = await openConnection(withDatabase(serverUrl, ''))
  try {
    await fresh.query(sql)
  } finally {
    await fresh.end()
  }
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
