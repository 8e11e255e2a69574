import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// 25,000 rows: three chunks of the default 10,000, so boundaries and bisection are exercised.
const ITEMS_DDL = `CREATE TABLE items (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL,
  price DECIMAL(12,2) NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00',
  KEY (updated_at)
)`
const DIGITS =
  'CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)'
const ITEMS_ROWS = `INSERT INTO items (id, name, price)
  SELECT n, CONCAT('item ', n), n / 100 FROM (
    SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1 AS n
      FROM digits a, digits b, digits c, digits e, digits f) x
  WHERE n <= 25000`

interface TableReport {
  table: string
  rule: string
  status: string
  source_rows: number
  target_rows: number
  chunks: number
  pending: number
  counts: { missing: number; extra: number; differing: number }
  missing: Array<Record<string, string>>
  extra: Array<Record<string, string>>
  differing: Array<{ key: Record<string, string>; columns: string[] }>
}

describe('validate --data compares contents by chunked checksums', () => {
  let dbs: TestDbs
  let file: string

  const validate = async (...extra: string[]) => runCli(['validate', '-p', file, '--data', ...extra])
  const report = async (table: string) => {
    const r = await validate('--json', '--tables', table)
    if (!r.stdout) throw new Error(`exit ${r.exitCode}: ${r.stderr}`)
    const doc = JSON.parse(r.stdout) as { data: { consistent: boolean; tables: TableReport[] } }
    return { exitCode: r.exitCode, stderr: r.stderr, doc: doc.data, t: doc.data.tables[0]! }
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(`${DIGITS}; ${ITEMS_DDL}; ${ITEMS_ROWS}`)
    await dbs.source.query(`CREATE TABLE nokey (a INT, b VARCHAR(10));
      INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, NULL)`)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: [
          '  - name: items',
          '    cursor: updated_at',
          '  - name: nokey',
          '    strategy: full_refresh',
          '  - name: digits',
          '    exclude: true',
        ].join('\n'),
      }),
    )
    const sync = await runCli(['sync', '-p', file, '--json'])
    expect(sync.exitCode, sync.stderr).toBe(0)
  }, 240_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('exits 0 when the target is untouched after a sync', async () => {
    const r = await validate()
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toMatch(/items: consistent/)
    expect(r.stdout).toMatch(/rows: source 25000, target 25000; 3 chunks checked, 0 differing; 0 pending/)
    expect(r.stdout).toMatch(
      /nokey: consistent\n {2}rule: no primary key: row count and whole-table checksum only/,
    )
    expect(r.stdout).toMatch(/data consistent \(2 tables/)
  })

  it('prints one JSON document with a rule per table', async () => {
    const r = await validate('--json')
    expect(r.exitCode).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.valid).toBe(true)
    expect(doc.data.consistent).toBe(true)
    expect(doc.data.tables.map((t: TableReport) => [t.table, t.rule, t.status])).toEqual([
      ['items', 'incremental', 'consistent'],
      ['nokey', 'no_key', 'consistent'],
    ])
  })

  it('names the key and the column of one changed target row', async () => {
    await dbs.target.query("UPDATE items SET name = 'Item 12345' WHERE id = 12345")
    try {
      const r = await validate()
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toMatch(/items: MISMATCH/)
      expect(r.stdout).toMatch(/differing: 1\n {4}id=12345: name\n/)
      const { t } = await report('items')
      expect(t.counts).toEqual({ missing: 0, extra: 0, differing: 1 })
      expect(t.differing).toEqual([{ key: { id: '12345' }, columns: ['name'] }])
    } finally {
      await dbs.target.query("UPDATE items SET name = 'item 12345' WHERE id = 12345")
    }
  })

  it('names one deleted target row as missing', async () => {
    await dbs.target.query('CREATE TABLE keep_row AS SELECT * FROM items WHERE id = 1')
    await dbs.target.query('DELETE FROM items WHERE id = 1')
    try {
      const r = await validate()
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toMatch(/missing in target: 1\n {4}id=1\n/)
      const { t } = await report('items')
      expect(t.missing).toEqual([{ id: '1' }])
      expect(t.counts).toEqual({ missing: 1, extra: 0, differing: 0 })
      expect(t.target_rows).toBe(24_999)
    } finally {
      await dbs.target.query('INSERT INTO items SELECT * FROM keep_row; DROP TABLE keep_row')
    }
  })

  it('names one extra target row', async () => {
    await dbs.target.query(
      "INSERT INTO items (id, name, price, updated_at, _dlt_load_id, _dlt_id) VALUES (30000, 'x', 1, '2024-01-01', 'l', 'x30000')",
    )
    try {
      const r = await validate()
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toMatch(/extra in target: 1\n {4}id=30000\n/)
      const { t } = await report('items')
      expect(t.extra).toEqual([{ id: '30000' }])
      expect(t.counts).toEqual({ missing: 0, extra: 1, differing: 0 })
    } finally {
      await dbs.target.query('DELETE FROM items WHERE id = 30000')
    }
  })

  it('tells NULL from an empty string and detects a case-only change under a _ci collation', async () => {
    await dbs.target.query(
      "UPDATE items SET price = NULL WHERE id = 20000; UPDATE items SET name = 'ITEM 7' WHERE id = 7",
    )
    try {
      const { exitCode, t } = await report('items')
      expect(exitCode).toBe(1)
      expect(t.differing).toEqual([
        { key: { id: '7' }, columns: ['name'] },
        { key: { id: '20000' }, columns: ['price'] },
      ])
    } finally {
      await dbs.target.query(
        "UPDATE items SET price = 200.00 WHERE id = 20000; UPDATE items SET name = 'item 7' WHERE id = 7",
      )
    }
  })

  it('reports rows changed in the source after the sync as pending, not as mismatches', async () => {
    await dbs.source.query(`UPDATE items SET price = price + 1, updated_at = '2030-01-01' WHERE id IN (5, 15000);
      INSERT INTO items (id, name, price, updated_at) VALUES (25001, 'new', 1, '2030-01-01')`)
    try {
      const { exitCode, t } = await report('items')
      expect(exitCode).toBe(0)
      expect(t).toMatchObject({ status: 'consistent', rule: 'incremental', pending: 3, source_rows: 25_001 })
      expect(t.counts).toEqual({ missing: 0, extra: 0, differing: 0 })
      const text = await validate('--tables', 'items')
      expect(text.exitCode, text.stderr + text.stdout).toBe(0)
      expect(text.stdout).toMatch(
        /rule: incremental: rows up to the saved cursor \(updated_at = [-\d: .]+\) judged/,
      )
      expect(text.stdout).toMatch(/; 3 pending/)

      // A real difference among the judged rows is still found next to pending ones.
      await dbs.target.query("UPDATE items SET name = 'changed' WHERE id = 6")
      const again = await report('items')
      expect(again.exitCode).toBe(1)
      expect(again.t.differing).toEqual([{ key: { id: '6' }, columns: ['name'] }])
      expect(again.t.pending).toBe(3)
    } finally {
      await dbs.target.query("UPDATE items SET name = 'item 6' WHERE id = 6")
      await dbs.source.query(`UPDATE items SET price = price - 1, updated_at = '2024-01-01' WHERE id IN (5, 15000);
        DELETE FROM items WHERE id = 25001`)
    }
  })

  it('compares a table without a key by count and whole-table checksum', async () => {
    // Duplicates must not cancel out: (1,'x') twice against (1,'x') once plus another row.
    await dbs.target.query(
      "DELETE FROM nokey WHERE a = 1 LIMIT 1; INSERT INTO nokey VALUES (3, 'y', 'l', 'n3')",
    )
    try {
      const r = await validate('--tables', 'nokey')
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toMatch(/nokey: MISMATCH/)
      expect(r.stdout).toMatch(/count or checksum differs \(no key: rows not named\)/)
      await dbs.target.query("DELETE FROM nokey WHERE a = 3; UPDATE nokey SET b = 'z' WHERE a = 2")
      const same = await validate('--tables', 'nokey', '--json')
      const t = JSON.parse(same.stdout).data.tables[0]
      expect(t).toMatchObject({ status: 'mismatch', source_rows: 3, target_rows: 2 })
    } finally {
      await dbs.target.query(
        "DELETE FROM nokey; INSERT INTO nokey VALUES (1, 'x', 'l', 'a'), (1, 'x', 'l', 'b'), (2, NULL, 'l', 'c')",
      )
    }
  })

  it('takes the chunk size and the report cap from the command line', async () => {
    const ids = [100, 5100, 10100, 15100, 20100]
    await dbs.target.query(`UPDATE items SET price = price + 1 WHERE id IN (${ids.join(', ')})`)
    try {
      const r = await validate('--json', '--chunk-rows', '5000', '--max-mismatches', '2')
      expect(r.exitCode).toBe(1)
      const t = JSON.parse(r.stdout).data.tables[0]
      // 25,000 ids make five chunks of 5,000 ids (stepped by value: the key is an integer), the last one
      // open-ended for target rows past the source's last key.
      expect(t).toMatchObject({ chunks: 5, differing_chunks: 5, status: 'mismatch' })
      expect(t.differing).toHaveLength(2)
      // One changed row per chunk: each differing chunk was either drilled into or left once the cap was
      // hit. How many were left depends on timing: chunks run concurrently and may all start drilling
      // before the first one reaches the cap.
      expect(t.counts.differing + t.undrilled_chunks).toBe(5)
    } finally {
      await dbs.target.query(`UPDATE items SET price = price - 1 WHERE id IN (${ids.join(', ')})`)
    }
  })

  it('is consistent again after the restores', async () => {
    const r = await validate()
    expect(r.exitCode, r.stdout).toBe(0)
  })

  it('sync --verify runs the same comparison after the sync and exits 1 on a mismatch', async () => {
    const ok = await runCli(['sync', '-p', file, '--verify', '--json'])
    expect(ok.exitCode, ok.stderr).toBe(0)
    const doc = JSON.parse(ok.stdout)
    expect(doc.status).toBe('ok')
    expect(doc.verify.consistent).toBe(true)
    // An extra target row: an incremental sync never removes it (deletes: ignore), so verify must say so.
    await dbs.target.query(
      "INSERT INTO items (id, name, price, updated_at, _dlt_load_id, _dlt_id) VALUES (30001, 'x', 1, '2024-01-01', 'l', 'x30001')",
    )
    try {
      const bad = await runCli(['sync', '-p', file, '--verify'])
      expect(bad.exitCode).toBe(1)
      expect(bad.stdout).toMatch(/extra in target: 1\n {4}id=30001\n/)
    } finally {
      await dbs.target.query('DELETE FROM items WHERE id = 30001')
    }
  })

  it('refuses --data with --offline', async () => {
    const r = await runCli(['validate', '-p', file, '--data', '--offline'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/cannot run --offline/)
  })
})
