import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TYPES_DDL, TYPES_ROWS } from '../fixtures/types-table.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { columnDefinitions, expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// The dbsync process runs in a non-UTC zone: values must not notice.
describe('sync copies every type bit for bit', () => {
  let dbs: TestDbs

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(TYPES_DDL)
    await dbs.source.query(TYPES_ROWS)
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  for (const strategy of ['incremental', 'full_refresh'] as const) {
    it(`copies the type-fidelity table with ${strategy}`, async () => {
      await dbs.target.query('DROP TABLE IF EXISTS `types`, `_sync_state`, `_sync_runs`')
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          tables: `  - name: types\n    strategy: ${strategy}\n    cursor: updated_at\n    batch_size: 2`,
        }),
      )
      const res = await runCli(['sync', '-p', file, '--json'], { env: { TZ: 'America/Sao_Paulo' } })
      expect(res.stderr).not.toMatch(/internal error/)
      expect(res.exitCode, res.stderr + res.stdout).toBe(0)
      const summary = JSON.parse(res.stdout)
      expect(summary.tables[0]).toMatchObject({ table: 'types', status: 'ok', rows_read: 4 })

      const { source, target } = await expectSameRows(dbs.source, dbs.target, 'types', ['id', 'k2'])
      expect(target).toEqual(source)
      expect(await columnDefinitions(dbs.target, 'types')).toEqual(
        await columnDefinitions(dbs.source, 'types'),
      )
    })
  }
})
