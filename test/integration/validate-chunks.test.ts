import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// Integer keys, dense then sparse then dense again: 1..500, 1,000..300,000 by 1,000 and 400,001..400,500.
// With --chunk-rows 100 the comparison steps the dense runs by value and walks the index in the gaps.
const DDL = `CREATE TABLE gaps (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20) NOT NULL);
  CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`
const ROWS = `INSERT INTO gaps
  SELECT n, CONCAT('v', n) FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1 AS n FROM digits a, digits b, digits c) x
   WHERE n <= 500
  UNION ALL SELECT n * 1000, CONCAT('v', n) FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1 AS n
    FROM digits a, digits b, digits c) x WHERE n <= 300
  UNION ALL SELECT 400000 + n, CONCAT('v', n) FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1 AS n
    FROM digits a, digits b, digits c) x WHERE n <= 500`

describe('validate --data chunks an integer key by value where it is dense and by index walk where not', () => {
  let dbs: TestDbs
  let file: string
  const validate = async () => {
    const r = await runCli(['validate', '-p', file, '--data', '--json', '--chunk-rows', '100'])
    if (!r.stdout) throw new Error(`exit ${r.exitCode}: ${r.stderr}`)
    return { exitCode: r.exitCode, t: JSON.parse(r.stdout).data.tables[0] }
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(`${DDL}; ${ROWS}`)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: [
          '  - name: gaps',
          '    strategy: full_refresh',
          '  - name: digits',
          '    exclude: true',
        ].join('\n'),
      }),
    )
    const sync = await runCli(['sync', '-p', file, '--json'])
    expect(sync.exitCode, sync.stderr).toBe(0)
  }, 240_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('finds every row of a clean copy equal, in chunks of at most 100 rows', async () => {
    const { exitCode, t } = await validate()
    expect(exitCode).toBe(0)
    expect(t).toMatchObject({ source_rows: 1300, target_rows: 1300, status: 'consistent' })
    expect(t.chunks).toBeGreaterThanOrEqual(13)
  })

  it('finds changed, missing and extra rows in the dense runs, in the gaps and past both ends', async () => {
    await dbs.target.query(`UPDATE gaps SET v = 'changed' WHERE id IN (7, 150000, 400499);
      DELETE FROM gaps WHERE id IN (250, 299000, 400001);
      INSERT INTO gaps (id, v, _dlt_load_id, _dlt_id)
        VALUES (-5, 'before', 'l', 'a'), (150500, 'gap', 'l', 'b'), (999999999, 'after', 'l', 'c')`)
    const { exitCode, t } = await validate()
    expect(exitCode).toBe(1)
    expect(t.counts).toEqual({ missing: 3, extra: 3, differing: 3 })
    expect(t.differing.map((d: { key: { id: string } }) => d.key.id)).toEqual(['7', '150000', '400499'])
    expect(t.missing.map((k: { id: string }) => k.id)).toEqual(['250', '299000', '400001'])
    expect(t.extra.map((k: { id: string }) => k.id)).toEqual(['-5', '150500', '999999999'])
  })
})
