import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type CliResult, runCli, writeTempPipeline } from '../support/cli.js'
import { columnDefinitions, expectSameRows } from '../support/compare.js'
import { createTestDatabases, type TestDbs, waitForServerSecond } from '../support/db.js'
import { EXTERNAL_SERVERS, ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// Odd and hostile input. Each case either syncs exactly (value for value, byte for byte) or fails its
// table with a message that says what to do, leaving the target's data as it was.
//
// Servers of this file's own: the source runs in time zone +05:30 (every test here syncs across time
// zones), and both cap max_allowed_packet at 4 MiB so rows "near the limit" stay small enough to be quick.

const PACKET = 4 * 1024 * 1024
let sourceServer: ThrowawayServer
let targetServer: ThrowawayServer
let dbs: TestDbs

const own = ownServer('servers of its own: a source in time zone +05:30, max_allowed_packet 4 MiB on both')

beforeAll(async () => {
  if (EXTERNAL_SERVERS) return
  ;[sourceServer, targetServer] = await Promise.all([
    startServer({
      name: 'hostile-source',
      extraArgs: ['--default-time-zone=+05:30', `--max-allowed-packet=${PACKET}`],
    }),
    startServer({ name: 'hostile-target', extraArgs: [`--max-allowed-packet=${PACKET}`] }),
  ])
}, 240_000)
afterAll(async () => {
  await Promise.all([sourceServer?.stop(), targetServer?.stop()])
})
beforeEach(async () => {
  // Against external servers only the tests that need neither setting run, on those servers.
  dbs = EXTERNAL_SERVERS
    ? await createTestDatabases()
    : await createDatabasesOn(sourceServer.url, targetServer.url)
  // Images of TIMESTAMP values compare as UTC on both sides; the source session writes in its own zone
  // where a test says so.
  await dbs.source.query("SET time_zone = '+00:00'")
  await dbs.target.query("SET time_zone = '+00:00'")
})
afterEach(async () => {
  await dbs?.drop()
})

/** A YAML double-quoted scalar: JSON's string syntax is YAML's. */
const y = (s: string) => JSON.stringify(s)
/** A backtick-quoted identifier, for the test's own SQL. */
const q = (s: string) => '`' + s.replaceAll('`', '``') + '`'

async function pipeline(tables: string[], extra = ''): Promise<string> {
  return writeTempPipeline(
    [
      'version: 1',
      'name: hostile',
      `source:\n  url: ${y(dbs.sourceUrl)}`,
      `target:\n  url: ${y(dbs.targetUrl)}`,
      'retry: { attempts: 1 }',
      'tables:',
      ...tables,
      extra,
    ].join('\n'),
  )
}

async function sync(file: string, expected = 0) {
  const res = await runCli(['sync', '-p', file, '--json'])
  expect(res.exitCode, res.stderr + res.stdout).toBe(expected)
  const doc = JSON.parse(res.stdout) as {
    tables: Array<{ table: string; status: string; error?: string; rows_read: number; warnings: string[] }>
  }
  return { res, byTable: Object.fromEntries(doc.tables.map((t) => [t.table, t])) }
}

async function expectSame(table: string, key: string[]) {
  const { source, target } = await expectSameRows(dbs.source, dbs.target, table, key)
  expect(target, `rows of ${table}`).toEqual(source)
  expect(await columnDefinitions(dbs.target, table)).toEqual(await columnDefinitions(dbs.source, table))
  return source.length
}

// Values an injection would hide in, and bytes that trip naive escaping.
const NASTY = [
  "'); DROP TABLE x; --",
  "\\'; DROP TABLE t; -- \\",
  '" OR ""="',
  '`; DELETE FROM `_sync_state`; --',
  'tab\there\nnewline\r\nCRLF',
  'nul\0byte and \x1a ctrl-Z',
  '\\N',
  `\${SOURCE_DATABASE_URL}`,
  'emoji 😀 and 中文 and ä',
  '',
  ' leading and trailing spaces ',
]

describe('hostile names and values', () => {
  const WEIRD = `we\`ird 'ta"ble`
  const UNICODE = 'ünïcødé 表'
  const LONG = `long_${'x'.repeat(59)}`
  const LONG_COL = `c${'y'.repeat(63)}`
  const ID = 'i`d'
  const CURSOR = 'upd at`ed'

  it('syncs tables and columns named with quotes, spaces, unicode, reserved words and 64 characters', async () => {
    expect(LONG).toHaveLength(64)
    expect(LONG_COL).toHaveLength(64)
    await dbs.source.query(
      `CREATE TABLE ${q(WEIRD)} (${q(ID)} INT PRIMARY KEY, ${q(CURSOR)} DATETIME(6) NOT NULL,
         ${q('select')} TEXT, ${q('from')} VARCHAR(100), ${q(`col 'with' "quotes"`)} VARCHAR(100),
         ${q('ünï')} VARCHAR(50), ${q(LONG_COL)} INT, KEY ${q(`ix ${LONG_COL}`.slice(0, 64))} (${q(CURSOR)}))`,
    )
    await dbs.source.query(
      `CREATE TABLE ${q(UNICODE)} (${q('clé')} VARCHAR(20) PRIMARY KEY, ${q('värde')} VARCHAR(100))`,
    )
    await dbs.source.query(
      `CREATE TABLE ${q('select')} (${q('order')} INT PRIMARY KEY, ${q('from')} DATETIME NOT NULL, ${q('where')} TEXT)`,
    )
    await dbs.source.query(
      `CREATE TABLE ${q(LONG)} (${q(LONG_COL)} INT PRIMARY KEY, v TEXT, updated_at DATETIME NOT NULL)`,
    )
    // Names that are LIKE patterns of each other: a LIKE on table names would mix them up.
    for (const t of ['per%cent', 'under_score', 'underXscore']) {
      await dbs.source.query(`CREATE TABLE ${q(t)} (id INT PRIMARY KEY, v VARCHAR(20))`)
      await dbs.source.query(`INSERT INTO ${q(t)} VALUES (1, ?)`, [t])
    }
    const insertNasty = async (from: number, stamp: string) => {
      for (let i = 0; i < NASTY.length; i++) {
        const v = NASTY[i]!
        await dbs.source.query(`REPLACE INTO ${q(WEIRD)} VALUES (?, ?, ?, ?, ?, ?, ?)`, [
          from + i,
          stamp,
          v,
          v.slice(0, 100),
          v.slice(0, 100),
          v.slice(0, 50),
          i,
        ])
        await dbs.source.query(`REPLACE INTO ${q(UNICODE)} VALUES (?, ?)`, [`k${from + i}`, v])
        await dbs.source.query(`REPLACE INTO ${q('select')} VALUES (?, ?, ?)`, [from + i, stamp, v])
        await dbs.source.query(`REPLACE INTO ${q(LONG)} VALUES (?, ?, ?)`, [from + i, v, stamp])
      }
    }
    await insertNasty(1, '2024-01-01 00:00:00')
    const file = await pipeline([
      `  - name: ${y(WEIRD)}`,
      `    cursor: ${y(CURSOR)}`,
      '    batch_size: 2',
      '    deletes: detect',
      `  - name: ${y(UNICODE)}`,
      '    strategy: full_refresh',
      `  - name: ${y('select')}`,
      `    cursor: ${y('from')}`,
      `  - name: ${y(LONG)}`,
      '    cursor: updated_at',
      '    batch_size: 3',
      '  - name: "*"',
      '    strategy: full_refresh',
    ])
    const first = await sync(file)
    expect(Object.keys(first.byTable).sort()).toEqual(
      [WEIRD, UNICODE, 'select', LONG, 'per%cent', 'under_score', 'underXscore'].sort(),
    )
    const check = async () => {
      expect(await expectSame(WEIRD, [ID])).toBeGreaterThan(0)
      await expectSame(UNICODE, ['clé'])
      await expectSame('select', ['order'])
      await expectSame(LONG, [LONG_COL])
      for (const t of ['per%cent', 'under_score', 'underXscore']) await expectSame(t, ['id'])
    }
    await check()

    // The upsert path and delete detection, on the same names: rows change, arrive and leave.
    await insertNasty(5, '2024-02-01 00:00:00')
    await dbs.source.query(`DELETE FROM ${q(WEIRD)} WHERE ${q(ID)} = 1`)
    const second = await sync(file)
    expect(second.byTable[WEIRD]).toMatchObject({ status: 'ok', deleted: 1 })
    await check()
    const validate = await runCli(['validate', '-p', file, '--data'])
    expect(validate.exitCode, validate.stderr + validate.stdout).toBe(0)
    const drift = await runCli(['diff-schema', '-p', file])
    expect(drift.exitCode, drift.stderr + drift.stdout).toBe(0)
  })

  it("fails a table whose columns collide with dbsync's own _dlt_ columns, and syncs the others", async () => {
    await dbs.source.query('CREATE TABLE clash (id INT PRIMARY KEY, _dlt_id VARCHAR(64), v INT)')
    await dbs.source.query("INSERT INTO clash VALUES (1, 'mine', 1)")
    await dbs.source.query('CREATE TABLE fine (id INT PRIMARY KEY, v INT)')
    await dbs.source.query('INSERT INTO fine VALUES (1, 1)')
    const file = await pipeline(['  - name: "*"', '    strategy: full_refresh'])
    const res = await runCli(['sync', '-p', file, '--json'])
    const summary = JSON.parse(res.stdout) as {
      tables: Array<{ table: string; status: string; error?: string }>
    }
    const clash = summary.tables.find((t) => t.table === 'clash')!
    expect(res.exitCode).toBe(1)
    expect(clash).toMatchObject({ status: 'failed' })
    expect(clash.error).toMatch(/source column "_dlt_id" has the name of a column dbsync adds/)
    const [tables] = await dbs.target.query("SHOW TABLES LIKE 'clash'")
    expect(tables).toEqual([])
    expect(summary.tables.find((t) => t.table === 'fine')?.status).toBe('ok')
    await expectSame('fine', ['id'])
  })
})

own.describe('odd values', () => {
  it('copies rows near max_allowed_packet, and fails with the key and size a row that cannot fit', async () => {
    await dbs.source.query(
      'CREATE TABLE wide (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT, updated_at DATETIME NOT NULL)',
    )
    const MB = 1024 * 1024
    // REPEAT builds the values on the server: the INSERT statements stay small.
    await dbs.source.query(
      `INSERT INTO wide VALUES (1, REPEAT(x'00ff', 700000), REPEAT('ä', 10), '2024-01-01'),
        (2, NULL, REPEAT('x', ${Math.floor(3.5 * MB)}), '2024-01-01'),
        (3, REPEAT(x'41', ${Math.floor(3.9 * MB)}), NULL, '2024-01-01'),
        (4, 'small', 'small', '2024-01-01')`,
    )
    const file = await pipeline(['  - name: wide', '    cursor: updated_at', '    batch_size: 2'])
    // The first load streams rows through LOAD DATA: no statement size limit.
    const first = await sync(file)
    expect(first.byTable.wide?.status).toBe('ok')
    await expectSame('wide', ['id'])

    // Incremental upserts carry binary values as hex literals, twice their size: 1.4 MB fits in a 4 MiB
    // packet; 3.5 MB of text (quoted, UTF-8) with 300 KB of binary (600 KB in hex) does not, and that row's
    // table fails, naming the row and the size.
    await dbs.source.query(
      "UPDATE wide SET updated_at = '2024-02-01', b = REPEAT(x'ff00', 700000) WHERE id = 1",
    )
    const smallOnly = await sync(file)
    expect(smallOnly.byTable.wide?.status).toBe('ok')
    await expectSame('wide', ['id'])
    const [before] = await dbs.target.query(
      'SELECT id, MD5(b) AS b, MD5(t) AS t, updated_at FROM wide ORDER BY id',
    )
    await dbs.source.query(
      "UPDATE wide SET updated_at = '2024-03-01', t = CONCAT('é', t), b = REPEAT(x'ff', 300000) WHERE id = 2",
    )
    const tooBig = await sync(file, 1)
    const error = tooBig.byTable.wide?.error ?? ''
    expect(error).toMatch(
      /table wide: row \(2\) needs \d+ bytes, more than the target's max_allowed_packet \(4194304\)/,
    )
    expect(tooBig.res.stdout + tooBig.res.stderr).toMatch(/max_allowed_packet/)
    // Nothing half-written: the target is exactly as it was.
    const [after] = await dbs.target.query(
      'SELECT id, MD5(b) AS b, MD5(t) AS t, updated_at FROM wide ORDER BY id',
    )
    expect(after).toEqual(before)
  })

  it('copies zero and invalid dates that a lax source sql_mode let in, zero cursors included', async () => {
    await dbs.source.query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
    await dbs.source.query(
      `CREATE TABLE lax (id INT PRIMARY KEY, d DATE, dt DATETIME(3), ts TIMESTAMP NULL, updated_at DATETIME NOT NULL)`,
    )
    await dbs.source.query(
      `INSERT INTO lax VALUES
        (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
        (2, '2024-02-31', '2023-04-31 12:00:00.123', '2024-01-01 00:00:00', '2024-01-01 00:00:00'),
        (3, '2024-00-15', '2024-13-00 00:00:00', NULL, '0000-00-00 00:00:00'),
        (4, '1000-01-01', '9999-12-31 23:59:59.999', '2038-01-19 03:14:07', '2024-01-01 00:00:00')`,
    )
    const file = await pipeline(['  - name: lax', '    cursor: updated_at', '    batch_size: 1'])
    await sync(file)
    await expectSame('lax', ['id'])
    // The upsert path too: invalid dates written again by INSERT … ON DUPLICATE KEY UPDATE.
    await dbs.source.query(
      "UPDATE lax SET d = '2025-02-30', dt = '0000-00-00', updated_at = '2024-06-01' WHERE id IN (2, 3)",
    )
    await dbs.source.query(
      "INSERT INTO lax VALUES (5, '0000-00-00', '2024-02-30 00:00:00', NULL, '2024-06-01')",
    )
    const second = await sync(file)
    // Rows 2 and 3 changed; row 1's zero cursor is re-read by key on every run (it sorts below any saved
    // position), and the boundary of a second-precision cursor may be read again.
    expect(second.byTable.lax).toMatchObject({ status: 'ok' })
    expect(second.byTable.lax?.rows_read).toBeGreaterThanOrEqual(3)
    await expectSame('lax', ['id'])
  })

  it('syncs from a source in time zone +05:30: TIMESTAMPs as instants, local DATETIME cursors not held back', async () => {
    const [[tz]] = (await dbs.source.query('SELECT @@global.time_zone AS tz')) as unknown as [
      [{ tz: string }],
    ]
    expect(tz.tz).toBe('+05:30')
    await dbs.source.query(
      `CREATE TABLE tzd (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL, local_dt DATETIME(6) NOT NULL, KEY (local_dt))`,
    )
    await dbs.source.query(
      `CREATE TABLE tzt (id INT PRIMARY KEY, dt DATETIME NULL, updated_at TIMESTAMP(6) NOT NULL, KEY (updated_at))`,
    )
    // Writers in the server's own zone, as applications usually are.
    const writeLocal = async (sql: string) => {
      await dbs.source.query('SET time_zone = @@global.time_zone')
      await dbs.source.query(sql)
      await dbs.source.query("SET time_zone = '+00:00'")
    }
    await writeLocal(`INSERT INTO tzd VALUES (1, '2024-03-31 02:30:00', NOW(6) - INTERVAL 1 HOUR),
      (2, '1970-01-01 05:30:01', NOW(6) - INTERVAL 1 HOUR)`)
    await writeLocal(`INSERT INTO tzt VALUES (1, '2024-03-31 02:30:00', NOW(6) - INTERVAL 1 HOUR),
      (2, NULL, NOW(6) - INTERVAL 1 HOUR)`)
    const file = await pipeline([
      '  - name: tzd',
      '    cursor: local_dt',
      '  - name: tzt',
      '    cursor: updated_at',
    ])
    await sync(file)
    await expectSame('tzd', ['id'])
    await expectSame('tzt', ['id'])
    // Rows stamped a second ago in +05:30 local time are below the run's cap and arrive in the next
    // run; a cap taken in UTC would hold DATETIME rows back for 5 h 30.
    await waitForServerSecond(dbs.source)
    await writeLocal('INSERT INTO tzd VALUES (3, NOW(6), NOW(6) - INTERVAL 1 SECOND)')
    await writeLocal('UPDATE tzt SET dt = NOW(), updated_at = NOW(6) - INTERVAL 1 SECOND WHERE id = 2')
    await new Promise((r) => setTimeout(r, 100))
    const second = await sync(file)
    expect(second.byTable.tzd?.rows_read).toBe(1)
    expect(second.byTable.tzt?.rows_read).toBe(1)
    await expectSame('tzd', ['id'])
    await expectSame('tzt', ['id'])
  })

  it('copies latin1 and binary-collated text byte for byte, keyset paging over such keys', async () => {
    await dbs.source.query(
      `CREATE TABLE texts (
         k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_general_ci NOT NULL PRIMARY KEY,
         l1 VARCHAR(50) CHARACTER SET latin1, l1bin VARCHAR(50) CHARACTER SET latin1 COLLATE latin1_bin,
         u8bin VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, vb VARBINARY(50), bn BINARY(6),
         ch CHAR(10) CHARACTER SET latin1, updated_at DATETIME NOT NULL)`,
    )
    await dbs.source.query('CREATE TABLE binkeys (k VARBINARY(16) PRIMARY KEY, v VARCHAR(10))')
    // latin1 bytes above 0x7f (0x80 is the euro sign in MySQL's latin1, which is cp1252), case variants
    // under a _bin collation, trailing spaces in VARCHAR (kept) and CHAR (padding), NUL-padded BINARY.
    await dbs.source.query(
      `INSERT INTO texts VALUES
        ('Äpfel', x'80e9ff', 'Case', 'Case', x'00ff00', x'01', 'pad   ', '2024-01-01'),
        ('apfel2', 'café', 'case', 'case', '', x'', '', '2024-01-01'),
        ('Zebra', 'naïve ', 'CASE ', 'CASE ', x'7f', 'abc', 'x', '2024-01-01'),
        ('é', NULL, NULL, '😀 ', NULL, NULL, NULL, '2024-01-01'),
        ('b', 'ß', 'ß', 'ß', x'c3', x'ffffffffffff', 'ß', '2024-01-01')`,
    )
    await dbs.source.query(
      `INSERT INTO binkeys VALUES (x'', 'empty'), (x'00', 'nul'), (x'0000', 'nul2'), (x'ff', 'ff'), ('A', 'A'), ('a', 'a')`,
    )
    const file = await pipeline([
      '  - name: texts',
      '    cursor: updated_at',
      '    batch_size: 1',
      '  - name: binkeys',
      '    strategy: full_refresh',
    ])
    await sync(file)
    await expectSame('texts', ['k'])
    await expectSame('binkeys', ['k'])
    // Every row shares one cursor value: the second pass pages by the latin1 case-insensitive key alone.
    await dbs.source.query("UPDATE texts SET updated_at = '2024-02-01', l1 = CONCAT(l1, x'a3')")
    const second = await sync(file)
    expect(second.byTable.texts).toMatchObject({ status: 'ok', rows_read: 5 })
    await expectSame('texts', ['k'])
  })
})

/** "Billion laughs": ten levels of nine aliases each, 10^9 strings once expanded. */
function aliasBomb(): string {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i)
    const name = String.fromCharCode(97 + i)
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`)
  }
  return `${lines.join('\n')}\n`
}

describe('malformed pipeline files', () => {
  const VALID_HEAD =
    'version: 1\nname: bad\nsource:\n  url: mysql://u:p@127.0.0.1:1/db\ntarget:\n  url: mysql://u:p@127.0.0.1:1/db\n'
  const cases: Array<[string, string | Buffer]> = [
    ['an empty file', ''],
    ['a list instead of a mapping', '- a\n- b\n'],
    ['a bare scalar', 'hello\n'],
    ['broken YAML', 'version: 1\nname: [unclosed\n'],
    ['tab indentation', 'version: 1\nsource:\n\turl: x\n'],
    ['binary garbage', Buffer.from([0, 159, 146, 150, 255, 0, 1, 2, 10, 13, 0])],
    ['an alias bomb (billion laughs)', aliasBomb()],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}\n`],
    ['version 2', VALID_HEAD.replace('version: 1', 'version: 2') + 'tables:\n  - name: t\n'],
    ['no version', VALID_HEAD.replace('version: 1\n', '') + 'tables:\n  - name: t\n'],
    ['no tables', VALID_HEAD],
    ['an empty table list', `${VALID_HEAD}tables: []\n`],
    ['a table without a name', `${VALID_HEAD}tables:\n  - strategy: full_refresh\n`],
    ['an unknown top-level key', `${VALID_HEAD}tabels:\n  - name: t\n`],
    ['an unknown nested key', `${VALID_HEAD}defaults:\n  batchsize: 10\ntables:\n  - name: t\n`],
    ['a duplicate key', `${VALID_HEAD}name: again\ntables:\n  - name: t\n`],
    ['a string batch_size', `${VALID_HEAD}tables:\n  - name: t\n    batch_size: many\n`],
    ['a negative batch_size', `${VALID_HEAD}tables:\n  - name: t\n    batch_size: -5\n`],
    ['a zero concurrency', `${VALID_HEAD}concurrency: 0\ntables:\n  - name: t\n`],
    ['a bad duration', `${VALID_HEAD}defaults:\n  lag: 5 minutes\ntables:\n  - name: t\n`],
    ['an unknown strategy', `${VALID_HEAD}tables:\n  - name: t\n    strategy: sometimes\n`],
    [
      'a bad pipeline name',
      VALID_HEAD.replace('name: bad', 'name: "bad name; DROP"') + 'tables:\n  - name: t\n',
    ],
    [
      'a non-mysql URL',
      VALID_HEAD.replace('mysql://u:p@127.0.0.1:1/db', 'postgres://u@h/db') + 'tables:\n  - name: t\n',
    ],
    [
      'a URL without a database',
      VALID_HEAD.replace('mysql://u:p@127.0.0.1:1/db', 'mysql://u@h:3306') + 'tables:\n  - name: t\n',
    ],
    [
      'an unset variable',
      VALID_HEAD.replace('mysql://u:p@127.0.0.1:1/db', `\${DBSYNC_SURELY_UNSET_VAR}`) +
        'tables:\n  - name: t\n',
    ],
    [
      'both every and cron',
      `${VALID_HEAD}schedule: { every: 5m, cron: "* * * * *" }\ntables:\n  - name: t\n`,
    ],
    [
      'max_delay below base_delay',
      `${VALID_HEAD}retry: { base_delay: 10s, max_delay: 1s }\ntables:\n  - name: t\n`,
    ],
    [
      'a missing password_file',
      `${VALID_HEAD}tables:\n  - name: t\n`.replace('target:\n', 'target:\n  password_file: ./nope.txt\n'),
    ],
  ]

  // One test per kind, so that a loaded machine spreads the CLI start-ups over several timeouts.
  it.each(cases)('rejects %s with exit 2 and a message, never an internal error', async (_name, text) => {
    const file = await writeTempPipeline('')
    await writeFile(file, text)
    expectUsageError(await runCli(['sync', '-p', file], { timeoutMs: 120_000 }))
  })

  it('rejects a directory and a missing file with exit 2 and a message', async () => {
    const dir = join(dirname(await writeTempPipeline('')), 'a-directory.yaml')
    await mkdir(dir)
    expectUsageError(await runCli(['sync', '-p', dir], { timeoutMs: 120_000 }))
    expectUsageError(await runCli(['sync', '-p', `${dir}.nope`], { timeoutMs: 120_000 }))
  })
})

function expectUsageError(res: CliResult): void {
  expect(res.exitCode, res.stderr).toBe(2)
  expect(res.stderr).toMatch(/^error: /m)
  expect(res.stderr).not.toMatch(/internal error/)
}
