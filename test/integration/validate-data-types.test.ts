import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ColumnDef } from '../../src/schema/table-def.js'
import { rowDigest } from '../../src/validate/checksum-sql.js'
import { TYPES_DDL, TYPES_ROWS } from '../fixtures/types-table.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

interface TableReport {
  counts: { missing: number; extra: number; differing: number }
  differing: Array<{ key: Record<string, string>; columns: string[] }>
}

/** Per column, the smallest change we can make to row (1, 'a')'s value: one byte, one digit, one unit. */
const ONE_BYTE: Array<[string, string]> = [
  ['d65', 'd65 = d65 - 0.000000000000000000000000000001'],
  ['dneg', 'dneg = dneg + 0.01'],
  ['bu', 'bu = bu - 1'],
  ['bs', 'bs = bs + 1'],
  ['ti', 'ti = ti + 1'],
  ['dt6', 'dt6 = dt6 - INTERVAL 1 MICROSECOND'],
  ['ts6', 'ts6 = ts6 - INTERVAL 1 MICROSECOND'],
  ['t6', "t6 = ADDTIME(t6, '0:0:0.000001')"],
  ['d', 'd = d + INTERVAL 1 DAY'],
  ['y', 'y = 2154'],
  ['b64', "b64 = b'1111111111111111111111111111111111111111111111111111111111111110'"],
  ['b1', "b1 = b'0'"],
  ['f', 'f = 3.4028232e38'],
  ['db', 'db = -1.7976931348623155e308'],
  ['bin', "bin = X'00FF0001'"],
  ['vb', "vb = X'01'"],
  ['bl', "bl = X'DEADBEEF01'"],
  ['lt', "lt = CONCAT(REPEAT('x', 1048575), 'y')"],
  ['j', "j = REPLACE(j, '2.5', '2.6')"],
  ['e', "e = 'large'"],
  ['s', "s = 'a,b,c'"],
  ['p', "p = ST_GeomFromText('POINT(1.5 -2.5)')"],
  ['emoji', "emoji = REPLACE(emoji, 'emoji', 'Emoji')"],
  ['lat', "lat = _latin1 X'E9E8FE'"],
  ['cbin', "cbin = 'Casf'"],
  ['ch', "ch = 'ac'"],
  ['select', '`select` = 2'],
  ['we`ird col', "`we``ird col` = 'x''z'"],
  ['ünï cødé', '`ünï cødé` = 8'],
  ['updated_at', 'updated_at = updated_at + INTERVAL 1 MICROSECOND'],
]

describe('validate --data sees a one-byte difference in every type', () => {
  let dbs: TestDbs
  let file: string

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(TYPES_DDL)
    await dbs.source.query(TYPES_ROWS)
    // One copy of row (1, 'a') per column to change, so every change sits in its own row.
    const [cols] = await dbs.source.query(
      `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
        AND TABLE_NAME = 'types' AND COALESCE(GENERATION_EXPRESSION, '') = '' ORDER BY ORDINAL_POSITION`,
    )
    const names = (cols as Array<{ name: string }>).map((c) => '`' + c.name.replaceAll('`', '``') + '`')
    const rest = names.filter((n) => n !== '`id`').join(', ')
    for (let i = 0; i < ONE_BYTE.length; i++) {
      await dbs.source.query(
        `INSERT INTO types (id, ${rest}) SELECT ${101 + i}, ${rest} FROM types WHERE id = 1`,
      )
    }
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: '  - name: types\n    strategy: full_refresh\n    batch_size: 4',
      }),
    )
    const sync = await runCli(['sync', '-p', file, '--json'])
    expect(sync.exitCode, sync.stderr).toBe(0)
    const clean = await runCli(['validate', '-p', file, '--data'])
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0)
  }, 240_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('names each changed row with exactly its changed column, NULL against empty included', async () => {
    for (let i = 0; i < ONE_BYTE.length; i++) {
      await dbs.target.query(`UPDATE types SET ${ONE_BYTE[i]![1]} WHERE id = ${101 + i}`)
    }
    await dbs.target.query(
      "UPDATE types SET vb = X'' WHERE id = 3 AND k2 = 'c'; UPDATE types SET lt = NULL WHERE id = 2",
    )
    const r = await runCli(['validate', '-p', file, '--data', '--json'])
    expect(r.exitCode, r.stderr).toBe(1)
    const t = JSON.parse(r.stdout).data.tables[0] as TableReport
    expect(t.counts).toEqual({ missing: 0, extra: 0, differing: ONE_BYTE.length + 2 })
    expect(t.differing).toEqual([
      { key: { id: '2', k2: 'b' }, columns: ['lt'] },
      { key: { id: '3', k2: 'c' }, columns: ['vb'] },
      ...ONE_BYTE.map(([column], i) => ({ key: { id: String(101 + i), k2: 'a' }, columns: [column] })),
    ])

    // The chunk hash alone must see each change: every changed row's digest differs between the sides,
    // and an unchanged row's is equal.
    const [defs] = await dbs.source.query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
              CHARACTER_SET_NAME AS charset, IS_NULLABLE = 'YES' AS nullable
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'types'
          AND COALESCE(GENERATION_EXPRESSION, '') = '' ORDER BY ORDINAL_POSITION`,
    )
    const digest = rowDigest(defs as ColumnDef[])
    const digests = async (conn: typeof dbs.source) => {
      const [rows] = await conn.query(`SELECT id, k2, ${digest} AS h FROM types ORDER BY id, k2`)
      return new Map(
        (rows as Array<{ id: string; k2: string; h: string }>).map((r) => [`${r.id}/${r.k2}`, r.h]),
      )
    }
    const [src, tgt] = await Promise.all([digests(dbs.source), digests(dbs.target)])
    const changed = ['2/b', '3/c', ...ONE_BYTE.map((_, i) => `${101 + i}/a`)]
    for (const key of src.keys()) {
      if (changed.includes(key)) expect(tgt.get(key), key).not.toBe(src.get(key))
      else expect(tgt.get(key), key).toBe(src.get(key))
    }
  })
})
