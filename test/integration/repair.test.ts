import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, openConnection, type TestDbs } from '../support/db.js'

const ITEMS_DDL = `CREATE TABLE items (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(40) COLLATE utf8mb4_general_ci NULL,
  n DECIMAL(20,6) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00',
  KEY (updated_at)
)`
const DIGITS =
  'CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)'
// 30,000 rows: three chunks of 10,000 (ids 1-10000, 10001-20000, 20001-30000). Every 1000th row from id 8
// on has a NULL value.
const ITEMS_ROWS = `INSERT INTO items (id, v, n)
  SELECT k, IF(k % 1000 = 8, NULL, CONCAT('value ', k)), k / 7 FROM (
    SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1 AS k
      FROM digits a, digits b, digits c, digits e, digits f) x WHERE k <= 30000`

interface Repair {
  method: string
  chunks_compared: number
  chunks_repaired: number
  chunks_pending: number
  rows_deleted: number
  rows_inserted: number
  rows_updated: number
  extra_rows_kept: number
}
interface SyncTable {
  table: string
  status: string
  deleted: number
  repair?: Repair
}

describe('sync --repair re-copies exactly the rows of the chunks that differ', () => {
  let dbs: TestDbs
  let file: string
  let firstLoad: string

  const sync = async (...args: string[]) => {
    const r = await runCli(['sync', '-p', file, '--json', ...args], { timeoutMs: 170_000 })
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { load_id: string; tables: SyncTable[] }
    return { ...out, table: (name: string) => out.tables.find((t) => t.table === name)! }
  }
  const expectEqual = async (table: string, key: string[]) => {
    const { source, target } = await expectSameRows(dbs.source, dbs.target, table, key)
    expect(target).toEqual(source)
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(`${DIGITS}; ${ITEMS_DDL}; ${ITEMS_ROWS}`)
    await dbs.source.query(`CREATE TABLE tags (
        name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,
        n INT NOT NULL,
        updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00');
      INSERT INTO tags (name, n) VALUES ('abc', 1), ('def', 2), ('ghi', 3);
      CREATE TABLE notes (body VARCHAR(20) NULL, n INT NULL);
      INSERT INTO notes VALUES ('a', 1), ('a', 1), ('b', NULL), (NULL, 3)`)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: [
          '  - name: items\n    cursor: updated_at\n    deletes: detect',
          '  - name: tags\n    cursor: updated_at',
          '  - name: notes\n    strategy: full_refresh',
        ].join('\n'),
      }),
    )
    firstLoad = (await sync()).load_id
  }, 180_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('repairs hand edits, deletes and cursor-less source changes, touching only differing rows', async () => {
    // The target, damaged by hand in the first and last chunks; the middle chunk is left alone.
    await dbs.target.query(`UPDATE items SET v = 'hand edit' WHERE id = 5;
      UPDATE items SET v = '' WHERE id = 8;
      UPDATE items SET v = CONCAT(v, ' ') WHERE id = 9;
      UPDATE items SET v = UPPER(v) WHERE id = 10;
      DELETE FROM items WHERE id = 25000;
      INSERT INTO items (id, v, n, updated_at, _dlt_load_id, _dlt_id) VALUES (30001, 'x', 1, NOW(), 'hand', 'hand')`)
    // The source: a cursor moved backwards and an UPDATE that leaves the cursor alone (neither is seen
    // by an incremental sync), and a normal change the sync itself copies.
    await dbs.source.query(`UPDATE items SET v = 'moved back', updated_at = '2023-01-01' WHERE id = 20005;
      UPDATE items SET n = n + 1 WHERE id = 20006;
      UPDATE items SET v = 'normal', updated_at = '2024-06-01' WHERE id = 12`)
    const run = await sync('--repair')
    const items = run.table('items')
    expect(items).toMatchObject({
      status: 'ok',
      deleted: 1,
      repair: {
        method: 'chunks',
        chunks_repaired: 2,
        rows_inserted: 1,
        rows_updated: 6,
        rows_deleted: 0,
      },
    })
    await expectEqual('items', ['id'])
    // Untouched rows keep the first load's id: the middle chunk entirely, and the equal rows elsewhere.
    const [written] = await dbs.target.query('SELECT id FROM items WHERE _dlt_load_id <> ? ORDER BY id', [
      firstLoad,
    ])
    expect((written as Array<{ id: number }>).map((r) => r.id)).toEqual([
      5, 8, 9, 10, 12, 20005, 20006, 25000,
    ])
    expect(run.table('notes').repair).toMatchObject({ method: 'refresh' })

    // Converged: the next repair finds nothing.
    const again = await sync('--repair')
    expect(again.table('items').repair).toMatchObject({ chunks_repaired: 0, rows_updated: 0 })
  }, 180_000)

  it('restores a key stored in another case, keeps extra rows under deletes: ignore, refreshes a keyless table', async () => {
    await dbs.target.query(`UPDATE tags SET name = 'ABC' WHERE name = 'abc';
      INSERT INTO tags (name, n, updated_at, _dlt_load_id, _dlt_id) VALUES ('zzz', 9, NOW(), 'hand', 'hand');
      DELETE FROM notes WHERE body = 'a' LIMIT 1; UPDATE notes SET n = NULL WHERE n = 3`)
    const run = await sync('--repair')
    expect(run.table('tags').repair).toMatchObject({
      chunks_repaired: 1,
      rows_inserted: 1,
      rows_deleted: 0,
      extra_rows_kept: 1,
    })
    const [tags] = await dbs.target.query('SELECT HEX(name) AS name, n FROM tags ORDER BY name')
    expect(tags).toEqual(
      ['abc', 'def', 'ghi', 'zzz'].map((name, i) => ({
        name: Buffer.from(name).toString('hex').toUpperCase(),
        n: [1, 2, 3, 9][i],
      })),
    )
    await expectEqual('notes', ['body', 'n'])
  }, 180_000)

  it('says what repair does per table in plan --repair, and refuses --repair with a schedule', async () => {
    const scheduled = await runCli(['sync', '-p', file, '--repair', '--every', '1m'])
    expect(scheduled.exitCode).toBe(2)
    expect(scheduled.stderr).toContain('--repair cannot be combined with a schedule')
    const plan = await runCli(['plan', '-p', file, '--repair'], { timeoutMs: 120_000 })
    expect(plan.exitCode, plan.stderr).toBe(0)
    expect(plan.stdout).toMatch(/repair:[\s\S]*items: compare chunk by chunk/)
    expect(plan.stdout).toMatch(/notes: full refresh/)
  }, 180_000)

  it('validate --data prints the exact repair command, and running it makes the data consistent', async () => {
    await dbs.target.query("UPDATE items SET v = 'edited again' WHERE id = 15000")
    const check = await runCli(['validate', '-p', file, '--data', '--tables', 'items', '--json'], {
      timeoutMs: 120_000,
    })
    expect(check.exitCode, check.stderr).toBe(1)
    const command = (JSON.parse(check.stdout) as { data: { repair_command: string } }).data.repair_command
    expect(command).toBe(`dbsync sync --repair -p ${file} --tables items`)
    const text = await runCli(['validate', '-p', file, '--data', '--tables', 'items'], { timeoutMs: 120_000 })
    expect(text.stdout).toContain(`to repair: ${command}`)
    const repaired = await runCli(command.split(' ').slice(1), { timeoutMs: 170_000 })
    expect(repaired.exitCode, repaired.stderr).toBe(0)
    const after = await runCli(['validate', '-p', file, '--data', '--tables', 'items', '--json'], {
      timeoutMs: 120_000,
    })
    expect(after.exitCode, after.stdout).toBe(0)
    expect(JSON.parse(after.stdout).data.repair_command).toBeNull()
  }, 180_000)

  it('repairs a column added to the source and backfilled without moving the cursor; _sync_runs records it', async () => {
    await dbs.source.query(
      'ALTER TABLE items ADD COLUMN w INT NULL; UPDATE items SET w = id % 7 WHERE id <= 15000',
    )
    const run = await sync('--repair')
    const items = run.table('items') as SyncTable & { schema_changes: string[] }
    expect(items.schema_changes.join('; ')).toContain('w')
    // The backfill touched the first two chunks only: the third keeps its rows as they were.
    expect(items.repair).toMatchObject({ chunks_repaired: 2, rows_updated: 15_000, rows_inserted: 0 })
    await expectEqual('items', ['id'])
    const [runs] = await dbs.target.query('SELECT tables_json FROM _sync_runs WHERE load_id = ?', [
      run.load_id,
    ])
    const recorded = JSON.parse((runs as Array<{ tables_json: string }>)[0]!.tables_json)
    expect(recorded.items.repair).toMatchObject({
      method: 'chunks',
      chunks_repaired: 2,
      rows_updated: 15_000,
    })
  }, 180_000)

  it('never makes the target older: writers keep changing the rows being repaired', async () => {
    // Damage every 50th row of the target, then let writers change every other one of them (and add and
    // delete rows) while the repair runs: the repair rewrites rows next to the ones being written.
    await dbs.target.query("UPDATE items SET v = 'damaged' WHERE id % 50 = 0")
    const writer = await openConnection(dbs.sourceUrl)
    let stop = false
    let writes = 0
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        const id = 100 * (1 + (i % 300))
        await writer.query(
          `UPDATE items SET v = CONCAT('w', ?), n = n + 1, updated_at = NOW(6) WHERE id = ?;
           INSERT INTO items (id, v, n, updated_at) VALUES (?, 'new', 1, NOW(6));
           DELETE FROM items WHERE id = ?`,
          [i, id, 40_000 + i, 1 + 50 * (i % 600)],
        )
        writes++
      }
    })()
    try {
      const run = await sync('--repair')
      expect(run.table('items').repair!.chunks_repaired).toBeGreaterThan(0)
    } finally {
      stop = true
      await writing
      await writer.end()
    }
    expect(writes).toBeGreaterThan(0)
    await sync()
    await expectEqual('items', ['id'])
  }, 180_000)
})
