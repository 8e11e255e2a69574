import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest'
import { loadPipeline } from '../../src/config/load.js'
import type { Db } from '../../src/db/connect.js'
import { detectFlavor } from '../../src/db/flavor.js'
import { renderCreateTable } from '../../src/schema/ddl.js'
import { diffTable } from '../../src/schema/diff.js'
import { assemble, introspect } from '../../src/schema/introspect.js'
import { connectPair } from '../../src/sync/run.js'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// What of a cross-flavor copy can run without a MySQL server: a table as MySQL 8's information_schema
// describes it (collations of UCA 9.0.0, a generated invisible primary key, expression defaults, JSON) is
// created on the MariaDB target by the DDL dbsync renders for it, and must then be what the sync expects
// (no drift) and keep apart the keys MySQL keeps apart. The other way, a MariaDB table with UCA 14.0.0
// collations is read from the real server and rendered for MySQL 8.

const mysql8 = detectFlavor('8.0.36', 'MySQL Community Server - GPL')

/** Skips a test that needs a MariaDB 10.10+ server on `side` (against external servers it may be MySQL). */
function needMariadb1010(ctx: TestContext, db: Db, side: string): void {
  if (db.flavor.kind !== 'mariadb' || !db.flavor.atLeast(10, 10, 0)) {
    ctx.skip(`needs a MariaDB 10.10+ ${side}, this one is ${db.flavor.kind} ${db.flavor.version}`)
  }
}

const column = (name: string, pos: number, type: string, over: Record<string, unknown> = {}) => ({
  TABLE_NAME: 'people',
  COLUMN_NAME: name,
  ORDINAL_POSITION: pos,
  COLUMN_DEFAULT: null,
  IS_NULLABLE: 'NO',
  DATA_TYPE: type.split('(')[0]!.split(' ')[0]!,
  COLUMN_TYPE: type,
  CHARACTER_SET_NAME: /char/.test(type) ? 'utf8mb4' : null,
  COLLATION_NAME: null,
  EXTRA: '',
  GENERATION_EXPRESSION: null,
  COLUMN_COMMENT: '',
  ...over,
})

/** `people` as MySQL 8.0.36 reports it with sql_generate_invisible_primary_key=ON. */
function mysql8People() {
  const tables = [
    {
      TABLE_NAME: 'people',
      ENGINE: 'InnoDB',
      TABLE_COLLATION: 'utf8mb4_0900_ai_ci',
      TABLE_COMMENT: '',
      TABLE_ROWS: 0,
      CHARSET: 'utf8mb4',
    },
  ]
  const columns = [
    column('my_row_id', 1, 'bigint unsigned', { EXTRA: 'auto_increment INVISIBLE' }),
    column('name', 2, 'varchar(20)', { COLLATION_NAME: 'utf8mb4_0900_ai_ci' }),
    column('code', 3, 'varchar(10)', { COLLATION_NAME: 'utf8mb4_0900_as_cs' }),
    column('nordic', 4, 'varchar(10)', { COLLATION_NAME: 'utf8mb4_sv_0900_ai_ci', IS_NULLABLE: 'YES' }),
    column('raw', 5, 'varchar(10)', { COLLATION_NAME: 'utf8mb4_0900_bin', IS_NULLABLE: 'YES' }),
    column('doc', 6, 'json', { IS_NULLABLE: 'YES' }),
    column('token', 7, 'varchar(36)', {
      COLUMN_DEFAULT: 'uuid()',
      EXTRA: 'DEFAULT_GENERATED',
      COLLATION_NAME: 'utf8mb4_0900_ai_ci',
    }),
    column('created', 8, 'datetime(6)', {
      COLUMN_DEFAULT: 'CURRENT_TIMESTAMP(6)',
      EXTRA: 'DEFAULT_GENERATED',
    }),
  ]
  const stats = [
    { TABLE_NAME: 'people', INDEX_NAME: 'PRIMARY', NON_UNIQUE: 0, SEQ_IN_INDEX: 1, COLUMN_NAME: 'my_row_id' },
    {
      TABLE_NAME: 'people',
      INDEX_NAME: 'by_code',
      NON_UNIQUE: 1,
      SEQ_IN_INDEX: 1,
      COLUMN_NAME: 'code',
      COLLATION: 'D',
    },
  ].map((s) => ({ SUB_PART: null, INDEX_TYPE: 'BTREE', COLLATION: 'A', EXPRESSION: null, ...s }))
  return assemble(mysql8, tables, columns, stats).get('people')!
}

