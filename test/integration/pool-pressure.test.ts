import type mysql from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, expect, inject, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { daemons, freePort, get, sample, startDaemon, waitFor } from '../support/daemon.js'
import { openConnection, type TestDbs } from '../support/db.js'
import { ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// A target server whose max_connections is used up by others: dbsync's runs wait for connections the
// server refuses ("Too many connections") and finish once some are free, instead of failing.
const own = ownServer('a target server started with --max-connections=12')

own.describe('a target server out of connections', () => {
  let server: ThrowawayServer
  let dbs: TestDbs
  const blockers: mysql.Connection[] = []

  /** Open connections until the server refuses one: it has no connection left for anybody. */
  async function exhaust(): Promise<void> {
    for (;;) {
      try {
        blockers.push(await openConnection(server.url))
      } catch (err) {
        expect((err as { code?: string }).code).toBe('ER_CON_COUNT_ERROR')
        return
      }
    }
  }
  async function free(n: number): Promise<void> {
    for (const c of blockers.splice(0, n)) await c.end()
  }

  beforeAll(async () => {
    server = await startServer({ name: 'few-connections', extraArgs: ['--max-connections=12'] })
  })
  afterAll(async () => {
    await free(blockers.length)
    await server?.stop()
  })
  afterEach(async (ctx) => {
    await free(blockers.length)
    for (const d of daemons.splice(0)) {
      if (d.child.exitCode === null) d.child.kill('SIGKILL')
      if (ctx.task.result?.state === 'fail') console.error(d.stderr().slice(-4000))
    }
    await dbs?.drop()
  })

  async function fourTables(): Promise<string[]> {
    dbs = await createDatabasesOn(inject('sourceUrl'), server.url)
    const names = ['t1', 't2', 't3', 't4']
    for (const t of names) {
      await dbs.source.query(
        `CREATE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)`,
      )
      await dbs.source.query(`INSERT INTO ${t} SELECT seq, CONCAT('v', seq), '2024-01-01' FROM seq_1_to_2000`)
    }
    return names
  }

  it('waits for refused connections and finishes the run; the metrics show the wait', async () => {
    const tables = await fourTables()
    const port = await freePort()
    const file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at\n  batch_size: 500',
        tables: tables.map((t) => `  - name: ${t}`).join('\n'),
        extra: 'concurrency: 4\n',
      }).replace(
        `target:\n  url: "${dbs.targetUrl}"`,
        `target:\n  url: "${dbs.targetUrl}"\n  pool: { max: 4, acquire_timeout: 3m }`,
      ),
    )
    await exhaust()
    const d = startDaemon(['sync', '-p', file, '--every', '1h', '--health-port', String(port)])
    // Refused for longer than the per-table retries would last (5 attempts, about 15 s of backoff): the
    // backoff between tries is at most 1 s, so 25 refusals take at least 20 s.
    await waitFor(
      '25 refused target connections',
      async () =>
        (sample((await get(port, '/metrics')).body, 'dbsync_pool_errors_total', {
          side: 'target',
          kind: 'refused',
        }) ?? 0) >= 25,
      120_000,
    )
    // Two connections come free: one for the run lock, one for the pool, shared by the four tables.
    await free(2)
    const m = await waitFor(
      'the first run to end',
      async () => {
        const text = (await get(port, '/metrics')).body
        const ended =
          (sample(text, 'dbsync_runs_total', { status: 'ok' }) ?? 0) +
          (sample(text, 'dbsync_runs_total', { status: 'failed' }) ?? 0)
        return ended > 0 ? text : undefined
      },
      150_000,
    )
    expect(sample(m, 'dbsync_runs_total', { status: 'ok' }), d.stderr().slice(-3000)).toBe(1)
    expect(sample(m, 'dbsync_runs_total', { status: 'failed' })).toBe(0)
    expect(sample(m, 'dbsync_pool_errors_total', { side: 'target', kind: 'timeout' })).toBe(0)
    expect(sample(m, 'dbsync_pool_max_connections', { side: 'target' })).toBe(4)
    expect(sample(m, 'dbsync_pool_acquire_seconds_count', { side: 'target' })).toBeGreaterThan(0)
    // The four tables shared the connections there were: some waited for one.
    expect(sample(m, 'dbsync_pool_acquire_seconds_sum', { side: 'target' })).toBeGreaterThan(0)
    for (const t of tables) {
      expect(sample(m, 'dbsync_table_consecutive_failures', { table: t })).toBe(0)
      const same = await expectSameRows(dbs.source, dbs.target, t, ['id'])
      expect(same.target.length).toBe(2000)
    }
  }, 300_000)

  it('fails with the reason when no connection comes within pool.acquire_timeout', async () => {
    const tables = await fourTables()
    const file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at',
        tables: tables.map((t) => `  - name: ${t}`).join('\n'),
      }).replace(
        `target:\n  url: "${dbs.targetUrl}"`,
        `target:\n  url: "${dbs.targetUrl}"\n  pool: { max: 4, acquire_timeout: 3s }`,
      ),
    )
    await exhaust()
    const res = await runCli(['sync', '-p', file], { timeoutMs: 120_000 })
    expect(res.exitCode).toBe(3)
    expect(res.stderr).toMatch(
      /target 127\.0\.0\.1:\d+: .*no connection within 3 s; the server refused: Too many connections/,
    )
    expect(res.stderr).toContain('pool.acquire_timeout')
    // A command that only reads the target waits too, and does not end early as if it had finished.
    const status = await runCli(['status', '-p', file], { timeoutMs: 120_000 })
    expect(status.exitCode, status.stdout).toBe(3)
    expect(status.stderr).toMatch(/no connection within 3 s; the server refused: Too many connections/)
  }, 180_000)
})
