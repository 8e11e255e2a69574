import { rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import type { TestProject } from 'vitest/node'
import './provided-context.js'
import { signal, startWatchdog } from './server-process.js'
import { startServer, type ThrowawayServer } from './servers.js'
import { connectionOptions, quoteIdent, redactUrl, withoutDatabase } from './urls.js'

/**
 * vitest globalSetup: provides `sourceUrl`/`targetUrl` (and `servers` when throwaway) to the test files.
 * Uses DBSYNC_TEST_SOURCE_URL/DBSYNC_TEST_TARGET_URL when both are set (e.g. an external MySQL 8),
 * otherwise starts two throwaway MariaDB servers. Teardown fails the run if a `dbsync_t_%` database remains.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tempDir = await mkdtemp(join(tmpdir(), 'dbsync-test-run-'))
  // Workers are stopped by signal and cannot clean up after themselves; this process can, even on Ctrl-C,
  // and the watchdog does if this process is killed.
  const watchdogPid = startWatchdog(tempDir)
  const removeTempDir = () => {
    rmSync(tempDir, { recursive: true, force: true })
    if (watchdogPid !== undefined) signal(watchdogPid, 'SIGTERM')
  }
  process.once('exit', removeTempDir)
  project.provide('tempDir', tempDir)
  let teardown: () => Promise<void>
  try {
    teardown = await startOrConnect(project)
  } catch (err) {
    removeTempDir()
    throw err
  }
  return async () => {
    try {
      await teardown()
    } finally {
      removeTempDir()
      process.off('exit', removeTempDir)
    }
  }
}

async function startOrConnect(project: TestProject): Promise<() => Promise<void>> {
  const externalSource = process.env.DBSYNC_TEST_SOURCE_URL
  const externalTarget = process.env.DBSYNC_TEST_TARGET_URL
  if (externalSource || externalTarget) {
    if (!externalSource || !externalTarget) {
      throw new Error('set both DBSYNC_TEST_SOURCE_URL and DBSYNC_TEST_TARGET_URL, or neither')
    }
    // Any database in the URLs is ignored: each test file makes its own (db.ts withDatabase()).
    const source = withoutDatabase(externalSource)
    const target = withoutDatabase(externalTarget)
    const [sourceVersion, targetVersion] = await Promise.all([serverVersion(source), serverVersion(target)])
    process.stderr.write(
      `dbsync tests: external servers, source ${redactUrl(source)} (${sourceVersion}), target ` +
        `${redactUrl(target)} (${targetVersion}); tests that start servers of their own are skipped\n`,
    )
    project.provide('sourceUrl', source)
    project.provide('targetUrl', target)
    project.provide('servers', null)
    // External servers outlive the run, so leftovers are dropped as well as reported.
    return () => assertNoTestDatabases([source, target], { drop: true })
  }

  const started = Date.now()
  const results = await Promise.allSettled([startServer({ name: 'source' }), startServer({ name: 'target' })])
  const servers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
  if (failures.length > 0) {
    await stopAll(servers)
    throw failures[0]
  }
  const [source, target] = servers as [ThrowawayServer, ThrowawayServer]
  const [sourceVersion, targetVersion] = await Promise.all([
    serverVersion(source.url),
    serverVersion(target.url),
  ])
  process.stderr.write(
    `dbsync tests: source ${source.host}:${source.port} (${sourceVersion}), target ` +
      `${target.host}:${target.port} (${targetVersion}), started in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  )
  project.provide('sourceUrl', source.url)
  project.provide('targetUrl', target.url)
  project.provide('servers', { source: source.info, target: target.info })
  return async () => {
    try {
      await assertNoTestDatabases([source.url, target.url], { drop: false })
    } finally {
      await stopAll([source, target])
    }
  }
}

async function stopAll(servers: ThrowawayServer[]): Promise<void> {
  const results = await Promise.allSettled(servers.map((s) => s.stop()))
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
  if (failed.length > 0) throw new AggregateError(failed, 'stopping the test servers failed')
}

/** `SELECT VERSION()` with its comment ("10.11.6-MariaDB, Debian 12", "8.0.36, MySQL Community Server - GPL"). */
async function serverVersion(url: string): Promise<string> {
  try {
    const conn = await mysql.createConnection({ ...connectionOptions(url), connectTimeout: 10_000 })
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v, @@version_comment AS c')
      return `${rows[0]?.v}, ${rows[0]?.c}`
    } finally {
      await conn.end()
    }
  } catch (err) {
    throw new Error(`cannot connect to test server ${redactUrl(url)}: ${String(err)}`, { cause: err })
  }
}

/**
 * Every integration test drops the databases it created (STYLE.md: "teardown fails if any remain"), so a
 * leftover means a test leaks; a server that cannot be reached (say, killed by a fault test and never
 * restarted) fails the run too.
 */
async function assertNoTestDatabases(urls: string[], opts: { drop: boolean }): Promise<void> {
  const problems: string[] = []
  // Source and target may be one external server; check it once.
  for (const url of new Set(urls)) {
    try {
      const conn = await mysql.createConnection({ ...connectionOptions(url), connectTimeout: 10_000 })
      try {
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'dbsync!_t!_%' ESCAPE '!'",
        )
        const names = rows.map((row) => String(row.name))
        if (names.length > 0) problems.push(`${redactUrl(url)}: ${names.join(', ')}`)
        if (opts.drop) {
          for (const name of names) await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`)
        }
      } finally {
        await conn.end()
      }
    } catch (err) {
      problems.push(`${redactUrl(url)}: could not check for leftover test databases: ${String(err)}`)
    }
  }
  if (problems.length > 0) {
    // vitest only logs a teardown error ("error during close") and would still exit 0.
    process.exitCode = 1
    throw new Error(
      `test databases were left behind; every test must call drop() on what createTestDatabases() made:\n  ` +
        problems.join('\n  '),
    )
  }
}