describe('cross-flavor DDL', () => {
  let dbs: TestDbs
  let pair: { source: Db; target: Db }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    const file = await writeTempPipeline(
      pipelineYaml({ sourceUrl: dbs.sourceUrl, targetUrl: dbs.targetUrl, tables: '  - name: "*"' }),
    )
    pair = await connectPair(await loadPipeline(file))
  })
  afterAll(async () => {
    if (pair) await Promise.all([pair.source.close(), pair.target.close()])
    await dbs?.drop()
  })

  it('creates a MySQL 8 table on MariaDB with equivalent collations, invisible key and no drift', async (ctx) => {
    needMariadb1010(ctx, pair.target, 'target')
    const source = mysql8People()
    await dbs.target.query(renderCreateTable(source, pair.target.flavor))
    const target = (await introspect(pair.target, ['people'])).get('people')!
    const collations = Object.fromEntries(target.columns.map((c) => [c.name, c.collation]))
    expect(collations).toMatchObject({
      name: 'utf8mb4_uca1400_nopad_ai_ci',
      code: 'utf8mb4_uca1400_nopad_as_cs',
      nordic: 'utf8mb4_uca1400_swedish_nopad_ai_ci',
      raw: 'utf8mb4_nopad_bin',
    })
    expect(target.collation).toBe('utf8mb4_uca1400_nopad_ai_ci')
    expect(target.columns.find((c) => c.name === 'my_row_id')?.invisible).toBe(true)
    expect(target.primaryKey).toEqual(['my_row_id'])
    expect(target.indexes.find((i) => i.name === 'by_code')?.columns[0]?.descending).toBe(true)
    // What the next sync would compare: the target is what the source asks for.
    expect(diffTable(source, target, pair.target.flavor)).toEqual([])

    await dbs.target.query(
      "INSERT INTO people (name, code, _dlt_load_id, _dlt_id) VALUES ('Åsa', 'X1', 'l', '1')",
    )
    const [rows] = await dbs.target.query('SELECT * FROM people')
    const [row] = rows as Record<string, unknown>[]
    expect(Object.keys(row!)).not.toContain('my_row_id')
    expect(String(row!.token)).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('keeps apart the keys MySQL’s NO PAD collations keep apart, where the PAD one would merge them', async (ctx) => {
    needMariadb1010(ctx, pair.target, 'target')
    const key = (collation: string) => ({
      ...mysql8People(),
      name: `k_${collation}`,
      columns: [mysql8People().columns[2]!].map((c) => ({ ...c, name: 'k', collation })),
      primaryKey: ['k'],
      indexes: [],
    })
    await dbs.target.query(renderCreateTable(key('utf8mb4_0900_as_cs'), pair.target.flavor))
    await dbs.target.query(
      "INSERT INTO `k_utf8mb4_0900_as_cs` (k, _dlt_load_id, _dlt_id) VALUES ('a', 'l', '1'), ('A', 'l', '2'), ('a ', 'l', '3')",
    )
    const [count] = await dbs.target.query('SELECT COUNT(*) AS n FROM `k_utf8mb4_0900_as_cs`')
    expect(count).toEqual([{ n: '3' }])
    // The obvious "equivalent", MariaDB's PAD SPACE UCA 14.0.0, would have lost a row here.
    await dbs.target.query(renderCreateTable(key('utf8mb4_uca1400_as_cs'), pair.target.flavor))
    await expect(
      dbs.target.query(
        "INSERT INTO `k_utf8mb4_uca1400_as_cs` (k, _dlt_load_id, _dlt_id) VALUES ('a', 'l', '1'), ('a ', 'l', '3')",
      ),
    ).rejects.toThrow(/Duplicate entry/)
  })

  it('reads a MariaDB table with UCA 14.0.0 collations and renders it for MySQL 8 and for MariaDB', async (ctx) => {
    needMariadb1010(ctx, pair.source, 'source')
    needMariadb1010(ctx, pair.target, 'target')
    await dbs.source.query(
      'CREATE TABLE m (id INT PRIMARY KEY, a VARCHAR(10) COLLATE utf8mb4_uca1400_ai_ci, ' +
        'b VARCHAR(10) COLLATE utf8mb4_uca1400_nopad_as_cs, c VARCHAR(10) COLLATE utf8mb4_nopad_bin) ' +
        'COLLATE utf8mb4_uca1400_ai_ci',
    )
    const def = (await introspect(pair.source, ['m'])).get('m')!
    const forMysql = renderCreateTable(def, mysql8)
    expect(forMysql).toContain('`a` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci NULL')
    expect(forMysql).toContain('`b` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_as_cs NULL')
    expect(forMysql).toContain('`c` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin NULL')
    expect(forMysql).toMatch(/DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci/)
    // MariaDB to MariaDB keeps every name, and the table's character set (information_schema lists none).
    await dbs.target.query(renderCreateTable(def, pair.target.flavor))
    const copy = (await introspect(pair.target, ['m'])).get('m')!
    expect(diffTable(def, copy, pair.target.flavor)).toEqual([])
    expect([copy.charset, copy.collation]).toEqual(['utf8mb4', 'utf8mb4_uca1400_ai_ci'])
  })

  it('syncs a table in the source flavor’s own collations bit for bit, whatever the target', async () => {
    // MySQL 8's UCA 9.0.0 collations, MariaDB 10.10's UCA 14.0.0 ones, or what older servers have: against
    // a MySQL source and a MariaDB target (or back) in the CI matrix, this is a real cross-flavor copy.
    const f = pair.source.flavor
    const [ci, cs] =
      f.kind === 'mysql' && f.atLeast(8, 0, 0)
        ? ['utf8mb4_0900_ai_ci', 'utf8mb4_0900_as_cs']
        : f.kind === 'mariadb' && f.atLeast(10, 10, 0)
          ? ['utf8mb4_uca1400_ai_ci', 'utf8mb4_uca1400_nopad_as_cs']
          : ['utf8mb4_unicode_520_ci', 'utf8mb4_bin']
    await dbs.source.query(
      `CREATE TABLE words (k VARCHAR(20) COLLATE ${cs} PRIMARY KEY, label VARCHAR(40) COLLATE ${ci},
         doc JSON, legacy VARCHAR(10) CHARACTER SET utf8mb3, updated_at DATETIME(6) NOT NULL, KEY (updated_at))
         COLLATE ${ci}`,
    )
    await dbs.source.query(
      `INSERT INTO words VALUES ('a', 'Ä', '{"b": [1, 2.50, "x"]}', 'äöü', '2024-01-01 00:00:00.000001'),
         ('A', 'ä', NULL, NULL, '2024-01-01 00:00:00.000002'), ('å', 'Åsa 👍', '{}', '€', '2024-01-01 00:00:00.000003')`,
    )
    const file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: '  - name: words\n    cursor: updated_at',
      }),
    )
    const sync = await runCli(['sync', '-p', file, '--json'])
    expect(sync.exitCode, sync.stderr + sync.stdout).toBe(0)
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'words', ['k'])
    expect(target).toEqual(source)
    const validate = await runCli(['validate', '-p', file, '--data', '--json'])
    expect(validate.exitCode, validate.stderr + validate.stdout).toBe(0)
  })
})
