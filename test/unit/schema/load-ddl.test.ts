import { describe, expect, it } from 'vitest'
import { detectFlavor } from '../../../src/db/flavor.js'
import { firstLoadDdl, INDEXES_AT_CREATE_ROWS } from '../../../src/schema/load-ddl.js'
import { col, table } from './helpers.js'

const mariadb = detectFlavor('10.11.6-MariaDB')
const byName = {
  name: 'by_name',
  unique: false,
  kind: 'BTREE',
  columns: [{ name: 'name', subPart: null, descending: false }],
}
const withRows = (estimatedRows: number) =>
  table([col('name', 'varchar(40)')], { indexes: [byName], estimatedRows })

describe('firstLoadDdl', () => {
  it('creates a small table with its indexes: there is nothing to add after the load', () => {
    const ddl = firstLoadDdl(withRows(1_000), mariadb)
    expect(ddl.deferred).toBe(false)
    expect(ddl.create).toMatch(/KEY `by_name`/)
    expect(ddl.afterLoad()).toBeNull()
  })

  it('defers the indexes of a large table, and of one the statistics call empty (they may be stale)', () => {
    for (const rows of [INDEXES_AT_CREATE_ROWS + 1, 0]) {
      const ddl = firstLoadDdl(withRows(rows), mariadb)
      expect(ddl.deferred).toBe(true)
      expect(ddl.create).not.toMatch(/by_name/)
      expect(ddl.afterLoad()).toMatch(/ADD KEY `by_name`/)
    }
  })

  it('adds what a table found in the target lacks, however it was created (a resumed first load)', () => {
    const ddl = firstLoadDdl(withRows(1_000), mariadb)
    expect(ddl.afterLoad(new Set(['PRIMARY']))).toMatch(/ADD KEY `by_name`/)
    expect(ddl.afterLoad(new Set(['PRIMARY', 'by_name']))).toBeNull()
  })
})
