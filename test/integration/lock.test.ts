import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, openConnection, type TestDbs } from '../support/db.js'
import { createBigTable } from '../support/own-dbs.js'

// The run lock is GET_LOCK on a connection of its own; a cut connection frees it. A run that lost it must
// not go on writing once another run holds it: above all, it must not swap in a staging table that the
// other run may be writing too.
describe('a run that loses its lock', () => {
  let dbs: TestDbs
  const NAME = `lock_test_${process.pid}`

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await createBigTable(dbs.source, 100_000)
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  it('fails its full refresh before the swap when another session took the lock, leaving the old table', async () => {
    const file = await writeTempPipeline(
      pipelineYaml({
        name: NAME,
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: '  - name: big\n    strategy: full_refresh\n    batch_size: 200',
      }),
    )
    const first = await runCli(['sync', '-p', file])
    expect(first.exitCode, first.stderr).toBe(0)
    await dbs.source.query("UPDATE big SET payload = 'changed' WHERE id <= 10")

    const thief = await openConnection(dbs.targetUrl)
    try {
      const run = runCli(['sync', '-p', file, '--json'])
      // Once the refresh is loading its staging table, cut the lock's connection and take the lock.
      let holder: number | null = null
      for (let i = 0; i < 2000 && holder === null; i++) {
        const [stage] = await dbs.target.query("SHOW TABLES LIKE '\\_dbsync\\_stage\\_%'")
        if ((stage as unknown[]).length > 0) {
          const [rows] = await dbs.target.query('SELECT IS_USED_LOCK(?) AS id', [`dbsync:${NAME}`])
          holder = (rows as Array<{ id: number | null }>)[0]?.id ?? null
        }
        if (holder === null) await sleep(5)
      }
      expect(holder, 'the run took its lock and started loading').not.toBeNull()
      await dbs.target.query(`KILL ${Number(holder)}`)
      const [got] = await thief.query('SELECT GET_LOCK(?, 10) AS got', [`dbsync:${NAME}`])
      expect((got as Array<{ got: number }>)[0]?.got).toBe(1)

      const res = await run
      expect(res.exitCode, res.stderr).toBe(1)
      const table = JSON.parse(res.stdout).tables[0]
      expect(table).toMatchObject({ table: 'big', status: 'failed' })
      expect(table.error).toMatch(/lost the pipeline lock "dbsync:lock_test_\d+" .*another run holds it now/)
      // The old table is still there, unchanged.
      const [rows] = await dbs.target.query(
        "SELECT COUNT(*) AS n, SUM(payload = 'changed') AS changed FROM big",
      )
      expect(rows).toEqual([{ n: '100000', changed: '0' }])
    } finally {
      await thief.end()
    }

    // Once the other session lets go, the next run swaps the new rows in.
    const next = await runCli(['sync', '-p', file])
    expect(next.exitCode, next.stderr).toBe(0)
    const [after] = await dbs.target.query("SELECT SUM(payload = 'changed') AS changed FROM big")
    expect(after).toEqual([{ changed: '10' }])
  })
})
