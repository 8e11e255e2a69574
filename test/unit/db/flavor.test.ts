import { generateKeyPairSync, privateDecrypt, constants as rsa } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { codecKind, columnCodec } from '../../../src/db/codec.js'
import { detectFlavor, type Flavor } from '../../../src/db/flavor.js'
import { FLAVOR_DIFFERENCES } from '../../../src/db/flavor-differences.js'
import { authPlugins, RSA_KEY_REFUSED } from '../../../src/db/rsa-key.js'
import { planTables } from '../../../src/plan/plan.js'
import { renderColumn, renderCreateTable, renderIndex } from '../../../src/schema/ddl.js'
import { assemble } from '../../../src/schema/introspect.js'
import { insertShape } from '../../../src/sync/insert-encoder.js'
import { isLocalInfileRefused, loadDataStatement } from '../../../src/sync/load-data.js'
import type { WriteTarget } from '../../../src/sync/write.js'
import {
  CONCAT_MAX_BYTES,
  chunkConcatSql,
  chunkHashSql,
  columnImage,
  concatFits,
  keyAtSql,
  keyTerms,
} from '../../../src/validate/checksum-sql.js'
import { README, readmeWithTable } from '../../support/compat-table.js'
import { col, table } from '../schema/helpers.js'

// One describe per row of src/db/flavor-differences.ts (the collation rows are in flavor-collation.test.ts):
// each pins what dbsync generates or decides for each flavor and version.

const mariadb = detectFlavor('10.11.6-MariaDB')
const mysql80 = detectFlavor('8.0.36')
const mysql57 = detectFlavor('5.7.44-log')

const rawTable = (over: Record<string, unknown> = {}) => ({
  TABLE_NAME: 't',
  ENGINE: 'InnoDB',
  TABLE_COLLATION: 'utf8mb4_general_ci',
  TABLE_COMMENT: '',
  TABLE_ROWS: 0,
  CHARSET: 'utf8mb4',
  ...over,
})
const rawColumn = (over: Record<string, unknown> = {}) => ({
  TABLE_NAME: 't',
  COLUMN_NAME: 'id',
  ORDINAL_POSITION: 1,
  COLUMN_DEFAULT: null,
  IS_NULLABLE: 'NO',
  DATA_TYPE: 'bigint',
  COLUMN_TYPE: 'bigint unsigned',
  CHARACTER_SET_NAME: null,
  COLLATION_NAME: null,
  EXTRA: '',
  GENERATION_EXPRESSION: null,
  COLUMN_COMMENT: '',
  ...over,
})
const rawStat = (over: Record<string, unknown> = {}) => ({
  TABLE_NAME: 't',
  INDEX_NAME: 'PRIMARY',
  NON_UNIQUE: 0,
  SEQ_IN_INDEX: 1,
  COLUMN_NAME: 'id',
  SUB_PART: null,
  INDEX_TYPE: 'BTREE',
  COLLATION: 'A',
  ...over,
})

function upsertSql(flavor: Flavor): string {
  const def = table([col('v', 'varchar(5)')])
  const w = {
    target: { flavor, maxAllowedPacket: 64 * 1024 * 1024 },
    table: 't',
    label: 't',
    codecs: def.columns.map((c) => columnCodec(c, flavor)),
    nullColumns: [],
    keyIndexes: [0],
    mode: 'upsert',
    loadId: 'L1',
    timeoutMs: 1000,
  } as unknown as WriteTarget
  const { head, tail } = insertShape(w)
  return `${head}(1,'a')${tail}`
}

describe('upsert-row-alias', () => {
  it('uses the row alias from MySQL 8.0.19 and VALUES() before it and on MariaDB', () => {
    const alias = upsertSql(mysql80)
    expect(alias).toContain(' AS `_new` ON DUPLICATE KEY UPDATE `_dlt_load_id` = IF(')
    expect(alias).toContain('BINARY `v` <=> BINARY `_new`.`v`')
    expect(alias).toContain('`_dlt_load_id`, `_new`.`_dlt_load_id`), ')
    expect(alias).toContain('`v` = `_new`.`v`')
    expect(upsertSql(detectFlavor('8.0.19'))).toContain(' AS `_new` ON DUPLICATE KEY UPDATE')
    for (const f of [detectFlavor('8.0.18'), mysql57, mariadb]) {
      const text = upsertSql(f)
      expect(text).toContain(') ON DUPLICATE KEY UPDATE `_dlt_load_id` = IF(')
      expect(text).toContain('`v` = VALUES(`v`)')
      expect(text).not.toContain('_new')
    }
  })
})

