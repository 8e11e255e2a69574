import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// No command may say "ok", "consistent" or "pending" about rows it did not copy or could not judge.
const TABLE = (name: string) => `CREATE TABLE ${name} (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY (updated_at)
)`
const ROWS = (name: string, n: number) =>
  `INSERT INTO ${name} VALUES ${Array.from({ length: n }, (_, i) => `(${i + 1}, 'row ${i + 1}', '2024-01-01 00:00:${String(i % 60).padStart(2, '0')}')`).join(', ')}`

interface TableReport {
  table: string
  status: string
  pending: number
  error?: string
  counts_complete: boolean
  counts: { missing: number; extra: number; differing: number }
}

describe('truthful reports', () => {
  let dbs: TestDbs
  let file: string
  const cli = (...args: string[]) => runCli([...args, '-p', file], { timeoutMs: 170_000 })
  const dataReport = async (...tables: string[]) => {
    const r = await cli('validate', '--data', '--json', '--tables', tables.join(','))
    const doc = JSON.parse(r.stdout) as { data: { consistent: boolean; tables: TableReport[] } }
    return { exitCode: r.exitCode, doc: doc.data, t: doc.data.tables[0]! }
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(
      "CREATE TABLE nulls (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6) NULL, KEY (updated_at)); INSERT INTO nulls VALUES (1, 'a', NULL), (2, 'b', NULL), (3, 'c', '2024-01-01')",
    )
    for (const t of ['fresh', 'breaks', 'many', 'refreshed', 'switched']) {
      await dbs.source.query(TABLE(t))
      await dbs.source.query(ROWS(t, t === 'many' ? 40 : 5))
    }
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at',
        tables: '  - name: switched\n    strategy: full_refresh\n    cursor: []\n  - name: "*"',
      }),
    )
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  it('a table never loaded is "not loaded", not consistent, even when an empty copy exists', async () => {
    // An empty copy made by hand (or by a run killed right after CREATE TABLE): every row "pending".
    await dbs.target.query(TABLE('fresh'))
    const { exitCode, doc, t } = await dataReport('fresh')
    expect(exitCode).toBe(1)
    expect(doc.consistent).toBe(false)
    expect(t.status).toBe('not_loaded')
    const text = await cli('validate', '--data', '--tables', 'fresh')
    expect(text.stdout).toContain('fresh: NOT LOADED')
    await dbs.target.query('DROP TABLE fresh')
  }, 180_000)

  it('a table whose last sync failed is reported as such, not as consistent with pending rows', async () => {
    const first = await cli('sync')
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
    // An incompatible change fails the table; the changed row is above the saved position ("pending").
    await dbs.source.query("UPDATE breaks SET name = id, updated_at = '2024-06-01 00:00:00'")
    await dbs.source.query('ALTER TABLE breaks MODIFY name INT NOT NULL')
    const failed = await cli('sync', '--tables', 'breaks')
    expect(failed.exitCode).toBe(1)
    const { exitCode, t } = await dataReport('breaks')
    expect(exitCode).toBe(1)
    expect(t.status).toBe('last_run_failed')
    expect(t.error).toContain('changed from varchar(40)')
  }, 180_000)

  it('a comparison that stops at --max-mismatches says "at least"', async () => {
    await dbs.target.query("UPDATE many SET name = 'changed in the target'")
    const r = await cli(
      'validate',
      '--data',
      '--tables',
      'many',
      '--chunk-rows',
      '4',
      '--max-mismatches',
      '2',
    )
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/differing: at least \d+/)
    const json = await cli(
      'validate',
      '--data',
      '--json',
      '--tables',
      'many',
      '--chunk-rows',
      '4',
      '--max-mismatches',
      '2',
    )
    const t = (JSON.parse(json.stdout) as { data: { tables: TableReport[] } }).data.tables[0]!
    expect(t.counts_complete).toBe(false)
  }, 180_000)

  it('right after sync --full-refresh nothing is pending', async () => {
    const res = await cli('sync', '--full-refresh', '--tables', 'refreshed')
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    const plan = await cli('plan', '--tables', 'refreshed')
    expect(plan.stdout).toContain('up to date')
    const { exitCode, t } = await dataReport('refreshed')
    expect(exitCode).toBe(0)
    expect(t).toMatchObject({ status: 'consistent', pending: 0 })
  }, 180_000)

  it('rows merged again unchanged (NULL cursors, every run) count as unchanged and keep their load id', async () => {
    const first = await cli('sync', '--tables', 'nulls')
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
    const [before] = await dbs.target.query('SELECT id, _dlt_load_id FROM nulls ORDER BY id')
    const idle = await cli('sync', '--tables', 'nulls', '--json')
    expect(idle.exitCode, idle.stderr + idle.stdout).toBe(0)
    const t = (JSON.parse(idle.stdout) as { tables: Array<Record<string, unknown>> }).tables[0]!
    expect(t).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 })
    const [after] = await dbs.target.query('SELECT id, _dlt_load_id FROM nulls ORDER BY id')
    expect(after).toEqual(before)
    // A real change still counts and takes the new load id.
    await dbs.source.query("UPDATE nulls SET v = 'A' WHERE id = 1")
    const changed = await cli('sync', '--tables', 'nulls', '--json')
    const c = (JSON.parse(changed.stdout) as { tables: Array<Record<string, unknown>> }).tables[0]!
    expect(c).toMatchObject({ updated: 1, unchanged: 1 })
  }, 180_000)

  it('switching a table from full refresh to incremental re-merges its rows as unchanged', async () => {
    const first = await cli('sync', '--tables', 'switched')
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
    const switched = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at',
        tables: '  - name: "*"',
      }),
    )
    const res = await runCli(['sync', '-p', switched, '--tables', 'switched', '--json'], {
      timeoutMs: 170_000,
    })
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    const t = (JSON.parse(res.stdout) as { tables: Array<Record<string, unknown>> }).tables[0]!
    expect(t).toMatchObject({ inserted: 0, updated: 0, unchanged: 5 })
  }, 180_000)

  it("a staging table a killed refresh left behind is gone at the table's next run", async () => {
    const stage = `_dbsync_stage_${createHash('sha256').update('refreshed').digest('hex').slice(0, 16)}`
    await dbs.target.query(`CREATE TABLE ${stage} (id INT PRIMARY KEY)`)
    const res = await cli('sync', '--tables', 'refreshed')
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    const [left] = await dbs.target.query("SHOW TABLES LIKE '\\_dbsync\\_%'")
    expect(left).toEqual([])
  }, 180_000)

  it('a definition the target refuses fails the table with the server reason and the statement', async () => {
    await dbs.source.query(TABLE('blocked'))
    await dbs.source.query(ROWS('blocked', 2))
    // Something in the target already holds the name (here a view), so CREATE TABLE is refused.
    await dbs.target.query('CREATE VIEW blocked AS SELECT 1 AS x')
    const res = await cli('sync', '--tables', 'blocked', '--json')
    expect(res.exitCode).toBe(1)
    const t = (JSON.parse(res.stdout) as { tables: Array<{ status: string; error: string }> }).tables[0]!
    expect(t.status).toBe('failed')
    expect(t.error).toContain('the target refused its definition')
    expect(t.error).toContain("Table 'blocked' already exists")
    expect(t.error).toContain('the statement was: CREATE TABLE `blocked`')
  }, 180_000)
})
