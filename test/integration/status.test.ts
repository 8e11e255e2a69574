import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lockName } from '../../src/db/lock.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, openConnection, type TestDbs } from '../support/db.js'

const SETUP = [
  'CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2) NOT NULL, updated_at DATETIME(6) NOT NULL)',
  "INSERT INTO orders VALUES (1, 1.00, '2024-01-01 00:00:01'), (2, 2.00, '2024-01-01 00:00:02')",
  'CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50) NOT NULL)',
  "INSERT INTO countries VALUES ('de', 'Germany'), ('fr', 'France'), ('it', 'Italy')",
  'CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20) NOT NULL, changed_at DATETIME(6) NOT NULL)',
  "INSERT INTO notes VALUES (1, 'a', '2024-01-01 00:00:00')",
]

const TABLES = `  - name: orders
    cursor: updated_at
  - name: countries
    strategy: full_refresh
  - name: notes
    cursor: changed_at`

interface TableJson {
  table: string
  strategy: string | null
  status: string
  rows_synced: string
  lag_seconds: number | null
  last_success_at: string | null
  error: string | null
}

describe('dbsync status', () => {
  let dbs: TestDbs
  let file: string
  let pipelineName: string
  const byTable = (stdout: string): Record<string, TableJson> =>
    Object.fromEntries((JSON.parse(stdout).tables as TableJson[]).map((t) => [t.table, t]))

  beforeAll(async () => {
    dbs = await createTestDatabases()
    for (const s of SETUP) await dbs.source.query(s)
    const yaml = pipelineYaml({ sourceUrl: dbs.sourceUrl, targetUrl: dbs.targetUrl, tables: TABLES })
    pipelineName = /^name: (.*)$/m.exec(yaml)![1]!
    file = await writeTempPipeline(yaml)
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  it('exits 1 before anything was synced, writing nothing', async () => {
    const res = await runCli(['status', '-p', file, '--json'])
    expect(res.exitCode, res.stderr).toBe(1)
    const out = JSON.parse(res.stdout)
    expect(out.tables.map((t: TableJson) => [t.table, t.status])).toEqual([
      ['orders', 'never'],
      ['countries', 'never'],
      ['notes', 'never'],
    ])
    expect(out.problems).toContain('orders: never synced')
    const [rows] = await dbs.target.query("SHOW TABLES LIKE '\\_sync%'")
    expect(rows).toEqual([])
  }, 180_000)

  it('shows each table with its result, rows and lag; a failed table with its error; exit 1', async () => {
    const first = await runCli(['sync', '-p', file], { timeoutMs: 150_000 })
    expect(first.exitCode, first.stderr).toBe(0)
    // A target that refuses notes' new row: the next run fails that table.
    await dbs.target.query(
      "CREATE TRIGGER notes_frozen BEFORE INSERT ON notes FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'notes are frozen'",
    )
    await dbs.source.query("INSERT INTO notes VALUES (2, 'b', '2024-01-02 00:00:00')")
    const sync = await runCli(['sync', '-p', file], { timeoutMs: 150_000 })
    expect(sync.exitCode, sync.stderr).toBe(1)
    const res = await runCli(['status', '-p', file, '--json'])
    expect(res.exitCode, res.stderr).toBe(1)
    const t = byTable(res.stdout)
    expect(t.orders).toMatchObject({ strategy: 'incremental', status: 'ok', rows_synced: '2', error: null })
    // The newest cursor synced is 2024-01-01 00:00:02: the lag is the time since then.
    const expectedLag = (Date.now() - Date.UTC(2024, 0, 1, 0, 0, 2)) / 1000
    expect(t.orders!.lag_seconds).toBeGreaterThan(expectedLag - 300)
    expect(t.orders!.lag_seconds).toBeLessThanOrEqual(expectedLag + 1)
    expect(t.countries).toMatchObject({ strategy: 'full_refresh', status: 'ok', rows_synced: '6' }) // two runs, 3 each
    expect(t.countries!.lag_seconds).toBeNull()
    expect(t.countries!.last_success_at).not.toBeNull()
    expect(t.notes!.status).toBe('failed')
    expect(t.notes!.error).toMatch(/notes are frozen/)
    const out = JSON.parse(res.stdout)
    expect(out.runs[0]).toMatchObject({ status: 'failed' })
    expect(out.runs[0].tables.countries).toEqual({ status: 'ok', rows: 3 })
    expect(out.problems).toEqual([expect.stringMatching(/^notes: last run failed: .*notes are frozen/)])

    const text = await runCli(['status', '-p', file])
    expect(text.exitCode).toBe(1)
    expect(text.stdout).toMatch(/^table\s+strategy\s+status\s+last run\s+last success\s+lag\s+rows\n/)
    expect(text.stdout).toMatch(/\norders\s+incremental\s+ok\s+\d+s ago\s+\d+s ago\s+\d+d( \d+h)?\s+2\n/)
    expect(text.stdout).toMatch(/\nnotes\s+incremental\s+failed\s+/)
    expect(text.stdout).toMatch(/problem\(s\):\n {2}notes: last run failed/)
  }, 180_000)

  it('exits 0 once every table synced, and 1 when a table lags over --max-lag', async () => {
    await dbs.target.query('DROP TRIGGER notes_frozen')
    const sync = await runCli(['sync', '-p', file], { timeoutMs: 150_000 })
    expect(sync.exitCode, sync.stderr).toBe(0)
    const ok = await runCli(['status', '-p', file, '--json'])
    expect(ok.exitCode, ok.stdout).toBe(0)
    expect(JSON.parse(ok.stdout).problems).toEqual([])
    expect(byTable(ok.stdout).notes!.status).toBe('ok')

    // orders' newest row is from 2024: its lag is over 10 minutes; the full refreshes just synced.
    const lagging = await runCli(['status', '-p', file, '--max-lag', '10m', '--json'])
    expect(lagging.exitCode).toBe(1)
    expect(JSON.parse(lagging.stdout).problems).toEqual([
      expect.stringMatching(/^notes: lags \d+d/),
      expect.stringMatching(/^orders: lags \d+d/),
    ])
    expect(JSON.parse(lagging.stdout).max_lag_seconds).toBe(600)
    const generous = await runCli(['status', '-p', file, '--max-lag', '100000d'])
    expect(generous.exitCode, generous.stdout).toBe(0)
    expect(generous.stdout).toMatch(/pipeline \S+: ok\n$/)
  }, 180_000)

  it('calls a run recorded as running abandoned when no process holds the lock', async () => {
    // What a run killed with SIGKILL leaves behind: its rows say running, and its lock died with it.
    await dbs.target.query(
      "INSERT INTO _sync_runs (load_id, pipeline, started_at, status) VALUES ('killed_run', ?, UTC_TIMESTAMP(6), 'running')",
      [pipelineName],
    )
    await dbs.target.query(
      "UPDATE _sync_state SET status = 'running', last_load_id = 'killed_run' WHERE pipeline = ? AND table_name = 'orders'",
      [pipelineName],
    )
    const res = await runCli(['status', '-p', file, '--json'])
    expect(res.exitCode).toBe(1)
    const out = JSON.parse(res.stdout)
    expect(out.lock_held).toBe(false)
    expect(out.runs[0]).toMatchObject({ load_id: 'killed_run', status: 'abandoned' })
    expect(byTable(res.stdout).orders!.status).toBe('abandoned')
    expect(out.problems).toEqual([expect.stringMatching(/^orders: run killed_run is recorded as running/)])

    // While a process holds the lock the same rows mean a run in progress: no problem.
    const holder = await openConnection(dbs.targetUrl)
    try {
      await holder.query('SELECT GET_LOCK(?, 0)', [lockName(pipelineName)])
      const running = await runCli(['status', '-p', file, '--json'])
      expect(running.exitCode, running.stdout).toBe(0)
      expect(JSON.parse(running.stdout).lock_held).toBe(true)
      expect(byTable(running.stdout).orders!.status).toBe('running')
    } finally {
      await holder.end()
    }
  }, 180_000)

  it('rejects a bad --max-lag with exit 2, and an unreachable target with exit 3', async () => {
    const bad = await runCli(['status', '-p', file, '--max-lag', 'soon'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('--max-lag: expected a duration')
    const unreachable = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: 'mysql://nobody:secret-pw@127.0.0.1:1/nowhere',
        tables: TABLES,
      }),
    )
    const res = await runCli(['status', '-p', unreachable, '--json'])
    expect(res.exitCode).toBe(3)
    expect(res.stdout + res.stderr).not.toContain('secret-pw')
  }, 180_000)
})
