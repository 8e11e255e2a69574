import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ColumnDef } from '../../src/schema/table-def.js'
import { rowDigest } from '../../src/validate/checksum-sql.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// Adjacent columns of each image form: bare numbers, bare temporal values, HEX (short strings, ENUM, SET)
// and SHA1 (longer strings), nullable ones too.
const DDL = `CREATE TABLE d (
  id INT NOT NULL PRIMARY KEY,
  a INT NOT NULL, b INT NOT NULL, x DECIMAL(5,2) NOT NULL, t DATETIME(6) NOT NULL,
  s1 VARCHAR(3) NULL, s2 VARCHAR(3) NULL, e ENUM('a','ab','b') NULL, st SET('a','b') NULL,
  l1 VARCHAR(50) NULL, l2 VARCHAR(50) NULL)`
const BASE = { a: 12, b: 3, x: '1.20', t: '2024-01-01 00:00:00.000001', s1: 'ab', s2: 'c', e: 'a', st: 'a' }
const ROW = { ...BASE, l1: 'ab', l2: 'c' }

/** Each variant of ROW must hash differently from it (and from every other variant). */
const VARIANTS: Array<[string, Partial<Record<keyof typeof ROW, string | number | null>>]> = [
  ['a digit moved across a number boundary', { a: 1, b: 23 }],
  ['a number and a decimal swapping digits', { b: 31, x: '.20' }],
  ['a microsecond', { t: '2024-01-01 00:00:00.000010' }],
  ['a byte moved across a short-string boundary', { s1: 'a', s2: 'bc' }],
  ['a byte moved across a long-string boundary', { l1: 'a', l2: 'bc' }],
  ['NULL for a short string', { s1: null }],
  ["'' for a short string", { s1: '' }],
  ["'N' for a short string", { s1: 'N' }],
  ['NULL for a long string', { l1: null }],
  ["'' for a long string", { l1: '' }],
  ["'N' for a long string", { l1: 'N' }],
  ['another ENUM label', { e: 'ab' }],
  ['NULL for an ENUM', { e: null }],
  ['a SET with one more member', { st: 'a,b' }],
  ['an empty SET', { st: '' }],
  ['NULL for a SET', { st: null }],
  ['an ENUM and a SET value both moved', { e: 'b', st: 'b' }],
]

describe('the row digest tells apart every change of one row', () => {
  let dbs: TestDbs
  let digests: Map<number, string>

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(DDL)
    const rows = [ROW, ROW, ...VARIANTS.map(([, change]) => ({ ...ROW, ...change }))]
    const cols = Object.keys(ROW)
    for (const [i, r] of rows.entries()) {
      await dbs.source.query(
        `INSERT INTO d (id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')})`,
        [i, ...cols.map((c) => r[c as keyof typeof r])],
      )
    }
    const [defs] = await dbs.source.query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
              CHARACTER_SET_NAME AS charset, IS_NULLABLE = 'YES' AS nullable
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd'
          AND COLUMN_NAME <> 'id' ORDER BY ORDINAL_POSITION`,
    )
    const [hashed] = await dbs.source.query(
      `SELECT id, ${rowDigest(defs as ColumnDef[])} AS h FROM d ORDER BY id`,
    )
    digests = new Map((hashed as Array<{ id: number; h: string }>).map((r) => [r.id, r.h]))
  }, 120_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('is equal for equal rows', () => {
    expect(digests.get(1)).toBe(digests.get(0))
  })

  it.each(VARIANTS.map(([what], i) => [what, i + 2] as const))('differs for %s', (_what, id) => {
    const h = digests.get(id)
    expect(h).toMatch(/^[0-9a-f]{40}$/)
    const same = [...digests].filter(([other, g]) => other !== id && g === h).map(([other]) => other)
    expect(same).toEqual([])
  })
})
