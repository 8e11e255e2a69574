import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// A target table of the same name that dbsync did not create (made by hand, or by another tool) has no
// _dlt_ columns: every command says so with the way out, and nothing is written to it.
describe('a target table dbsync did not create', () => {
  let dbs: TestDbs
  let file: string
  const cli = (...args: string[]) => runCli([...args, '-p', file], { timeoutMs: 170_000 })

  beforeAll(async () => {
    dbs = await createTestDatabases()
    const table =
      'CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at))'
    await dbs.source.query(table)
    await dbs.source.query("INSERT INTO people VALUES (1, 'ann', '2024-01-01'), (2, 'bob', '2024-01-02')")
    await dbs.target.query(table)
    await dbs.target.query("INSERT INTO people VALUES (1, 'hand-made', '2020-01-01')")
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: '  - name: people\n    cursor: updated_at',
      }),
    )
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  it('is refused by plan and sync with the full-refresh way out, untouched; the refresh then copies it', async () => {
    const way = 'run dbsync sync --full-refresh --tables people'
    const plan = await cli('plan')
    expect(plan.stdout).toContain('not created by dbsync')
    expect(plan.stdout).toContain(way)

    const sync = await cli('sync', '--json')
    expect(sync.exitCode, sync.stderr).toBe(1)
    const t = JSON.parse(sync.stdout).tables[0]
    expect(t.status).toBe('failed')
    expect(t.error).toContain('it has no _dlt_load_id or _dlt_id column')
    expect(t.error).toContain(way)
    const [rows] = await dbs.target.query('SELECT id, name FROM people')
    expect(rows).toEqual([{ id: 1, name: 'hand-made' }])

    const refresh = await cli('sync', '--full-refresh', '--tables', 'people')
    expect(refresh.exitCode, refresh.stderr).toBe(0)
    await expectSameRows(dbs.source, dbs.target, 'people', ['id'])
  })
})