describe('table-charset', () => {
  it('takes the character set from the collation name when MariaDB 10.10+ lists none', () => {
    const defs = assemble(
      mariadb,
      [rawTable({ TABLE_COLLATION: 'utf8mb4_uca1400_ai_ci', CHARSET: null })],
      [rawColumn()],
      [],
    )
    expect(defs.get('t')?.charset).toBe('utf8mb4')
    expect(renderCreateTable(defs.get('t')!, mariadb)).toMatch(
      /DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci$/,
    )
  })
})

describe('column-defaults', () => {
  it('parses each server’s spelling of literals and NULL', () => {
    expect(mariadb.parseDefault("'it''s'", '', 'varchar', true)).toEqual({ kind: 'literal', value: "it's" })
    expect(mariadb.parseDefault('NULL', '', 'varchar', true)).toEqual({ kind: 'null' })
    expect(mysql80.parseDefault("it's", '', 'varchar', true)).toEqual({ kind: 'literal', value: "it's" })
    expect(mysql80.parseDefault(null, '', 'varchar', true)).toEqual({ kind: 'null' })
    expect(mysql80.parseDefault(null, '', 'varchar', false)).toEqual({ kind: 'none' })
  })
})

describe('expression-defaults', () => {
  it('re-wraps MySQL expressions in parentheses and keeps CURRENT_TIMESTAMP bare', () => {
    expect(mysql80.parseDefault('uuid()', 'DEFAULT_GENERATED', 'varchar', false)).toEqual({
      kind: 'expression',
      sql: '(uuid())',
    })
    expect(mysql80.parseDefault('CURRENT_TIMESTAMP', 'DEFAULT_GENERATED', 'timestamp', false)).toEqual({
      kind: 'expression',
      sql: 'CURRENT_TIMESTAMP',
    })
    expect(mysql57.parseDefault('CURRENT_TIMESTAMP', '', 'datetime', false)).toEqual({
      kind: 'expression',
      sql: 'CURRENT_TIMESTAMP',
    })
    expect(mariadb.parseDefault('uuid()', '', 'varchar', false)).toEqual({
      kind: 'expression',
      sql: 'uuid()',
    })
  })
})

describe('json', () => {
  const j = col('doc', 'json', { charset: null, collation: null })
  it('reads and compares JSON as its text', () => {
    expect(codecKind(j)).toBe('utf8')
    expect(columnImage(j)).toBe('SHA1(`doc`)')
    expect(renderColumn(j, mariadb)).toBe('`doc` json NOT NULL')
  })
  it('warns in the plan when MySQL JSON lands on MariaDB', () => {
    const config = { name: 't', strategy: 'full_refresh', cursor: [], deletes: 'ignore' } as never
    const plan = (targetFlavor: Flavor) =>
      planTables({} as never, [config], new Map([['t', table([j])]]), new Map(), new Map(), new Map(), {
        lateCommitCap: true,
        targetFlavor,
      })[0]?.warnings
    expect(plan(mariadb)).toContain(
      "column doc: MySQL JSON becomes MariaDB JSON (LONGTEXT with json_valid); the text is MySQL's normalized form",
    )
    expect(plan(mysql80)).toEqual([])
  })
})

describe('invisible-columns', () => {
  const gipk = [
    rawColumn({ COLUMN_NAME: 'my_row_id', EXTRA: 'auto_increment INVISIBLE' }),
    rawColumn({
      COLUMN_NAME: 'note',
      ORDINAL_POSITION: 2,
      EXTRA: 'INVISIBLE',
      IS_NULLABLE: 'YES',
      DATA_TYPE: 'int',
      COLUMN_TYPE: 'int',
    }),
  ]
  const def = assemble(mysql80, [rawTable()], gipk, [rawStat({ COLUMN_NAME: 'my_row_id' })]).get('t')!
  it('copies a generated invisible primary key and invisible columns as invisible', () => {
    expect(def.primaryKey).toEqual(['my_row_id'])
    const ddl = renderCreateTable(def, mysql80)
    expect(ddl).toContain('`my_row_id` bigint unsigned NOT NULL AUTO_INCREMENT INVISIBLE,')
    expect(ddl).toContain('`note` int NULL DEFAULT NULL INVISIBLE,')
    expect(renderCreateTable(def, mariadb)).toContain('`note` int NULL DEFAULT NULL INVISIBLE,')
  })
  it('makes them visible on servers without INVISIBLE', () => {
    expect(renderCreateTable(def, detectFlavor('8.0.22'))).toContain('`note` int NULL DEFAULT NULL,')
    expect(renderCreateTable(def, mysql57)).not.toContain('INVISIBLE')
  })
})

