import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { loadPipeline } from '../../src/config/load.js'
import type { CapOptions } from '../../src/sync/cap.js'
import { outsideWhere } from '../../src/sync/outside.js'
import { type RunResult, runSync } from '../../src/sync/run.js'
import { writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, openConnection, type TestDbs } from '../support/db.js'
import { ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// Each test reproduces one way rows were lost while every run said "ok" (issue 12). The late transaction
// is started at the exact moment that loses it (right after the run's cap is read, through the cap's
// afterRead seam), never by sleeping and hoping.

async function syncOnce(dbs: TestDbs, tables: string, capOptions?: CapOptions): Promise<RunResult> {
  const file = await writeTempPipeline(
    pipelineYaml({ sourceUrl: dbs.sourceUrl, targetUrl: dbs.targetUrl, tables }),
  )
  const result = await runSync({ pipeline: await loadPipeline(file), ...(capOptions ? { capOptions } : {}) })
  if (process.env.DEBUG12)
    console.log(JSON.stringify(result.tables.map((t) => [t.rowsRead, t.cap, t.lastCursor, t.warnings])))
  expect(result.status, JSON.stringify(result.tables)).toBe('ok')
  return result
}

async function expectEqual(dbs: TestDbs, table: string, key = ['id']): Promise<void> {
  const { source, target } = await expectSameRows(dbs.source, dbs.target, table, key)
  expect(target).toEqual(source)
}

/** Wait until the source clock (session in UTC) is a second past `utc`. */
async function waitForSourceClock(conn: TestDbs['source'], utc: string): Promise<void> {
  for (;;) {
    const [rows] = await conn.query('SELECT NOW(6) >= ? + INTERVAL 1 SECOND AS past', [utc])
    if (Number((rows as Array<{ past: number }>)[0]?.past) === 1) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('late commits on the shared source', () => {
  let dbs: TestDbs
  beforeEach(async () => {
    dbs = await createTestDatabases()
  })
  afterEach(async () => {
    await dbs.drop()
  })

  it.each([
    ['DATETIME', 'datetime', 19],
    ['TIMESTAMP(0)', 'timestamp', 19],
    ['DATETIME(3)', 'datetime(3)', 23],
  ])(
    '%s cursor: a transaction that begins in the cap’s own second is read by the next run',
    async (_label, type, width) => {
      const late = await openConnection(dbs.sourceUrl)
      try {
        // Stamps are written in UTC, the zone the cap of a TIMESTAMP cursor is in.
        for (const c of [dbs.source, late]) await c.query(`SET time_zone = '+00:00'`)
        await dbs.source.query(
          `CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10), updated_at ${type} NOT NULL, KEY (updated_at))`,
        )
        await dbs.source.query(`INSERT INTO p VALUES (1, 'old', '2024-01-01 00:00:00')`)
        const tables = `  - name: p\n    cursor: updated_at`
        await syncOnce(dbs, tables)
        let clock = ''
        await syncOnce(dbs, tables, {
          afterRead: async (cap) => {
            clock = cap.clock.utc
            // What a writer starting right after the cap was read stamps: the cap's own second (or ms).
            const instant = type.startsWith('timestamp') ? cap.clock.utc : cap.clock.serverLocal
            const stamp = instant.slice(0, width)
            // One writer commits at once (larger key), one stays open until the run is over (smaller key).
            await dbs.source.query(`INSERT INTO p VALUES (5, 'quick', ?)`, [stamp])
            await late.query('START TRANSACTION')
            await late.query(`INSERT INTO p VALUES (3, 'late', ?)`, [stamp])
          },
        })
        await late.query('COMMIT')
        // Rows of the cap's own second are read once the source clock has left that second.
        await waitForSourceClock(dbs.source, clock)
        await syncOnce(dbs, tables)
        await expectEqual(dbs, 'p')
      } finally {
        await late.end()
      }
    },
    180_000,
  )

  it('copies rows whose cursor is a zero date or below 1000-01-01, and their later changes', async () => {
    await dbs.source.query(`SET SESSION sql_mode = ''`)
    await dbs.source.query(
      `CREATE TABLE z (id INT PRIMARY KEY, v VARCHAR(10),
         updated_at DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', KEY (updated_at))`,
    )
    await dbs.source.query(`INSERT INTO z VALUES (1, 'a', '2024-01-01 00:00:00')`)
    const tables = `  - name: z\n    cursor: updated_at`
    await syncOnce(dbs, tables)
    await dbs.source.query(`INSERT INTO z (id, v) VALUES (2, 'zero')`)
    await dbs.source.query(`INSERT INTO z VALUES (3, 'ancient', '0001-01-01 00:00:00')`)
    await syncOnce(dbs, tables)
    await expectEqual(dbs, 'z')
    await dbs.source.query(`UPDATE z SET v = 'changed' WHERE id IN (2, 3)`)
    await syncOnce(dbs, tables)
    await expectEqual(dbs, 'z')
  }, 180_000)

  it('re-reads zero TIMESTAMP cursors by a range of the cursor index, not a scan of every row', async () => {
    await dbs.source.query(`SET SESSION sql_mode = '', time_zone = '+00:00'`)
    await dbs.source.query(
      `CREATE TABLE zt (id INT PRIMARY KEY, v VARCHAR(10),
         updated_at TIMESTAMP(6) NOT NULL DEFAULT '0000-00-00 00:00:00', KEY (updated_at))`,
    )
    await dbs.source.query(
      `INSERT INTO zt WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000)
       SELECT n, 'a', '2024-01-01 00:00:00' + INTERVAL n SECOND FROM s`,
    )
    const tables = `  - name: zt\n    cursor: updated_at`
    await syncOnce(dbs, tables)
    await dbs.source.query(`INSERT INTO zt (id, v) VALUES (0, 'zero')`)
    await syncOnce(dbs, tables)
    await expectEqual(dbs, 'zt')
    await dbs.source.query(`UPDATE zt SET v = 'changed' WHERE id = 0`)
    await syncOnce(dbs, tables)
    await expectEqual(dbs, 'zt')
    // The re-read's condition, as a run sends it, reads the zero row and examines no other: against a
    // bound outside TIMESTAMP's range the server compared every row of the table, on every run.
    const where = outsideWhere(
      { expr: '`updated_at`', columns: [{ dataType: 'timestamp' }] },
      "'2030-01-01 00:00:00'",
    )
    await dbs.source.query('FLUSH STATUS')
    const [rows] = await dbs.source.query(`SELECT id FROM zt WHERE ${where} ORDER BY updated_at, id`)
    expect((rows as Array<{ id: number }>).map((r) => r.id)).toEqual([0])
    const [status] = await dbs.source.query(
      `SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_rnd_next')`,
    )
    const examined = (status as Array<{ Value: string }>).reduce((n, r) => n + Number(r.Value), 0)
    expect(examined).toBeLessThan(100)
  }, 180_000)

  it('copies rows stamped ahead of the source clock on every run, and says so', async () => {
    await dbs.source.query(
      `CREATE TABLE f (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6) NOT NULL, KEY (updated_at))`,
    )
    await dbs.source.query(`INSERT INTO f VALUES (1, 'a', '2024-01-01 00:00:00')`)
    const tables = `  - name: f\n    cursor: updated_at`
    await syncOnce(dbs, tables)
    await dbs.source.query(`INSERT INTO f VALUES (2, 'future', '2099-06-01 12:00:00.5')`)
    const run = await syncOnce(dbs, tables)
    await expectEqual(dbs, 'f')
    expect(run.tables[0]!.aboveClock).toEqual({ rows: 1, furthest: '2099-06-01 12:00:00.500000' })
    expect(run.tables[0]!.warnings.join('\n')).toMatch(
      /1 row\(s\) of f have updated_at ahead of the source clock/,
    )
    await dbs.source.query(`UPDATE f SET v = 'edited' WHERE id = 2`)
    await syncOnce(dbs, tables)
    await expectEqual(dbs, 'f')
  }, 180_000)

  it('carries a case-only change of a key under a case-insensitive collation', async () => {
    await dbs.source.query(
      `CREATE TABLE c (code VARCHAR(10) COLLATE utf8mb4_general_ci, region CHAR(2) COLLATE utf8mb4_general_ci,
         v INT, updated_at DATETIME(6) NOT NULL, PRIMARY KEY (code, region), KEY (updated_at))`,
    )
    await dbs.source.query(`INSERT INTO c VALUES ('abc', 'de', 1, '2024-01-01 00:00:00')`)
    const tables = `  - name: c\n    cursor: updated_at`
    await syncOnce(dbs, tables)
    await dbs.source.query(`UPDATE c SET code = 'ABC', region = 'DE', updated_at = '2024-01-02 00:00:00'`)
    await syncOnce(dbs, tables)
    await expectEqual(dbs, 'c', ['code', 'region'])
  }, 180_000)
})

// Servers of their own: an open transaction or a poller on a server holds back every sync on it.
const own = ownServer('a source server of its own in a given system time zone')

own.each([
  ['Asia/Kolkata', 'ahead of'],
  ['America/New_York', 'behind'],
])('a source server whose system time zone is %s (%s UTC)', (tz) => {
  let server: ThrowawayServer
  let dbs: TestDbs
  beforeAll(async () => {
    server = await startServer({ name: `tz-${tz.replace('/', '-')}`, env: { TZ: tz } })
  }, 180_000)
  afterAll(async () => {
    await server?.stop()
  })
  beforeEach(async () => {
    dbs = await createDatabasesOn(server.url, inject('targetUrl'))
    // TIMESTAMP values compare in one zone on both sides (the images are the session's text).
    for (const c of [dbs.source, dbs.target]) await c.query(`SET time_zone = '+00:00'`)
    await dbs.source.query(
      `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10),
         updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (updated_at))`,
    )
    await dbs.source.query(`INSERT INTO t (id, v, updated_at) VALUES (0, 'old', '2024-01-01 00:00:00')`)
    await syncOnce(dbs, tables)
  }, 180_000)
  afterEach(async () => {
    await dbs.drop()
  })
  const tables = `  - name: t\n    cursor: updated_at`

  it('waits for an open transaction, and copies what committed before it began', async () => {
    const slow = await openConnection(dbs.sourceUrl)
    try {
      await dbs.source.query(
        `INSERT INTO t (id, v, updated_at) VALUES (1, 'hour ago', NOW(6) - INTERVAL 1 HOUR)`,
      )
      await slow.query('START TRANSACTION')
      await slow.query(`INSERT INTO t (id, v) VALUES (2, 'slow')`)
      await dbs.source.query(`INSERT INTO t (id, v) VALUES (3, 'fast')`)
      await syncOnce(dbs, tables)
      // Committed an hour before the open transaction began: copied while it is still open.
      const [rows] = await dbs.target.query('SELECT id FROM t ORDER BY id')
      expect((rows as Array<{ id: number }>).map((r) => r.id)).toContain(1)
      await slow.query('COMMIT')
      await syncOnce(dbs, tables)
      await expectEqual(dbs, 't')
    } finally {
      await slow.end()
    }
  }, 180_000)

  it('does not trust a list of open transactions that a 50 ms poller keeps stale', async () => {
    const slow = await openConnection(dbs.sourceUrl)
    const poller = await openConnection(dbs.sourceUrl)
    let polling = true
    let polled!: () => void
    const firstPoll = new Promise<void>((r) => {
      polled = r
    })
    const loop = (async () => {
      while (polling) {
        await poller.query('SELECT COUNT(*) FROM information_schema.INNODB_TRX')
        polled()
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    try {
      // The poller's first read refreshed InnoDB's copy of the list; from now on it stays as it was.
      await firstPoll
      await slow.query('START TRANSACTION')
      await slow.query(`INSERT INTO t (id, v) VALUES (2, 'slow')`)
      await dbs.source.query(`INSERT INTO t (id, v) VALUES (3, 'fast')`)
      await syncOnce(dbs, tables, { freshWithinMs: 1000 })
      polling = false
      await loop
      await slow.query('COMMIT')
      await syncOnce(dbs, tables)
      await expectEqual(dbs, 't')
    } finally {
      polling = false
      await loop.catch(() => undefined)
      await Promise.all([slow.end(), poller.end()])
    }
  }, 180_000)
})
