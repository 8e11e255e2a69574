import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ColumnDef } from '../../src/schema/table-def.js'
import { readHashes } from '../../src/validate/checksum-hash.js'
import type { CompareSpec, RangeHash } from '../../src/validate/checksum-types.js'
import type { ChunkConns } from '../../src/validate/read-pair.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// The SHA1-of-joined-rows hash (checksum-hash.ts) against real servers: one changed byte, a row moved to
// another key, NULL against '' and a text cut by group_concat_max_len must never compare equal.
const DDL = `CREATE TABLE c (id INT NOT NULL PRIMARY KEY, v VARCHAR(50) NULL, n DECIMAL(10,2) NOT NULL,
  b VARBINARY(8) NOT NULL, t DATETIME(6) NOT NULL)`
const ROWS = `INSERT INTO c VALUES (1, 'a/b#c', 1.50, X'2F23', '2024-01-01 00:00:00.000001'),
  (2, NULL, 2.00, X'00', '2024-01-02 00:00:00'), (3, '', 3.00, X'', '2024-01-03 00:00:00'),
  (4, 'same', 4.00, X'FF', '2024-01-04 00:00:00')`

describe('the joined-rows chunk hash', () => {
  let dbs: TestDbs
  let spec: CompareSpec
  const all = { lo: null, hi: null }
  const hashes = () =>
    readHashes(spec, { source: dbs.source, target: dbs.target } as unknown as ChunkConns, all)
  const equal = ([s, t]: [RangeHash, RangeHash]) => s.count === t.count && s.sum === t.sum
  const reset = async () => {
    await dbs.target.query('DELETE FROM c')
    await dbs.target.query(ROWS)
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    for (const conn of [dbs.source, dbs.target]) {
      await conn.query(`${DDL}; ${ROWS}`)
      await conn.query('SET SESSION group_concat_max_len = 1048576')
    }
    const [defs] = await dbs.source.query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
              CHARACTER_SET_NAME AS charset, IS_NULLABLE = 'YES' AS nullable
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'c'
        ORDER BY ORDINAL_POSITION`,
    )
    const columns = defs as ColumnDef[]
    const keys = { source: [], target: [] }
    spec = { table: 'c', columns, keys, pending: null, concat: true } as unknown as CompareSpec
  }, 120_000)

  afterAll(async () => {
    await dbs?.drop()
  })

  it('is one SHA1 per side, equal for equal tables', async () => {
    const [s, t] = await hashes()
    expect(s).toMatchObject({ count: 4n, linear: false })
    expect(equal([s, t])).toBe(true)
  })

  it.each([
    ['one changed byte of a text', "UPDATE c SET v = 'a/b#d' WHERE id = 1"],
    ['one changed byte of a binary value', "UPDATE c SET b = X'2F24' WHERE id = 1"],
    ['a microsecond', "UPDATE c SET t = '2024-01-01 00:00:00.000002' WHERE id = 1"],
    ["'' for NULL", "UPDATE c SET v = '' WHERE id = 2"],
    ["NULL for ''", 'UPDATE c SET v = NULL WHERE id = 3'],
    ['a row moved to another key', 'UPDATE c SET id = 5 WHERE id = 4'],
    ['two rows that swapped values', "UPDATE c SET v = IF(id = 2, '', NULL) WHERE id IN (2, 3)"],
  ])('differs for %s', async (_what, change) => {
    await dbs.target.query(change)
    try {
      const pair = await hashes()
      expect(pair[0].linear).toBe(false)
      expect(equal(pair)).toBe(false)
    } finally {
      await reset()
    }
  })

  it('hashes a range as sums when a side cut its joined text, and still finds a change past the cut', async () => {
    await dbs.source.query('SET SESSION group_concat_max_len = 4')
    await dbs.target.query('SET SESSION group_concat_max_len = 4')
    try {
      const same = await hashes()
      expect(same.map((h) => h.linear)).toEqual([true, true])
      expect(equal(same)).toBe(true)
      await dbs.target.query("UPDATE c SET v = 'changed' WHERE id = 4")
      expect(equal(await hashes())).toBe(false)
    } finally {
      await reset()
      await dbs.source.query('SET SESSION group_concat_max_len = 1048576')
      await dbs.target.query('SET SESSION group_concat_max_len = 1048576')
    }
  })
})
