import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { columnDefinitions, expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// Every MySQL type family with edge values. The dbsync process runs in a non-UTC zone: values must not
// notice.
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

const ROWS = `INSERT INTO \`types\` (id, k2, d65, dneg, bu, bs, ti, dt6, ts6, t6, d, y, b64, b1, f, db, bin, vb, bl, lt, j, e, s, p,
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
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-02 00:00:00.000000'),
 (3, 'd', '-1.5', '3.14', 1, -1, 0, '2000-02-29 12:00:00.5', '2000-02-29 12:00:00.5', '00:00:00.000001',
  '2000-02-29', 0, b'101', b'1', -0.1, 0.1, X'20202020', X'2020', X'00', '  spaces  ', '"str"', 'medium', 'b',
  ST_GeomFromText('POINT(3 4)'), 'a\\\\b''c"d\\ne', 'caf\\xe9', 'CASE', 'x ', -1, '\`', -5, '2024-01-03 00:00:00.000000')`

describe('sync copies every type bit for bit', () => {
  let dbs: TestDbs

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(TYPES_DDL)
    await dbs.source.query(ROWS)
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  for (const strategy of ['incremental', 'full_refresh'] as const) {
    it(`copies the type-fidelity table with ${strategy}`, async () => {
      await dbs.target.query('DROP TABLE IF EXISTS `types`, `_sync_state`, `_sync_runs`')
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          tables: `  - name: types\n    strategy: ${strategy}\n    cursor: updated_at\n    batch_size: 2`,
        }),
      )
      const res = await runCli(['sync', '-p', file, '--json'], { env: { TZ: 'America/Sao_Paulo' } })
      expect(res.stderr).not.toMatch(/internal error/)
      expect(res.exitCode, res.stderr + res.stdout).toBe(0)
      const summary = JSON.parse(res.stdout)
      expect(summary.tables[0]).toMatchObject({ table: 'types', status: 'ok', rowsRead: 4 })

      const { source, target } = await expectSameRows(dbs.source, dbs.target, 'types', ['id', 'k2'])
      expect(target).toEqual(source)
      expect(await columnDefinitions(dbs.target, 'types')).toEqual(
        await columnDefinitions(dbs.source, 'types'),
      )
    })
  }
})
