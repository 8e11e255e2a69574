import { expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml, rowIdMismatches } from '../support/compare.js'
import { ownServer } from '../support/external.js'
import { ownTargetDatabases } from '../support/own-dbs.js'

// The INSERT path writes each value's literal as bytes while the row arrives (insert-encoder.ts): text
// quoted where that is exact (ASCII, or valid UTF-8 in a utf8mb4 column; backslash and NUL escaped), hex
// otherwise. Every edge of that rule, through a first load into a fresh table (plain INSERTs, two
// connections), an incremental merge (upserts) and a full refresh.
const own = ownServer('a target server started with --local-infile=0')

const DDL = `CREATE TABLE edge (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  t VARCHAR(100) CHARACTER SET utf8mb4 NULL,
  lat VARCHAR(20) CHARACTER SET latin1 NULL,
  cbin VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  vb VARBINARY(20) NULL,
  bl BLOB NULL,
  d65 DECIMAL(65,30) NULL,
  bu BIGINT UNSIGNED NULL,
  dt6 DATETIME(6) NULL,
  j JSON NULL,
  b64 BIT(64) NULL,
  f FLOAT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4`

// Text with 4-byte characters, quotes, backslashes and NUL, latin1 bytes that are and are not valid UTF-8;
// binary with 0x00, 0x5C, 0x27 and bytes that are valid UTF-8 text; the widest numbers and temporal
// values; JSON with escapes; NULLs everywhere.
const ROWS = `INSERT INTO edge (id, t, lat, cbin, vb, bl, d65, bu, dt6, j, b64, f) VALUES
 (1, '😀 𝄞 emoji, 4 bytes', _latin1 X'C3A9', 'Case', X'005C27', X'00', '12345678901234567890123456789012345.123456789012345678901234567890',
  18446744073709551615, '9999-12-31 23:59:59.999999', '{"a": "x\\\\"y", "b": "\\\\u00e9"}', b'1111111111111111111111111111111111111111111111111111111111111111', 3.4028234e38),
 (2, 'it''s a \\\\ backslash', _latin1 X'E9FF', 'x', X'C3A9', X'5C5C2727', '-0.000000000000000000000000000001', 0,
  '1000-01-01 00:00:00.000000', '[]', b'0', -1.17549435e-38),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, CONCAT('nul', CHAR(0 USING utf8mb4), 'byte'), 'plain', '''', X'', X'', '0', 1, '2000-02-29 12:00:00.5', 'null', b'101', 0),
 (5, '', '', '', X'27', REPEAT(X'00FF5C27', 1000), '1e0', 18446744073709551614, '1970-01-01 00:00:01', '"\\\\\\\\"', b'0', 1.5)`

own.describe('the INSERT path, byte for byte', () => {
  const t = ownTargetDatabases({ name: 'insert-path', extraArgs: ['--local-infile=0'] })

  async function sync(file: string): Promise<void> {
    const res = await runCli(['sync', '-p', file, '--json'])
    expect(res.exitCode, res.stderr).toBe(0)
  }

  async function expectEqual(): Promise<void> {
    const image = await expectSameRows(t.dbs.source, t.dbs.target, 'edge', ['id'])
    expect(image.target).toEqual(image.source)
    expect(image.target.length).toBeGreaterThan(0)
  }

  for (const strategy of ['incremental', 'full_refresh'] as const) {
    it(`copies every edge value with ${strategy}, first load and after changes`, async () => {
      await t.dbs.source.query(DDL)
      await t.dbs.source.query(ROWS)
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: t.dbs.sourceUrl,
          targetUrl: t.dbs.targetUrl,
          tables: `  - name: edge\n    strategy: ${strategy}\n    cursor: updated_at\n    batch_size: 2`,
        }),
      )
      await sync(file)
      await expectEqual()
      // Every row changed (the merge path rewrites them), one row's values swapped for another's edges.
      await t.dbs.source.query(
        `UPDATE edge SET t = IF(t IS NULL, '😀''\\\\', CONCAT(t, '✓')), vb = IFNULL(REVERSE(vb), X'5C'),
           lat = IFNULL(lat, _latin1 X'C3A9'), d65 = IFNULL(-d65, 0), j = IFNULL(j, '{"k": "\\\\n"}')`,
      )
      // And new rows, copies of the first ones: inserted by the merge.
      await t.dbs.source.query(
        `INSERT INTO edge (id, t, lat, cbin, vb, bl, d65, bu, dt6, j, b64, f)
         SELECT id + 10, t, lat, cbin, vb, bl, d65, bu, dt6, j, b64, f FROM edge`,
      )
      await sync(file)
      await expectEqual()
      if (strategy === 'incremental') expect(await rowIdMismatches(t.dbs.target, 'edge', 'id')).toBe(0)
    })
  }
})
