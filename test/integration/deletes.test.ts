import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml, rowIdMismatches } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

const BIG_DDL = `CREATE TABLE big (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(40) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00',
  KEY (updated_at)
)`
const DIGITS =
  'CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)'
// 100,000 rows in one statement: a cross join of five digit tables.
const BIG_ROWS = `INSERT INTO big (id, v)
  SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1, CONCAT('value ', a.d, b.d, c.d, e.d, f.d)
    FROM digits a, digits b, digits c, digits e, digits f`
// At the start, in the middle (across the 50,000 chunk boundary) and at the end of the key range.
const DELETED = [1, 2, 3, 49_998, 49_999, 50_000, 50_001, 50_002, 77_777, 99_999, 100_000]

interface SyncTable {
  table: string
  status: string
  deleted: number
  rows_read: number
}

describe('deletes: detect removes target rows whose key left the source', () => {
  let dbs: TestDbs
  let file: string
  let firstLoad: string

  const sync = async () => {
    const r = await runCli(['sync', '-p', file, '--json'], { timeoutMs: 120_000 })
    expect(r.exitCode, r.stderr).toBe(0)
    return { ...(JSON.parse(r.stdout) as { load_id: string; tables: SyncTable[] }), stderr: r.stderr }
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(`${DIGITS}; ${BIG_DDL}; ${BIG_ROWS}`)
    await dbs.source.query(`CREATE TABLE tags (
        name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,
        n INT NOT NULL,
        updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00');
      INSERT INTO tags (name, n) VALUES ('abc', 1), ('def', 2), ('ghi', 3)`)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: updated_at\n  deletes: detect',
        tables: '  - name: big\n  - name: tags',
      }),
    )
    const first = await sync()
    firstLoad = first.load_id
    expect(first.tables.map((t) => [t.table, t.rows_read, t.deleted])).toEqual([
      ['big', 100_000, 0],
      ['tags', 3, 0],
    ])
    // The first load went through LOAD DATA, its ids computed from the row packets.
    expect(await rowIdMismatches(dbs.target, 'big', 'id')).toBe(0)
  }, 180_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('deletes rows removed at the start, middle and end of a 100k-row table, and touches nothing else', async () => {
    await dbs.source.query(`DELETE FROM big WHERE id IN (${DELETED.join(', ')})`)
    // A cursor value far below any late-commit cap: the server's clock would let another test's open
    // transaction on the shared source hold the row back for a run, by design.
    await dbs.source.query("UPDATE big SET v = 'changed', updated_at = '2024-06-01' WHERE id = 60000")
    const started = Date.now()
    const run = await sync()
    const seconds = (Date.now() - started) / 1000
    const big = run.tables.find((t) => t.table === 'big')!
    // The log on stderr says whether a retry happened, should this ever fail again.
    expect(big, `${JSON.stringify(big)}\n${run.stderr}`).toMatchObject({
      status: 'ok',
      deleted: DELETED.length,
      rows_read: 1,
    })
    process.stderr.write(`deletes: sync with delete detection of 100k rows took ${seconds.toFixed(1)} s\n`)

    const [left] = await dbs.target.query(`SELECT id FROM big WHERE id IN (${DELETED.join(', ')})`)
    expect(left).toEqual([])
    // Every other row is exactly as the source has it, and only the changed row was written again.
    const [counts] = await dbs.target.query(
      'SELECT COUNT(*) AS n, SUM(_dlt_load_id = ?) AS untouched FROM big',
      [firstLoad],
    )
    expect(counts).toEqual([
      { n: String(100_000 - DELETED.length), untouched: String(100_000 - DELETED.length - 1) },
    ])
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'big', ['id'])
    expect(target).toEqual(source)

    const again = await sync()
    expect(again.tables.find((t) => t.table === 'big')).toMatchObject({ deleted: 0, rows_read: 0 })
  })

  it('keeps a target key the source holds under its collation (another case), deleting only the gone one', async () => {
    // The upsert keeps the target's 'abc': ON DUPLICATE KEY UPDATE never rewrites the key.
    await dbs.source.query(`UPDATE tags SET name = 'ABC', updated_at = '2024-06-02' WHERE name = 'abc';
      DELETE FROM tags WHERE name = 'ghi'`)
    const run = await sync()
    expect(run.tables.find((t) => t.table === 'tags')).toMatchObject({ status: 'ok', deleted: 1, updated: 1 })
    const [rows] = await dbs.target.query('SELECT LOWER(name) AS name, n FROM tags ORDER BY name')
    expect(rows).toEqual([
      { name: 'abc', n: 1 },
      { name: 'def', n: 2 },
    ])
  })

  it('records the deleted count in _sync_runs', async () => {
    const [rows] = await dbs.target.query('SELECT * FROM _sync_runs ORDER BY started_at')
    const text = JSON.stringify(rows)
    expect(text).toMatch(/\\?"deleted\\?":\s*11/)
  })
})
