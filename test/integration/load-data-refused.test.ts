import { expect, it } from 'vitest'
import { TYPES_DDL, TYPES_ROWS } from '../fixtures/types-table.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { columnDefinitions, expectSameRows, pipelineYaml, rowIdMismatches } from '../support/compare.js'
import { ownServer } from '../support/external.js'
import { createBigTable, ownTargetDatabases } from '../support/own-dbs.js'
import { startProxy } from '../support/proxy.js'

// A target started with --local-infile=0 (MySQL 8's default) refuses LOAD DATA LOCAL: first loads and full
// refreshes fall back to multi-row INSERTs, say so in the log, and copy the same bytes.
const own = ownServer('a target server started with --local-infile=0')

own.describe('a target that refuses LOAD DATA LOCAL INFILE', () => {
  const t = ownTargetDatabases({ name: 'no-local-infile', extraArgs: ['--local-infile=0'] })

  for (const strategy of ['incremental', 'full_refresh'] as const) {
    it(`copies the type-fidelity table and a 20,000-row table with ${strategy} through INSERTs`, async () => {
      await t.dbs.source.query(TYPES_DDL)
      await t.dbs.source.query(TYPES_ROWS)
      await createBigTable(t.dbs.source, 20_000)
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: t.dbs.sourceUrl,
          targetUrl: t.dbs.targetUrl,
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
        { table: 'types', status: 'ok', rows_read: 4 },
        { table: 'big', status: 'ok', rows_read: 20_000 },
      ])
      const types = await expectSameRows(t.dbs.source, t.dbs.target, 'types', ['id', 'k2'])
      expect(types.target).toEqual(types.source)
      expect(await columnDefinitions(t.dbs.target, 'types')).toEqual(
        await columnDefinitions(t.dbs.source, 'types'),
      )
      const big = await expectSameRows(t.dbs.source, t.dbs.target, 'big', ['id'])
      expect(big.target).toEqual(big.source)
      expect(big.target).toHaveLength(20_000)
      expect(await rowIdMismatches(t.dbs.target, 'big', 'id')).toBe(0)
    })
  }

  it('finishes a full refresh through INSERTs whose source connection is cut mid-scan, by a retry', async () => {
    await createBigTable(t.dbs.source, 20_000)
    const source = new URL(t.dbs.sourceUrl)
    const proxy = await startProxy({ targetHost: source.hostname, targetPort: Number(source.port) })
    try {
      // A slow link, so the cut lands inside the scan.
      proxy.throttle(20)
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: proxy.url(t.dbs.sourceUrl),
          targetUrl: t.dbs.targetUrl,
          tables: '  - name: big\n    strategy: full_refresh\n    batch_size: 500',
          extra: 'retry: { attempts: 4, base_delay: 100ms, max_delay: 500ms }',
        }),
      )
      const run = runCli(['sync', '-p', file, '--json', '--log-format', 'json'])
      const started = Date.now()
      while (proxy.stats.bytesDown < 200_000 && Date.now() - started < 20_000) {
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(proxy.cutAll()).toBeGreaterThan(0)
      proxy.throttle(0)
      const res = await run
      expect(res.exitCode, res.stderr).toBe(0)
      expect(res.stderr).toMatch(/"table_retry"/)
      const big = await expectSameRows(t.dbs.source, t.dbs.target, 'big', ['id'])
      expect(big.target).toHaveLength(20_000)
      expect(big.target).toEqual(big.source)
    } finally {
      await proxy.close()
    }
  })
})
