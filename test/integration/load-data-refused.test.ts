import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { TYPES_DDL, TYPES_ROWS } from '../fixtures/types-table.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { columnDefinitions, expectSameRows, pipelineYaml, rowIdMismatches } from '../support/compare.js'
import type { TestDbs } from '../support/db.js'
import { createBigTable, createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// A target started with --local-infile=0 (MySQL 8's default) refuses LOAD DATA LOCAL: first loads and full
// refreshes fall back to multi-row INSERTs, say so in the log, and copy the same bytes.
describe('a target that refuses LOAD DATA LOCAL INFILE', () => {
  let server: ThrowawayServer
  let dbs: TestDbs

  beforeAll(async () => {
    server = await startServer({ name: 'no-local-infile', extraArgs: ['--local-infile=0'] })
  })
  afterAll(async () => {
    await server?.stop()
  })
  beforeEach(async () => {
    dbs = await createDatabasesOn(inject('sourceUrl'), server.url)
  })
  afterEach(async () => {
    await dbs?.drop()
  })

  for (const strategy of ['incremental', 'full_refresh'] as const) {
    it(`copies the type-fidelity table and a 20,000-row table with ${strategy} through INSERTs`, async () => {
      await dbs.source.query(TYPES_DDL)
      await dbs.source.query(TYPES_ROWS)
      await createBigTable(dbs.source, 20_000)
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          tables: [
            `  - name: types\n    strategy: ${strategy}\n    cursor: updated_at\n    batch_size: 2`,
            `  - name: big\n    strategy: ${strategy}\n    cursor: updated_at`,
          ].join('\n'),
        }),
      )
      const res = await runCli(['sync', '-p', file, '--json', '--log-format', 'json'])
      expect(res.exitCode, res.stderr).toBe(0)
      const refused = res.stderr
        .split('\n')
        .filter((l) => l.includes('"load_data_refused"'))
        .map((l) => JSON.parse(l) as { table: string; msg: string })
      expect(refused.map((r) => r.table).sort()).toEqual(['big', 'types'])
      expect(refused[0]?.msg).toMatch(/refuses LOAD DATA LOCAL INFILE .*using INSERT instead/)
      expect(JSON.parse(res.stdout).tables).toMatchObject([
        { table: 'types', status: 'ok', rowsRead: 4 },
        { table: 'big', status: 'ok', rowsRead: 20_000 },
      ])
      const types = await expectSameRows(dbs.source, dbs.target, 'types', ['id', 'k2'])
      expect(types.target).toEqual(types.source)
      expect(await columnDefinitions(dbs.target, 'types')).toEqual(
        await columnDefinitions(dbs.source, 'types'),
      )
      const big = await expectSameRows(dbs.source, dbs.target, 'big', ['id'])
      expect(big.target).toEqual(big.source)
      expect(big.target).toHaveLength(20_000)
      expect(await rowIdMismatches(dbs.target, 'big', 'id')).toBe(0)
    })
  }
})
