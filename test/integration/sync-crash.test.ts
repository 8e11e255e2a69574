import { spawn } from 'node:child_process'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/load.js'
import { lockName } from '../../src/db/lock.js'
import { cliPath, runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { waitFor } from '../support/daemon.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

let dbs: TestDbs

beforeEach(async () => {
  dbs = await createTestDatabases()
  // 100,000 rows: enough that a sync is still running when the test kills it.
  await dbs.source.query(`CREATE TABLE digits (d INT PRIMARY KEY)`)
  await dbs.source.query(`INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`)
  await dbs.source.query(
    `CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(100) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at))`,
  )
  await dbs.source.query(
    `INSERT INTO big SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d, REPEAT('p', 80),
            '2024-01-01' + INTERVAL (a.d + 10*b.d + 100*c.d) SECOND
       FROM digits a, digits b, digits c, digits e, digits f`,
  )
})
afterEach(async () => {
  await dbs?.drop()
})

async function count(table: string): Promise<number> {
  const [rows] = await dbs.target.query(`SELECT COUNT(*) AS n FROM \`${table}\``)
  return Number((rows as Array<{ n: string }>)[0]!.n)
}

async function pipeline(strategy: string): Promise<string> {
  return writeTempPipeline(
    pipelineYaml({
      sourceUrl: dbs.sourceUrl,
      targetUrl: dbs.targetUrl,
      tables: `  - name: big\n    strategy: ${strategy}\n    cursor: updated_at\n    batch_size: 500`,
    }),
  )
}

/** Start a sync and SIGKILL it as soon as `ready()` says it is mid-load. */
async function killMidway(file: string, ready: () => Promise<boolean>): Promise<void> {
  const child = spawn(process.execPath, [cliPath, 'sync', '-p', file], { stdio: 'ignore' })
  const exited = new Promise((r) => child.once('exit', r))
  try {
    const deadline = Date.now() + 40_000
    while (Date.now() < deadline) {
      if (await ready().catch(() => false)) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(child.exitCode, 'the sync finished before it could be killed').toBeNull()
  } finally {
    child.kill('SIGKILL')
    await exited
  }
}

describe('crash safety', () => {
  it('resumes an initial incremental load killed midway, without gaps or duplicates', async () => {
    const file = await pipeline('incremental')
    await killMidway(file, async () => {
      const [rows] = await dbs.target.query(`SELECT rows_synced FROM _sync_state WHERE table_name = 'big'`)
      return Number((rows as Array<{ rows_synced: string }>)[0]?.rows_synced ?? 0) >= 5000
    })
    const committed = await count('big')
    expect(committed).toBeGreaterThan(0)
    expect(committed).toBeLessThan(100_000)

    const res = await runCli(['sync', '-p', file, '--json'])
    expect(res.exitCode, res.stderr).toBe(0)
    // It picked up where the killed run stopped, not from zero.
    expect(JSON.parse(res.stdout).tables[0].rows_read).toBeLessThanOrEqual(100_000 - committed + 500)
    expect(await count('big')).toBe(100_000)
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'big', ['id'])
    expect(target).toEqual(source)
  })

  it('leaves the old table untouched and readable when a full refresh is killed', async () => {
    const file = await pipeline('full_refresh')
    let res = await runCli(['sync', '-p', file])
    expect(res.exitCode, res.stderr).toBe(0)
    await dbs.source.query(`UPDATE big SET payload = 'changed' WHERE id < 50000`)
    await dbs.source.query(`DELETE FROM big WHERE id >= 99000`)

    let readsDuringRefresh = 0
    await killMidway(file, async () => {
      // Readers see the whole old table while the refresh is loading.
      expect(await count('big')).toBe(100_000)
      readsDuringRefresh++
      const [rows] = await dbs.target.query(
        `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_dbsync\\_stage\\_%'`,
      )
      const stage = (rows as Array<{ t: string }>)[0]?.t
      return stage !== undefined && (await count(stage)) >= 5000
    })
    expect(readsDuringRefresh).toBeGreaterThan(0)
    expect(await count('big')).toBe(100_000)
    const [[unchanged]] = (await dbs.target.query(
      `SELECT COUNT(*) AS n FROM big WHERE payload = 'changed'`,
    )) as unknown as [[{ n: string }]]
    expect(Number(unchanged.n)).toBe(0)

    res = await runCli(['sync', '-p', file])
    expect(res.exitCode, res.stderr).toBe(0)
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'big', ['id'])
    expect(target).toEqual(source)
    const [stale] = await dbs.target.query(
      `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_dbsync\\_%'`,
    )
    expect(stale).toEqual([])
  })

  it('lets only one of two concurrent runs of a pipeline through: the other exits 4', async () => {
    const file = await pipeline('incremental')
    const lock = lockName((await loadPipeline(file)).name)
    // The source table locked, the first run holds its pipeline lock and waits to read: it is still
    // running when the second starts, however fast the machine (it once finished first, and both passed).
    await dbs.source.query('LOCK TABLES big WRITE')
    const first = spawn(process.execPath, [cliPath, 'sync', '-p', file], { stdio: 'ignore' })
    const firstExit = new Promise<number | null>((r) => first.once('exit', (code) => r(code)))
    try {
      const seen = await waitFor(
        'the first run to take the pipeline lock',
        async () => {
          if (first.exitCode !== null) return 'the first run ended'
          const [rows] = await dbs.target.query('SELECT IS_USED_LOCK(?) AS holder', [lock])
          return (rows as Array<{ holder: unknown }>)[0]?.holder != null ? 'held' : undefined
        },
        60_000,
      )
      expect(seen).toBe('held')
      const second = await runCli(['sync', '-p', file])
      expect(second.exitCode).toBe(4)
      expect(second.stderr).toMatch(/held by another run/)
    } finally {
      await dbs.source.query('UNLOCK TABLES')
      expect(await firstExit).toBe(0)
    }
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'big', ['id'])
    expect(target).toEqual(source)
  })
})
