import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pendingRows } from '../../src/cli/commands/plan.js'
import { loadPipeline } from '../../src/config/load.js'
import { resolveTables } from '../../src/config/select.js'
import { introspect } from '../../src/schema/introspect.js'
import { connectPair } from '../../src/sync/run.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'
import { databaseImage } from '../support/target-image.js'

const SETUP = [
  `CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2) NOT NULL, updated_at DATETIME(6) NOT NULL,
     KEY by_updated (updated_at))`,
  `INSERT INTO orders VALUES (1, 1.00, '2024-01-01 00:00:01'), (2, 2.00, '2024-01-01 00:00:02'),
     (3, 3.00, '2024-01-01 00:00:03')`,
  // No index on the cursor, and a nullable cursor.
  'CREATE TABLE logs (id INT PRIMARY KEY, msg VARCHAR(20), changed_at TIMESTAMP(6) NULL DEFAULT NULL)',
  "INSERT INTO logs VALUES (1, 'a', '2024-01-01 00:00:00'), (2, 'b', NULL)",
  'CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50) NOT NULL)',
  "INSERT INTO countries VALUES ('de', 'Germany'), ('fr', 'France')",
]

const TABLES = `  - name: orders
    deletes: detect
  - name: logs
    cursor: changed_at
  - name: countries
    strategy: full_refresh
    cursor: []`

interface Row {
  table: string
  action: string
  summary: string
  last_cursor: string | null
  pending: { rows: number; estimated: boolean } | null
  deletes: boolean
  warnings: string[]
}

