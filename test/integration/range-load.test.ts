import type { Connection } from 'mysql2/promise'
import { describe, expect, it } from 'vitest'
import { refreshNames } from '../../src/schema/load-ddl.js'
import { rangeLockName } from '../../src/sync/ranges.js'
import { runCli } from '../support/cli.js'
import { expectSameRows } from '../support/compare.js'
import { startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'
import { openConnection } from '../support/db.js'

// One big table's first load in primary-key ranges (sync/range-load.ts): each range read in its own snapshot
// and committed on its own into the staging table, swapped in when every range is done. Small tables with
// small forced ranges, so a loaded two-core machine runs them in seconds.

const count = async (conn: Connection, sqlText: string, params: unknown[] = []) => {
  const [rows] = await conn.query(sqlText, params)
  return Number((rows as Array<{ n: string | number }>)[0]?.n)
}

/** `s(n)`, n = 1..count (up to a million): short recursion, within MySQL's and MariaDB's default limits. */
const numbers = (count: number) =>
  `WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 99),
    s AS (SELECT a.n * 10000 + b.n * 100 + c.n + 1 AS n FROM d a, d b, d c WHERE a.n * 10000 + b.n * 100 + c.n < ${count})`

const tableThere = (conn: Connection, table: string) =>
  count(
    conn,
    'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  )

describe('a first load in key ranges', () => {
  const fx = useScheduleFixture()

  it('copies a composite-key table in ranges while writers change it; the next run makes it bit-exact', async () => {
    const { source, target, sourceUrl } = fx.dbs()
    // Keys of every awkward shape at once: BIGINT UNSIGNED past 2^63 and a case-insensitive string.
    await source.query(`CREATE TABLE orders (
      shard BIGINT UNSIGNED NOT NULL, code VARCHAR(24) COLLATE utf8mb4_general_ci NOT NULL,
      amount DECIMAL(30,10) NOT NULL, note VARCHAR(64) NULL, updated_at DATETIME(6) NOT NULL,
      PRIMARY KEY (shard, code)) DEFAULT CHARSET=utf8mb4`)
    const shard = (n: number) =>
      n % 3 === 0
        ? (18446744073709551615n - BigInt(n % 7)).toString()
        : n % 3 === 1
          ? String(n % 5)
          : (9223372036854775808n + BigInt(n % 11)).toString()
    const code = (n: number) => `${n % 2 === 0 ? 'Ä' : 'a'}${String(n).padStart(7, '0')}`
    await source.query(`INSERT INTO orders
      ${numbers(60000)}
      SELECT CASE n % 3 WHEN 0 THEN 18446744073709551615 - (n % 7) WHEN 1 THEN n % 5 ELSE 9223372036854775808 + (n % 11) END,
        CONCAT(IF(n % 2 = 0, 'Ä', 'a'), LPAD(n, 7, '0')), n * 1.0000000001, IF(n % 10 = 0, NULL, CONCAT('n', n)),
        TIMESTAMP('2024-01-01') + INTERVAL n SECOND FROM s`)
    await source.query('ANALYZE TABLE orders')
    const name = `ranges_a_${process.pid}`
    const file = await fx.pipeline(
      name,
      '  - name: orders\n    parallel: { above_rows: 0, range_rows: 4000, workers: 3 }\n    batch_size: 1000',
    )

    // Writers change and add rows for as long as the first load runs.
    let stop = false
    let writes = 0
    const writer = await openConnection(sourceUrl)
    const writing = (async () => {
      for (let i = 1; !stop; i++) {
        const n = 1 + ((i * 7919) % 60000)
        await writer.query(
          'UPDATE orders SET amount = amount + 1, note = ?, updated_at = NOW(6) WHERE shard = ? AND code = ?',
          [`w${i}`, shard(n), code(n)],
        )
        if (i % 5 === 0) {
          const m = 60000 + i
          await writer.query('INSERT INTO orders VALUES (?, ?, ?, ?, NOW(6))', [
            shard(m),
            code(m),
            i,
            `new${i}`,
          ])
        }
        writes++
      }
    })()
    let first: Awaited<ReturnType<typeof runCli>>
    let during: number
    try {
      const before = writes
      first = await runCli(['--log-format', 'json', '--log-level', 'debug', 'sync', '-p', file], {
        timeoutMs: 240_000,
      })
      during = writes - before
    } finally {
      stop = true
      await writing
      await writer.end()
    }
    expect(first.exitCode, first.stderr).toBe(0)
    expect(during, 'rows were written while the first load ran').toBeGreaterThan(0)
    const plan = first.stderr
      .split('\n')
      .filter((l) => l.includes('"range_load"'))
      .map((l) => JSON.parse(l) as { ranges: number })
    expect(plan[0]?.ranges, 'the load went in key ranges').toBeGreaterThanOrEqual(10)
    const done = first.stderr.split('\n').filter((l) => l.includes('"range_done"')).length
    expect(done).toBe(plan[0]!.ranges)
    expect(await count(target, 'SELECT COUNT(*) AS n FROM _sync_ranges')).toBe(0)
    expect(await tableThere(target, refreshNames('orders').stage)).toBe(0)

    // The next run reads again every row changed since the position fixed before the first range.
    const second = await runCli(['sync', '-p', file], { timeoutMs: 240_000 })
    expect(second.exitCode, second.stderr).toBe(0)
    const { source: a, target: b } = await expectSameRows(source, target, 'orders', ['shard', 'code'])
    expect(b.length).toBe(a.length)
    expect(b).toEqual(a)
  }, 300_000)

  it('rebuilds an existing table in ranges with --full-refresh: deletes show, target-only columns stay', async () => {
    const { source, target } = fx.dbs()
    await source.query(`CREATE TABLE items (
      sku VARCHAR(20) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, qty INT NOT NULL, updated_at DATETIME(6) NOT NULL)`)
    await source.query(`INSERT INTO items
      ${numbers(30000)}
      SELECT CONCAT(IF(n % 2 = 0, 'B', 'a'), LPAD(n, 8, '0')), n, TIMESTAMP('2024-01-01') + INTERVAL n SECOND FROM s`)
    await source.query('ANALYZE TABLE items')
    const name = `ranges_c_${process.pid}`
    const file = await fx.pipeline(
      name,
      '  - name: items\n    parallel: { above_rows: 0, range_rows: 3000, workers: 2 }\n    batch_size: 1000',
    )
    const first = await runCli(['sync', '-p', file], { timeoutMs: 240_000 })
    expect(first.exitCode, first.stderr).toBe(0)
    // A column only the target has is kept through the rebuild (schema handling never drops).
    await target.query('ALTER TABLE items ADD COLUMN local_note VARCHAR(10) NULL')
    await source.query(
      'DELETE FROM items WHERE qty % 1000 = 0; UPDATE items SET qty = -qty WHERE qty % 777 = 0',
    )
    const refresh = await runCli(['--log-format', 'json', 'sync', '-p', file, '--full-refresh'], {
      timeoutMs: 240_000,
    })
    expect(refresh.exitCode, refresh.stderr).toBe(0)
    const plan = refresh.stderr
      .split('\n')
      .filter((l) => l.includes('"range_load"'))
      .map((l) => JSON.parse(l) as { kind: string; ranges: number })
    expect(plan[0]).toMatchObject({ kind: 'full_refresh' })
    expect(plan[0]!.ranges).toBeGreaterThanOrEqual(5)
    const { source: a, target: b } = await expectSameRows(source, target, 'items', ['sku'])
    expect(b.length).toBe(30000 - 30)
    expect(b).toEqual(a)
    expect(
      await count(
        target,
        "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND COLUMN_NAME = 'local_note'",
      ),
    ).toBe(1)
    expect(await count(target, 'SELECT COUNT(*) AS n FROM _sync_ranges WHERE pipeline = ?', [name])).toBe(0)
    // The next incremental run carries on from the refresh's position: nothing pending, nothing changed.
    const after = await runCli(['sync', '-p', file, '--json'], { timeoutMs: 240_000 })
    expect(after.exitCode, after.stderr).toBe(0)
    expect(JSON.parse(after.stdout).tables[0]).toMatchObject({ table: 'items', status: 'ok', rows_read: 0 })
  }, 300_000)

  it('two instances load one table; the one stuck in its last range is killed, and a restarted run resumes it', async () => {
    const { source, target, targetUrl } = fx.dbs()
    // 198 boundaries of 1000 rows: 199 ranges, the last (the highest ids: n = 1..500) half as big. Many small
    // ranges keep the first instance busy long enough for the second to start and join in.
    const ROWS = 198_500
    await source.query(`CREATE TABLE big (
      id BIGINT UNSIGNED NOT NULL PRIMARY KEY, pad VARCHAR(200) NOT NULL, updated_at DATETIME(6) NOT NULL)`)
    await source.query(`INSERT INTO big
      ${numbers(ROWS)}
      SELECT 18446744073709551615 - n, CONCAT(REPEAT('x', n % 150), n), TIMESTAMP('2024-01-01') + INTERVAL n SECOND FROM s`)
    await source.query('ANALYZE TABLE big')
    const name = `ranges_b_${process.pid}`
    const table = (workers: number) =>
      `  - name: big\n    parallel: { above_rows: 0, range_rows: 1000, workers: ${workers} }\n    batch_size: 500`
    const fileA = await fx.pipeline(name, table(1), 'workers: shared')
    const fileB = await fx.pipeline(name, table(2), 'workers: shared')
    const { stage } = refreshNames('big')

    // Readers never see the table half-loaded: whenever it is there, it is whole.
    const watcher = await openConnection(targetUrl)
    const seen: number[] = []
    let watching = true
    const watch = (async () => {
      while (watching) {
        if (await tableThere(watcher, 'big')) seen.push(await count(watcher, 'SELECT COUNT(*) AS n FROM big'))
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    const lockConn = await openConnection(targetUrl)
    const rowConn = await openConnection(targetUrl)
    try {
      const a = startDaemon(['sync', '-p', fileA], { DBSYNC_INSTANCE: 'inst-a' })
      const ranges = await waitFor(
        'the range plan',
        async () =>
          (await count(target, 'SELECT COUNT(*) AS n FROM _sync_ranges WHERE pipeline = ?', [name])) ||
          undefined,
        120_000,
      )
      const last = ranges - 1
      // Keep the last range for later: its lock held here, its _sync_ranges row locked so that whoever loads
      // it stops right before marking it done, with every one of its rows committed in the staging table.
      await lockConn.query('SELECT GET_LOCK(?, 0)', [rangeLockName(name, 'big', last)])
      await rowConn.query('START TRANSACTION')
      await rowConn.query(
        "SELECT * FROM _sync_ranges WHERE pipeline = ? AND table_name = 'big' AND range_no = ? FOR UPDATE",
        [name, last],
      )

      // A second instance joins: the table is held by the first, so it loads pending ranges alongside it.
      const b = startDaemon(['sync', '-p', fileB], { DBSYNC_INSTANCE: 'inst-b' })
      expect(await b.exit, b.stderr()).toBe(0)
      const byB = await count(
        target,
        `SELECT COUNT(*) AS n FROM _sync_ranges WHERE pipeline = ? AND status = 'done' AND loaded_by = 'inst-b'`,
        [name],
      )
      expect(byB, 'the second instance loaded ranges').toBeGreaterThan(0)
      expect(await tableThere(target, 'big')).toBe(0)

      // Let the first instance at the last range, and wait until it is stuck marking it done.
      await lockConn.query('DO RELEASE_LOCK(?)', [rangeLockName(name, 'big', last)])
      const blocked = await waitFor(
        'the last range loaded, waiting to be marked done',
        async () => {
          const [rows] = await target.query(
            `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE 'update \`_sync_ranges\`%' AND ID <> CONNECTION_ID()`,
          )
          return (rows as Array<{ id: number }>)[0]?.id
        },
        120_000,
      )
      a.child.kill('SIGKILL')
      await a.exit
      // The server has not noticed the dead client's statement waiting on a lock: end it, as it would.
      await target.query(`KILL ${Number(blocked)}`)
      // Rows of the killed range change in the source before it is loaded again: one deleted, one updated.
      await source.query('DELETE FROM big WHERE id = 18446744073709551615 - 1')
      await source.query(
        `UPDATE big SET pad = 'changed', updated_at = NOW(6) WHERE id = 18446744073709551615 - 2`,
      )
      await rowConn.query('ROLLBACK')
      expect(await tableThere(target, 'big')).toBe(0)
      const pending = await count(
        target,
        `SELECT COUNT(*) AS n FROM _sync_ranges WHERE pipeline = ? AND status = 'pending'`,
        [name],
      )
      expect(pending).toBe(1)
      // Its rows were committed before the kill: the resumed range must replace them, not add to them.
      expect(
        await count(target, `SELECT COUNT(*) AS n FROM \`${stage}\` WHERE id >= 18446744073709551615 - 500`),
      ).toBe(500)

      // `status` tells how far the load is.
      const st = await runCli(['status', '-p', fileA, '--json'])
      const row = (JSON.parse(st.stdout) as { tables: Array<{ table: string; key_ranges: unknown }> }).tables
      expect(row.find((t) => t.table === 'big')?.key_ranges).toEqual({ done: ranges - 1, total: ranges })

      // A restarted instance takes the table, loads the killed range again and swaps the table in.
      const c = await runCli(['sync', '-p', fileA], {
        env: { DBSYNC_INSTANCE: 'inst-c' },
        timeoutMs: 240_000,
      })
      expect(c.exitCode, c.stderr).toBe(0)
    } finally {
      watching = false
      await watch
      await Promise.all([watcher.end(), lockConn.end(), rowConn.end()])
    }
    const total = await count(source, 'SELECT COUNT(*) AS n FROM big')
    expect(total).toBe(ROWS - 1)
    expect(
      seen.every((n) => n === total),
      `counts seen while loading: ${[...new Set(seen)]}`,
    ).toBe(true)
    const { source: a, target: b } = await expectSameRows(source, target, 'big', ['id'])
    expect(b.length).toBe(total)
    expect(b).toEqual(a)
    expect(await count(target, 'SELECT COUNT(*) AS n FROM _sync_ranges WHERE pipeline = ?', [name])).toBe(0)
    expect(await tableThere(target, stage)).toBe(0)
  }, 420_000)
})