describe('functional-indexes', () => {
  it('reads STATISTICS.EXPRESSION on MySQL 8.0.13+ only and skips such indexes', () => {
    expect(
      [detectFlavor('8.0.13'), detectFlavor('8.0.12'), mariadb].map((f) => f.hasFunctionalIndexes),
    ).toEqual([true, false, false])
    const stats = [
      rawStat(),
      rawStat({ INDEX_NAME: 'f', NON_UNIQUE: 1, COLUMN_NAME: null, EXPRESSION: 'lower(`id`)' }),
    ]
    const def = assemble(mysql80, [rawTable()], [rawColumn()], stats).get('t')!
    expect(def.skippedIndexes).toEqual(['f'])
    expect(def.indexes).toEqual([])
  })
})

describe('descending-indexes', () => {
  it('copies a DESC key part the source reports', () => {
    const stats = [rawStat(), rawStat({ INDEX_NAME: 'd', NON_UNIQUE: 1, COLLATION: 'D' })]
    const def = assemble(mariadb, [rawTable()], [rawColumn()], stats).get('t')!
    expect(renderIndex(def.indexes[0]!)).toBe('KEY `d` (`id` DESC)')
  })
})

describe('generated-columns', () => {
  it('reads PERSISTENT as stored and writes NOT NULL for MySQL targets only', () => {
    const cols = [
      rawColumn(),
      rawColumn({
        COLUMN_NAME: 'g',
        ORDINAL_POSITION: 2,
        EXTRA: 'PERSISTENT GENERATED',
        GENERATION_EXPRESSION: '`id` + 1',
      }),
    ]
    const g = assemble(mariadb, [rawTable()], cols, []).get('t')!.columns[1]!
    expect(g.generated).toEqual({ expression: '`id` + 1', stored: true })
    expect(renderColumn(g, mysql80)).toBe(
      '`g` bigint unsigned GENERATED ALWAYS AS (`id` + 1) STORED NOT NULL',
    )
    expect(renderColumn(g, mariadb)).toBe('`g` bigint unsigned GENERATED ALWAYS AS (`id` + 1) STORED')
  })
})

describe('check-constraints', () => {
  it('reads them where the server keeps them, and names them only where names are per table', () => {
    expect(
      [mysql80, detectFlavor('8.0.15'), mysql57, mariadb].map((f) => f.checkConstraints !== null),
    ).toEqual([true, false, false, true])
    const def = table([col('n', 'int(11)')], {
      checks: [{ name: 'n_pos', clause: '`n` > 0', enforced: false }],
    })
    expect(renderCreateTable(def, mariadb)).toContain('CONSTRAINT `n_pos` CHECK (`n` > 0)\n')
    expect(renderCreateTable(def, mysql80)).toContain('  CHECK (`n` > 0) NOT ENFORCED\n')
  })
})

describe('caching-sha2', () => {
  const scramble = Buffer.alloc(20, 7)
  const step = (rsaKey: Parameters<typeof authPlugins>[0], ssl = false) =>
    authPlugins(rsaKey).caching_sha2_password!({
      connection: { config: { password: 'pw', ssl } } as never,
      command: '',
    })
  it('refuses to ask a plain-text server for its RSA key unless told to', async () => {
    const s = step({ fetch: false })
    expect(s(scramble)).toHaveLength(32)
    expect(() => s(Buffer.from([4]))).toThrow(RSA_KEY_REFUSED)
    const fetching = step({ fetch: true })
    fetching(scramble)
    expect(fetching(Buffer.from([4]))).toEqual(Buffer.from([2]))
    // The older sha256_password asks at once.
    const sha256 = authPlugins({ fetch: false }).sha256_password!({
      connection: { config: { password: 'pw' }, stream: {} } as never,
      command: '',
    })
    expect(() => sha256(scramble)).toThrow(RSA_KEY_REFUSED)
  })
  it('encrypts with the configured key, and sends the password as is over TLS', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const s = step({ fetch: false, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() })
    s(scramble)
    const sent = s(Buffer.from([4])) as Buffer
    const plain = privateDecrypt(
      { key: privateKey, oaepHash: 'sha1', padding: rsa.RSA_PKCS1_OAEP_PADDING },
      sent,
    )
    expect(plain.map((b, i) => b ^ scramble[i % 20]!)).toEqual(Buffer.from('pw\0'))
    const tls = step(undefined, true)
    tls(scramble)
    expect(tls(Buffer.from([4]))).toEqual(Buffer.from('pw\0'))
  })
})