describe('plan', () => {
  let dbs: TestDbs
  let file: string
  const user = `dbsync_t_${randomBytes(4).toString('hex')}`
  const byTable = (stdout: string): Record<string, Row> =>
    Object.fromEntries((JSON.parse(stdout).tables as Row[]).map((t) => [t.table, t]))

  beforeAll(async () => {
    dbs = await createTestDatabases()
    for (const s of SETUP) await dbs.source.query(s)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at',
        tables: TABLES,
      }),
    )
  })
  afterAll(async () => {
    await dbs?.source.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await dbs?.drop()
  })

  it('writes nothing to a fresh target, not even the state tables', async () => {
    const before = await databaseImage(dbs.target)
    expect(before.tables).toEqual([])
    const res = await runCli(['plan', '-p', file])
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout).toMatch(/^table\s+strategy\s+cursor\s+last cursor\s+action\s+deletes check\n/)
    expect(res.stdout).toMatch(
      /orders\s+incremental\s+updated_at\s+-\s+create table, then load 3 rows \(counted\)\s+on\n/,
    )
    expect(res.stdout).toMatch(
      /countries\s+full_refresh\s+-\s+-\s+create table, then load 2 rows \(counted\)\s+off\n/,
    )
    expect(res.stdout).toContain('nothing was changed')
    expect(await databaseImage(dbs.target)).toEqual(before)
  })

  it('shows the saved cursor, up-to-date tables and counted pending rows, and leaves the target as it was', async () => {
    const sync = await runCli(['sync', '-p', file])
    expect(sync.exitCode, sync.stderr).toBe(0)
    const settled = byTable((await runCli(['plan', '-p', file, '--json'])).stdout)
    const [[bound]] = (await dbs.target.query(
      "SELECT last_cursor AS c FROM _sync_state WHERE table_name = 'orders'",
    )) as unknown as [[{ c: string }]]
    expect(settled.orders).toMatchObject({
      action: 'up_to_date',
      summary: 'up to date',
      last_cursor: bound.c,
    })
    expect(settled.countries).toMatchObject({
      action: 'full_reload',
      summary: 'full reload of 2 rows (counted)',
    })

    // Stamped after the saved position and far below any late-commit cap.
    await dbs.source.query(
      "INSERT INTO orders VALUES (4, 4.00, '2024-06-01 00:00:04'), (5, 5.00, '2024-06-01 00:00:05')",
    )
    await dbs.source.query("UPDATE orders SET total = 9, updated_at = '2024-06-01 00:00:01' WHERE id = 1")
    const before = await databaseImage(dbs.target)
    const res = await runCli(['plan', '-p', file, '--json'])
    expect(res.exitCode, res.stderr).toBe(0)
    const plan = byTable(res.stdout)
    expect(plan.orders).toMatchObject({
      action: 'rows_pending',
      summary: '3 rows (counted) pending',
      pending: { rows: 3, estimated: false },
      deletes: true,
    })
    expect(plan.logs?.deletes).toBe(false)
    expect(await databaseImage(dbs.target)).toEqual(before)
  })

  it('warns about a cursor without an index and a nullable cursor', async () => {
    const res = await runCli(['plan', '-p', file])
    expect(res.stdout).toContain(
      'warnings:\n' +
        '  logs: cursor column "changed_at" has no index that starts with it, so each run scans the whole table\n' +
        '  logs: cursor column "changed_at" is nullable, so rows with NULL cursor are re-read on every run',
    )
    expect(res.stdout).not.toMatch(/orders: /)
  })

  it('warns that the late-commit cap is unavailable without the PROCESS privilege', async () => {
    await dbs.source.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`)
    await dbs.source.query(`GRANT SELECT ON \`${dbs.sourceDb}\`.* TO '${user}'@'%'`)
    const url = new URL(dbs.sourceUrl)
    url.username = user
    url.password = 'pw'
    const limited = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: url.toString(),
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at',
        tables: TABLES,
      }),
    )
    const res = await runCli(['plan', '-p', limited, '--json'])
    expect(res.exitCode, res.stderr).toBe(0)
    const doc = JSON.parse(res.stdout)
    expect(doc.late_commit_cap).toBe(false)
    expect(byTable(res.stdout).orders?.warnings).toEqual([
      expect.stringMatching(/^late-commit cap unavailable: .*needs the PROCESS privilege/),
    ])
  })

  it('estimates pending rows from EXPLAIN above the count limit', async () => {
    const pipeline = await loadPipeline(file)
    const pair = await connectPair(pipeline)
    try {
      const defs = await introspect(pair.source)
      const [orders] = resolveTables(pipeline, [...defs.keys()], ['orders']).tables
      // Rows 1, 4 and 5 were stamped after the first load; 3 sits on the saved value itself.
      const state = {
        phase: 'incremental',
        lastCursor: '2024-01-01 00:00:03.000000',
        lastKey: null,
      } as Parameters<typeof pendingRows>[4]
      const counted = await pendingRows(pair, orders!, defs.get('orders')!, true, state)
      expect(counted).toEqual({ rows: 4, estimated: false })
      const estimated = await pendingRows(pair, orders!, defs.get('orders')!, true, state, -1)
      expect(estimated?.estimated).toBe(true)
      expect(estimated?.rows).toBeGreaterThanOrEqual(1)
    } finally {
      await Promise.all([pair.source.close(), pair.target.close()])
    }
  })

  it('says a big table loads in key ranges through a staging table, and sync then loads it so', async () => {
    await dbs.source.query(
      'CREATE TABLE big (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, KEY by_updated (updated_at))',
    )
    try {
      const values = Array.from({ length: 50 }, (_, i) => `(${i + 1}, '2024-01-01 00:00:01')`)
      await dbs.source.query(`INSERT INTO big VALUES ${values.join(', ')}`)
      await dbs.source.query('ANALYZE TABLE big')
      const bigFile = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          defaults: '  cursor: updated_at',
          tables: '  - name: big\n    parallel: { above_rows: 0, range_rows: 10, workers: 2 }',
        }),
      )
      const res = await runCli(['plan', '-p', bigFile, '--json'])
      expect(res.exitCode, res.stderr).toBe(0)
      expect(byTable(res.stdout).big?.summary).toMatch(
        /^create table by loading 50 rows \(counted\) in ~\d+ key ranges of 10 rows, into a staging table swapped in with RENAME$/,
      )
      const sync = await runCli(['sync', '-p', bigFile, '--log-format', 'json'])
      expect(sync.exitCode, sync.stderr).toBe(0)
      expect(sync.stderr).toContain('"event":"range_load"')
    } finally {
      await dbs.source.query('DROP TABLE IF EXISTS big')
      await dbs.target.query('DROP TABLE IF EXISTS big')
    }
  })
})
