import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

interface TableReport {
  counts: { missing: number; extra: number; differing: number }
  differing: Array<{ key: Record<string, string>; columns: string[] }>
}

// The type-fidelity table of sync-types.test.ts (copied: importing a test file would run its tests here).
const TYPES_DDL = `CREATE TABLE \`types\` (
  id BIGINT UNSIGNED NOT NULL,
  k2 VARCHAR(20) CHARACTER SET utf8mb4 NOT NULL,
  d65 DECIMAL(65,30) NULL,
  dneg DECIMAL(10,2) NULL,
  bu BIGINT UNSIGNED NULL,
  bs BIGINT NULL,
  ti TINYINT NULL,
  dt6 DATETIME(6) NULL,
  ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  t6 TIME(6) NULL,
  d DATE NULL,
  y YEAR NULL,
  b64 BIT(64) NULL,
  b1 BIT(1) NULL,
  f FLOAT NULL,
  db DOUBLE NULL,
  bin BINARY(4) NULL,
  vb VARBINARY(16) NULL,
  bl BLOB NULL,
  lt LONGTEXT NULL,
  j JSON NULL,
  e ENUM('small','medium','large','ümlaut') NULL,
  s SET('a','b','c') NULL,
  p POINT NULL,
  emoji VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
  lat VARCHAR(50) CHARACTER SET latin1 NULL,
  cbin VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  ch CHAR(5) NULL,
  \`select\` INT NULL,
  \`we\`\`ird col\` VARCHAR(10) NULL,
  \`ünï cødé\` INT NULL,
  gen INT AS (ti + 1) VIRTUAL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id, k2),
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4`

const TYPES_ROWS = `INSERT INTO \`types\` (id, k2, d65, dneg, bu, bs, ti, dt6, ts6, t6, d, y, b64, b1, f, db, bin, vb, bl, lt, j, e, s, p,
  emoji, lat, cbin, ch, \`select\`, \`we\`\`ird col\`, \`ünï cødé\`, updated_at) VALUES
 (1, 'a', '12345678901234567890123456789012345.123456789012345678901234567890', '-0.01', 18446744073709551615,
  -9223372036854775808, -128, '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '-838:59:59.000000',
  '1000-01-01', 2155, b'1111111111111111111111111111111111111111111111111111111111111111', b'1',
  3.4028234e38, -1.7976931348623157e308, X'00FF0000', X'00', X'DEADBEEF00', REPEAT('x', 1048576),
  '{"a": [1, 2.5, "ü"], "b": null, "big": 12345678901234567890}', 'ümlaut', 'a,c', ST_GeomFromText('POINT(1.5 -2.25)'),
  '😀 emoji 𝄞', _latin1 X'E9E8FF', 'Case', 'ab', 1, 'x''y', 7, '2024-01-01 00:00:00.000001'),
 (2, 'b', '0.000000000000000000000000000001', '0.00', 0, 9223372036854775807, 127, '1000-01-01 00:00:00.000000',
  '1970-01-01 00:00:01.000000', '838:59:59.999999', '9999-12-31', 1901, b'0', b'0', 1.17549435e-38,
  2.2250738585072014e-308, X'00000000', X'', X'', '', '[]', 'small', '', ST_GeomFromText('POINT(0 0)'),
  '', '', '', '', 0, '', 0, '2024-01-01 00:00:00.000001'),
 (3, 'c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-02 00:00:00.000000')`

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
  }, 120_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('names each changed row with exactly its changed column, NULL against empty included', async () => {
    for (let i = 0; i < ONE_BYTE.length; i++) {
      await dbs.target.query(`UPDATE types SET ${ONE_BYTE[i]![1]} WHERE id = ${101 + i}`)
    }
    await dbs.target.query("UPDATE types SET vb = X'' WHERE id = 3; UPDATE types SET lt = NULL WHERE id = 2")
    const r = await runCli(['validate', '-p', file, '--data', '--json'])
    expect(r.exitCode, r.stderr).toBe(1)
    const t = JSON.parse(r.stdout).data.tables[0] as TableReport
    expect(t.counts).toEqual({ missing: 0, extra: 0, differing: ONE_BYTE.length + 2 })
    expect(t.differing).toEqual([
      { key: { id: '2', k2: 'b' }, columns: ['lt'] },
      { key: { id: '3', k2: 'c' }, columns: ['vb'] },
      ...ONE_BYTE.map(([column], i) => ({ key: { id: String(101 + i), k2: 'a' }, columns: [column] })),
    ])
  })
})
