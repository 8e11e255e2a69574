import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, openConnection, type TestDbs, waitForServerSecond } from '../support/db.js'
import { ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startServer } from '../support/servers.js'

// Its own source server: an open transaction there holds back the late-commit cap of every sync on it.
const own = ownServer('a source server of its own, to hold a transaction open on')

let dbs: TestDbs

beforeEach(async () => {
  dbs = await createTestDatabases()
})
afterEach(async () => {
  await dbs?.drop()
})

async function sync(tables: string, extraArgs: string[] = []) {
  const file = await writeTempPipeline(
    pipelineYaml({ sourceUrl: dbs.sourceUrl, targetUrl: dbs.targetUrl, tables }),
  )
  const res = await runCli(['sync', '-p', file, '--json', ...extraArgs])
  expect(res.exitCode, res.stderr + res.stdout).toBe(0)
  return JSON.parse(res.stdout) as {
    tables: Array<{ table: string; rows_read: number; inserted: number; updated: number }>
  }
}

async function expectEqual(table: string, key = ['id']) {
  const { source, target } = await expectSameRows(dbs.source, dbs.target, table, key)
  expect(target).toEqual(source)
}

describe('incremental sync', () => {
  for (const batch of [1, 2, 3, 7]) {
    it(`neither skips nor doubles rows sharing a cursor value across batches of ${batch}`, async () => {
      await dbs.source.query(
        `CREATE TABLE ties (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6) NOT NULL, KEY (updated_at))`,
      )
      // 20 rows on 4 cursor values: every batch size above cuts through runs of equal values.
      const values = Array.from(
        { length: 20 },
        (_, i) => `(${i + 1}, 'v${i}', '2024-01-0${(i % 4) + 1} 00:00:00')`,
      )
      await dbs.source.query(`INSERT INTO ties VALUES ${values.join(',')}`)
      const tables = `  - name: ties\n    cursor: updated_at\n    batch_size: ${batch}`
      const first = await sync(tables)
      expect(first.tables[0]).toMatchObject({ rows_read: 20, inserted: 20 })
      await expectEqual('ties')

      // Updates and inserts between runs, some sharing the newest cursor value.
      await dbs.source.query(
        `UPDATE ties SET v = 'changed', updated_at = '2024-02-01 00:00:00' WHERE id IN (3, 8, 15)`,
      )
      await dbs.source.query(
        `INSERT INTO ties VALUES (21, 'new', '2024-02-01 00:00:00'), (22, 'new', '2024-02-01 00:00:00'), (0, 'zero', '2024-02-02 00:00:00')`,
      )
      const second = await sync(tables)
      expect(second.tables[0]).toMatchObject({ rows_read: 6, inserted: 3, updated: 3 })
      await expectEqual('ties')
      const third = await sync(tables)
      expect(third.tables[0]).toMatchObject({ rows_read: 0 })
      const [[count]] = (await dbs.target.query('SELECT COUNT(*) AS n FROM ties')) as unknown as [
        [{ n: string }],
      ]
      expect(Number(count.n)).toBe(23)
    })
  }

  it('copies rows whose cursor list is all NULL, on the first load and later', async () => {
    await dbs.source.query(
      `CREATE TABLE nulls (id INT PRIMARY KEY, updated_at DATETIME NULL, created_at DATETIME NULL, note VARCHAR(20))`,
    )
    await dbs.source.query(
      `INSERT INTO nulls VALUES (1, NULL, NULL, 'both null'), (2, NULL, '2024-01-01', 'created only'),
        (3, '2024-01-02', '2024-01-01', 'both'), (4, NULL, NULL, 'both null 2')`,
    )
    const tables = `  - name: nulls\n    cursor: [updated_at, created_at]\n    batch_size: 1`
    await sync(tables)
    await expectEqual('nulls')
    await dbs.source.query(`INSERT INTO nulls VALUES (5, NULL, NULL, 'late null')`)
    await dbs.source.query(
      `UPDATE nulls SET note = 'edited', updated_at = NULL, created_at = NULL WHERE id = 3`,
    )
    await sync(tables)
    await expectEqual('nulls')
  })

  own.it('waits for a transaction still open on the source instead of passing its rows by', async () => {
    // Its own source server: the open transaction below holds back the late-commit cap of every sync on
    // its server, which would stall other test files sharing the common one.
    const server = await startServer({ name: 'late-source' })
    const own = await createDatabasesOn(server.url, inject('targetUrl'))
    const sync = async (tables: string) => {
      const file = await writeTempPipeline(
        pipelineYaml({ sourceUrl: own.sourceUrl, targetUrl: own.targetUrl, tables }),
      )
      const res = await runCli(['sync', '-p', file, '--json'])
      expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    }
    const slow = await openConnection(own.sourceUrl)
    try {
      await own.source.query(
        `CREATE TABLE late (id INT PRIMARY KEY, v VARCHAR(10), updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (updated_at))`,
      )
      await own.source.query(`INSERT INTO late (id, v, updated_at) VALUES (1, 'old', '2024-01-01 00:00:00')`)
      const tables = `  - name: late\n    cursor: updated_at`
      await sync(tables)
      // The slow writer stamps its row first but commits last: the classic silent loss.
      await slow.query('START TRANSACTION')
      await slow.query(`INSERT INTO late (id, v) VALUES (2, 'slow')`)
      await waitForServerSecond(own.source)
      await own.source.query(`INSERT INTO late (id, v) VALUES (3, 'fast')`)
      await sync(tables)
      await slow.query('COMMIT')
      await sync(tables)
      const { source, target } = await expectSameRows(own.source, own.target, 'late', ['id'])
      expect(target).toEqual(source)
      const [rows] = await own.target.query('SELECT id FROM late ORDER BY id')
      expect((rows as Array<{ id: number }>).map((r) => r.id)).toEqual([1, 2, 3])
    } finally {
      await slow.end()
      await own.drop()
      await server.stop()
    }
  })

  it('re-reads rows inside the lag window', async () => {
    await dbs.source.query(
      `CREATE TABLE lagged (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6) NOT NULL)`,
    )
    await dbs.source.query(`INSERT INTO lagged VALUES (1, 'a', '2024-01-01 12:00:00')`)
    const withLag = `  - name: lagged\n    cursor: updated_at\n    lag: 1h`
    await sync(withLag)
    // A writer that stamps rows with its own (late) clock: 10 minutes behind the saved position.
    await dbs.source.query(`INSERT INTO lagged VALUES (2, 'b', '2024-01-01 11:50:00')`)
    await dbs.source.query(`UPDATE lagged SET v = 'a2' WHERE id = 1`)
    const second = await sync(withLag)
    expect(second.tables[0]).toMatchObject({ rows_read: 2, inserted: 1, updated: 1 })
    await expectEqual('lagged')
  })

  it('splits a batch by bytes when rows are larger than max_allowed_packet / batch_size', async () => {
    const [[packet]] = (await dbs.target.query('SELECT @@max_allowed_packet AS p')) as unknown as [
      [{ p: string }],
    ]
    const rowBytes = Math.floor(Number(packet.p) / 5)
    await dbs.source.query(`CREATE TABLE wide (id INT PRIMARY KEY, b LONGBLOB, updated_at DATETIME NOT NULL)`)
    for (let i = 1; i <= 6; i++) {
      await dbs.source.query(`INSERT INTO wide VALUES (?, REPEAT(CHAR(?), ?), '2024-01-01')`, [
        i,
        65 + i,
        rowBytes,
      ])
    }
    const res = await sync(`  - name: wide\n    cursor: updated_at\n    batch_size: 10`)
    expect(res.tables[0]).toMatchObject({ rows_read: 6, inserted: 6 })
    await expectEqual('wide')
  })

  it('exits 4 while another run of the same pipeline holds the lock', async () => {
    await dbs.source.query(`CREATE TABLE t (id INT PRIMARY KEY, updated_at DATETIME NOT NULL)`)
    const holder = await openConnection(dbs.targetUrl)
    try {
      await holder.query(`SELECT GET_LOCK('dbsync:locked', 0)`)
      const file = await writeTempPipeline(
        pipelineYaml({
          name: 'locked',
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          tables: '  - name: t\n    cursor: updated_at',
        }),
      )
      const res = await runCli(['sync', '-p', file])
      expect(res.exitCode).toBe(4)
      expect(res.stderr).toMatch(/lock/)
    } finally {
      await holder.end()
    }
  })
})
