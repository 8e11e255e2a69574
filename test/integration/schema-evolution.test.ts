import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { columnDefinitions, expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'
import { databaseImage } from '../support/target-image.js'

// One column per widenable kind, a nullability to relax and a NOT NULL column to drop.
const ITEMS = `CREATE TABLE items (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  vc VARCHAR(20) NULL, ch CHAR(4) NULL, vb VARBINARY(8) NULL,
  ti TINYINT NULL, tu TINYINT UNSIGNED NULL, dec_ DECIMAL(6,2) NULL, fl FLOAT NULL,
  tt TINYTEXT NULL, tb TINYBLOB NULL, e ENUM('a','b') NULL, s SET('x','y') NULL,
  dt DATETIME NULL, tm TIME NULL, ts TIMESTAMP NULL DEFAULT NULL,
  nn INT NOT NULL DEFAULT 0,
  legacy VARCHAR(10) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4`

const ITEM_ROWS = `INSERT INTO items VALUES
  (1, 'one', 'v1', 'c1', X'01', 1, 200, 1234.56, 1.5, 't1', X'B1', 'a', 'x', '2024-01-01 10:00:00', '10:00:00', '2024-01-01 10:00:00', 1, 'old1', '2024-01-01 00:00:01'),
  (2, 'two', NULL, NULL, NULL, -1, 0, -0.01, -2.25, NULL, NULL, 'b', 'x,y', NULL, NULL, NULL, 2, 'old2', '2024-01-01 00:00:02'),
  (3, 'three', 'v3', 'c3', X'03', 127, 255, 9999.99, 0, 't3', X'B3', NULL, '', '2024-01-03 00:00:00', '-01:00:00', NULL, 3, 'old3', '2024-01-01 00:00:03')`

const EVOLVE = [
  `ALTER TABLE items
     ADD COLUMN email VARCHAR(255) NULL AFTER name,
     MODIFY vc VARCHAR(200) NULL, MODIFY ch VARCHAR(8) NULL, MODIFY vb VARBINARY(64) NULL,
     MODIFY ti INT NULL, MODIFY tu SMALLINT NULL, MODIFY dec_ DECIMAL(10,4) NULL, MODIFY fl DOUBLE NULL,
     MODIFY tt TEXT NULL, MODIFY tb MEDIUMBLOB NULL, MODIFY e ENUM('a','b','c') NULL, MODIFY s SET('x','y','z') NULL,
     MODIFY dt DATETIME(6) NULL, MODIFY tm TIME(6) NULL, MODIFY ts TIMESTAMP(3) NULL DEFAULT NULL,
     MODIFY nn INT NULL,
     DROP COLUMN legacy,
     ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT 'n/a'`,
  // Values only the widened types can hold, stamped after the first sync's bound (and far below any
  // late-commit cap, which another test's open transaction on the shared source could lower).
  `UPDATE items SET vc = REPEAT('w', 200), ti = 100000, tu = -300, dec_ = 123456.1234, fl = 1e300, nn = NULL,
     e = 'c', s = 'x,z', dt = '2024-02-01 10:00:00.123456', tm = '10:00:00.654321', ts = '2024-02-01 10:00:00.123',
     email = 'one@example.com', tt = REPEAT('t', 1000), tb = REPEAT(X'AB', 70000), updated_at = '2024-06-01 00:00:01'
   WHERE id = 1`,
  `INSERT INTO items (id, name, email, ch, vb, e, nn, note, updated_at)
   VALUES (4, 'four', NULL, 'chchchch', REPEAT(X'CD', 64), 'c', NULL, 'four', '2024-06-01 00:00:02')`,
  'ALTER TABLE clash MODIFY code INT NOT NULL',
  'ALTER TABLE refs DROP COLUMN gone',
  'INSERT INTO refs VALUES (3, 30)',
  'CREATE TABLE fresh (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)',
  "INSERT INTO fresh VALUES (1, '2024-01-01 00:00:00')",
]

const ITEM_CHANGES = [
  'add column email varchar(255)',
  'widen vc varchar(20) -> varchar(200)',
  'widen ch char(4) -> varchar(8)',
  'widen vb varbinary(8) -> varbinary(64)',
  'widen ti tinyint(4) -> int(11)',
  'widen tu tinyint(3) unsigned -> smallint(6)',
  'widen dec_ decimal(6,2) -> decimal(10,4)',
  'widen fl float -> double',
  'widen tt tinytext -> text',
  'widen tb tinyblob -> mediumblob',
  "widen e enum('a','b') -> enum('a','b','c')",
  "widen s set('x','y') -> set('x','y','z')",
  'widen dt datetime -> datetime(6)',
  'widen tm time -> time(6)',
  'widen ts timestamp -> timestamp(3)',
  'make nn nullable',
  'add column note varchar(20)',
  'keep legacy (dropped in the source), now nullable',
]

describe('schema evolution', () => {
  let dbs: TestDbs
  let file: string
  const cli = (...args: string[]) => runCli([...args, '-p', file])

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(ITEMS)
    await dbs.source.query(ITEM_ROWS)
    await dbs.source.query(
      'CREATE TABLE clash (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at))',
    )
    await dbs.source.query("INSERT INTO clash VALUES (1, '10', '2024-01-01'), (2, '20', '2024-01-02')")
    await dbs.source.query('CREATE TABLE refs (id INT PRIMARY KEY, a INT NOT NULL, gone VARCHAR(5) NOT NULL)')
    await dbs.source.query("INSERT INTO refs VALUES (1, 10, 'g1'), (2, 20, 'g2')")
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at',
        tables: '  - name: refs\n    strategy: full_refresh\n    cursor: []\n  - name: "*"',
      }),
    )
    const first = await cli('sync', '--json')
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  it('reports no drift right after a sync', async () => {
    const res = await cli('diff-schema')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout).toContain('items (incremental): no differences')
    expect(res.stdout).toContain('no differences in 3 tables')
  })

  it('reports every change as text, as SQL and as JSON, and exits 1', async () => {
    for (const statement of EVOLVE) await dbs.source.query(statement)

    const text = await cli('diff-schema')
    expect(text.exitCode, text.stderr).toBe(1)
    expect(text.stdout).toContain(
      `items (incremental): ${ITEM_CHANGES.length} differences\n  ${ITEM_CHANGES.join('\n  ')}`,
    )
    expect(text.stdout).toContain(
      'clash (incremental): 1 difference\n  incompatible code: varchar(10) -> int(11) (the type changed)',
    )
    expect(text.stdout).toContain(
      'the next sync fails this table: run dbsync sync --full-refresh --tables clash',
    )
    expect(text.stdout).toContain('fresh (incremental): missing in the target: create table')
    expect(text.stdout).toContain('refs (full_refresh): 1 difference (the next full refresh applies them)')
    expect(text.stdout).toContain('4 of 4 tables differ')

    const sql = await cli('diff-schema', '--sql', '--tables', 'items,fresh,clash')
    expect(sql.exitCode).toBe(1)
    expect(sql.stdout).toContain(
      '-- items\nALTER TABLE `items`\n  ADD COLUMN `email` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT NULL AFTER `name`,\n  MODIFY COLUMN `vc` varchar(200)',
    )
    // MariaDB reports the default quoted ('n/a'); the DDL carries it as a literal once.
    expect(sql.stdout).toContain(
      "ADD COLUMN `note` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT 'n/a' AFTER `updated_at`",
    )
    expect(sql.stdout).toContain(
      'MODIFY COLUMN `legacy` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT NULL;',
    )
    expect(sql.stdout).toContain('-- fresh\nCREATE TABLE `fresh` (')
    expect(sql.stdout).toContain(
      '-- clash: no DDL, the sync fails this table: incompatible code: varchar(10) -> int(11) (the type changed); run dbsync sync --full-refresh --tables clash',
    )
    // fresh has a primary key and no other index: its _dlt_id needs no index of its own, so nothing is left
    // for after the load.
    expect(sql.stdout).not.toContain('_dlt_id_unique')
    expect(sql.stdout).not.toContain('ALTER TABLE `fresh`')
    expect(sql.stdout).not.toMatch(/DROP/)

    const json = await cli('diff-schema', '--json')
    expect(json.exitCode).toBe(1)
    const doc = JSON.parse(json.stdout)
    expect(doc.differs).toBe(true)
    const byName = Object.fromEntries(doc.tables.map((t: { table: string }) => [t.table, t]))
    expect(byName.items.status).toBe('differs')
    expect(byName.items.changes.map((c: { description: string }) => c.description)).toEqual(ITEM_CHANGES)
    expect(byName.items.changes[0]).toMatchObject({ kind: 'add_column', column: 'email', after: 'name' })
    expect(byName.clash).toMatchObject({ status: 'incompatible', sql: [] })
    expect(byName.fresh.status).toBe('missing')
    expect(byName.refs.sql[1]).toMatch(/^CREATE TABLE `_dbsync_stage_[0-9a-f]+`/)
  })

  it('plans the changes without touching the target', async () => {
    const before = await databaseImage(dbs.target)
    const res = await cli('plan', '--json')
    expect(res.exitCode, res.stderr).toBe(1) // clash would fail
    const plan = JSON.parse(res.stdout)
    const byName = Object.fromEntries(plan.tables.map((t: { table: string }) => [t.table, t]))
    expect(byName.items).toMatchObject({
      action: 'schema_changes',
      schema_changes: ITEM_CHANGES,
      pending: { rows: 2, estimated: false },
      last_cursor: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/),
    })
    expect(byName.clash.action).toBe('fails')
    expect(byName.fresh.action).toBe('create_table')
    expect(byName.refs.action).toBe('full_reload')
    const text = await cli('plan')
    expect(text.stdout).toMatch(
      /clash\s+incremental\s+updated_at\s+.*fails: column code changed from varchar\(10\) to int\(11\)/,
    )
    expect(text.stdout).toMatch(
      /items\s+incremental\s+updated_at\s+\d{4}-[\d :.-]+\s+18 schema changes, then 2 rows \(counted\) pending\s+off\n/,
    )
    const listed = [
      'refs: keep gone (dropped in the source), now nullable',
      ...ITEM_CHANGES.map((c) => `items: ${c}`),
    ]
    expect(text.stdout).toContain(`schema changes:\n  ${listed.join('\n  ')}\n\nwarnings:`)
    expect(await databaseImage(dbs.target)).toEqual(before)
  })

  it('applies the changes, fails only the incompatible table, and copies the rows exactly', async () => {
    const res = await cli('sync', '--json')
    expect(res.exitCode, res.stderr).toBe(1)
    const run = JSON.parse(res.stdout)
    const byName = Object.fromEntries(run.tables.map((t: { table: string }) => [t.table, t]))
    expect(byName.items).toMatchObject({ status: 'ok', rows_read: 2, schema_changes: ITEM_CHANGES })
    expect(byName.fresh).toMatchObject({ status: 'ok', schema_changes: ['create table'] })
    expect(byName.refs.status).toBe('ok')
    expect(byName.clash.status).toBe('failed')
    for (const part of [
      'column code',
      'varchar(10)',
      'int(11)',
      'run dbsync sync --full-refresh --tables clash',
    ]) {
      expect(byName.clash.error).toContain(part)
    }
    // The way out is said once, not twice.
    expect(byName.clash.error.split('--full-refresh')).toHaveLength(2)

    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'items', ['id'])
    expect(target).toEqual(source)
    const targetDefs = await columnDefinitions(dbs.target, 'items')
    expect(targetDefs.filter((d) => !d.startsWith('legacy |'))).toEqual(
      await columnDefinitions(dbs.source, 'items'),
    )
    expect(targetDefs).toContain('legacy | varchar(10) | utf8mb4 | utf8mb4_general_ci | YES | ')
    // Rows written since the drop get NULL; rows not rewritten keep their old value.
    const [legacy] = await dbs.target.query('SELECT id, legacy FROM items ORDER BY id')
    expect(legacy).toEqual([
      { id: 1, legacy: null },
      { id: 2, legacy: 'old2' },
      { id: 3, legacy: 'old3' },
      { id: 4, legacy: null },
    ])

    const [runs] = await dbs.target.query(
      'SELECT schema_changes_json FROM _sync_runs ORDER BY started_at DESC LIMIT 1',
    )
    const recorded = JSON.parse((runs as Array<{ schema_changes_json: string }>)[0]!.schema_changes_json)
    expect(recorded.items).toEqual(ITEM_CHANGES)
  })

  it('keeps a column dropped from a full_refresh table, nullable, through the rebuild', async () => {
    const [rows] = await dbs.target.query('SELECT id, a, gone FROM refs ORDER BY id')
    expect(rows).toEqual([
      { id: 1, a: 10, gone: null },
      { id: 2, a: 20, gone: null },
      { id: 3, a: 30, gone: null },
    ])
    expect(await columnDefinitions(dbs.target, 'refs')).toContain(
      'gone | varchar(5) | utf8mb4 | utf8mb4_general_ci | YES | ',
    )
  })

  it('reports no drift once the sync applied the changes and a full refresh rebuilt the incompatible table', async () => {
    const partial = await cli('diff-schema', '--tables', 'items,refs,fresh')
    expect(partial.exitCode, partial.stdout).toBe(0)
    expect((await cli('diff-schema')).exitCode).toBe(1)

    const refresh = await cli('sync', '--full-refresh', '--tables', 'clash')
    expect(refresh.exitCode, refresh.stderr + refresh.stdout).toBe(0)
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'clash', ['id'])
    expect(target).toEqual(source)
    const all = await cli('diff-schema', '--json')
    expect(all.exitCode, all.stdout).toBe(0)
    expect(JSON.parse(all.stdout).differs).toBe(false)
    const again = await cli('sync', '--json')
    expect(again.exitCode, again.stdout).toBe(0)
  })
})