describe('local-infile', () => {
  it('hears both servers refuse LOAD DATA LOCAL', () => {
    expect(isLocalInfileRefused({ errno: 3948, code: 'ER_CLIENT_LOCAL_FILES_DISABLED' })).toBe(true)
    expect(isLocalInfileRefused({ errno: 1148 })).toBe(true)
    expect(isLocalInfileRefused({ errno: 4166 })).toBe(true)
    expect(isLocalInfileRefused({ errno: 1062 })).toBe(false)
  })
})

describe('group-concat-max-len', () => {
  it('joins a chunk only where it fits the session cap dbsync sets on both servers', () => {
    const cols = [col('id', 'int'), col('v', 'varchar(50)')]
    expect(chunkConcatSql('t', cols, [], null)).toContain('GROUP_CONCAT(')
    expect(CONCAT_MAX_BYTES).toBeLessThanOrEqual(4294967295) // MariaDB's maximum
    expect(concatFits(cols, 10_000)).toBe(true)
    expect(concatFits(cols, 1_000_000)).toBe(false)
  })
})

describe('no-cte-window', () => {
  const CTE_OR_WINDOW =
    /\bWITH\s+(RECURSIVE\s+)?`?\w+`?\s*(\([^)]*\)\s*)?AS\s*\(|\bOVER\s*\(|\bOVER\s+`?\w+`?\s*$|\bWINDOW\s+`?\w+`?\s+AS\b/i
  it('generates no CTE and no window function (MySQL 5.7 has neither)', () => {
    const def = table([col('v', 'varchar(5)')])
    const keys = keyTerms(def.columns.slice(0, 1), mysql57)
    const w = {
      table: 't',
      codecs: def.columns.map((c) => columnCodec(c, mysql57)),
      nullColumns: [],
      keyIndexes: [0],
      loadId: '1',
    }
    const generated = [
      upsertSql(mysql57),
      renderCreateTable(def, mysql57),
      chunkHashSql('t', def.columns, ['1=1'], null),
      chunkConcatSql('t', def.columns, ['1=1'], null),
      keyAtSql('t', keys, ['1=1'], 10),
      loadDataStatement(w as unknown as WriteTarget),
    ]
    for (const sql of generated) expect(sql).not.toMatch(CTE_OR_WINDOW)
  })
  it('has none in the source either', () => {
    const root = join(import.meta.dirname, '../../../src')
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    const hits = files.filter((f) =>
      readFileSync(join(root, f), 'utf8')
        .split('\n')
        .some((line) => !/^\s*(\/\/|\*)/.test(line) && CTE_OR_WINDOW.test(line)),
    )
    expect(hits).toEqual([])
  })
})

describe('version-string', () => {
  it('tells MariaDB from MySQL, old replication prefix included', () => {
    expect(detectFlavor('5.5.5-10.11.6-MariaDB-log')).toMatchObject({
      kind: 'mariadb',
      major: 10,
      minor: 11,
      patch: 6,
    })
    expect(detectFlavor('10.11.6', 'mariadb.org binary distribution').kind).toBe('mariadb')
    expect(detectFlavor('8.4.3', 'MySQL Community Server - GPL')).toMatchObject({
      kind: 'mysql',
      major: 8,
      minor: 4,
    })
  })
})

describe('the flavor table', () => {
  it('has a unit test for every row', () => {
    const here = readdirSync(import.meta.dirname).map((f) =>
      readFileSync(join(import.meta.dirname, f), 'utf8'),
    )
    const tested = (id: string) => here.some((src) => src.includes(`describe('${id}`))
    expect(FLAVOR_DIFFERENCES.map((r) => r.id).filter((id) => !tested(id))).toEqual([])
  })
})

describe('README compatibility table', () => {
  it('is the one rendered from src/db/flavor-differences.ts (npm run compat-table)', () => {
    const readme = readFileSync(README, 'utf8')
    expect(readme).toBe(readmeWithTable(readme))
  })
})
