import { describe, expect, it } from 'vitest'
import { resolveTables } from '../../../src/config/select.js'
import type { Pipeline, TableConfig, TableSelector } from '../../../src/config/types.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import { refusalError } from '../../../src/plan/refusal.js'
import { tableWarnings } from '../../../src/plan/warnings.js'
import type { TableDef } from '../../../src/schema/table-def.js'
import { checkSelectors, checkTables } from '../../../src/validate/rules.js'
import { col, table } from '../schema/helpers.js'

function selector(pattern: string, line: number, over: Partial<TableSelector> = {}): TableSelector {
  return {
    pattern,
    isGlob: /[*?[]/.test(pattern),
    exclude: false,
    line,
    strategy: 'incremental',
    cursor: ['updated_at'],
    batchSize: 1000,
    lagMs: 0,
    deletes: 'ignore',
    ...over,
  }
}

function pipelineOf(...tables: TableSelector[]): Pipeline {
  return { name: 'p', tables } as unknown as Pipeline
}

const indexedCursor = (name: string): TableDef => ({
  ...table([col('updated_at', 'datetime(6)')], { name }),
  indexes: [
    {
      name: 'ix',
      unique: false,
      columns: [{ name: 'updated_at', subPart: null, descending: false, expression: null }],
      type: 'BTREE',
      comment: '',
    } as unknown as TableDef['indexes'][number],
  ],
})

function check(p: Pipeline, defs: TableDef[]) {
  const byName = new Map(defs.map((d) => [d.name, d]))
  return checkTables(p, resolveTables(p, [...byName.keys()]), byName)
}

describe('checkSelectors', () => {
  it('refuses an incremental entry without a cursor, on its line; excludes and full refreshes pass', () => {
    const p = pipelineOf(
      selector('a', 3, { cursor: [] }),
      selector('b', 4, { cursor: [], exclude: true }),
      selector('c', 5, { cursor: [], strategy: 'full_refresh' }),
    )
    const { errors, warnings } = checkSelectors(p)
    expect(errors.map((e) => [e.table, e.line])).toEqual([['a', 3]])
    expect(errors[0]?.hint).toMatch(/full_refresh/)
    expect(warnings).toEqual([])
  })
})

describe('checkTables', () => {
  it('passes an incremental table with a key and an indexed NOT NULL cursor', () => {
    expect(check(pipelineOf(selector('orders', 3)), [indexedCursor('orders')])).toEqual({
      errors: [],
      warnings: [],
    })
  })

  it('refuses an incremental table without a primary key', () => {
    const def = { ...indexedCursor('logs'), primaryKey: [] }
    const { errors } = check(pipelineOf(selector('logs', 7)), [def])
    expect(errors.map((e) => [e.table, e.line, e.message])).toEqual([
      ['logs', 7, 'table "logs": incremental sync needs a primary key, and the source table has none'],
    ])
  })

  it('warns of an unindexed cursor and of a nullable one', () => {
    const def = table([col('updated_at', 'datetime(6)', { nullable: true })], { name: 'orders' })
    const { errors, warnings } = check(pipelineOf(selector('orders', 3)), [def])
    expect(errors).toEqual([])
    const text = warnings.map((w) => w.message).join('\n')
    expect(text).toMatch(/no index that starts with it/)
    expect(text).toMatch(/nullable, so rows with NULL cursor are re-read on every run/)
  })

  it('warns of a glob that matches nothing, a shadowed entry and an exclude of a missing table, in file order', () => {
    const p = pipelineOf(
      selector('ord*', 2),
      selector('orders', 4),
      selector('shop_*', 6),
      selector('ordrs', 8, { exclude: true }),
    )
    const { errors, warnings } = check(p, [indexedCursor('orders')])
    expect(errors).toEqual([])
    expect(warnings.map((w) => [w.line, w.table])).toEqual([
      [4, 'orders'],
      [6, 'shop_*'],
      [8, 'ordrs'],
    ])
    expect(warnings[0]?.message).toMatch(/already selected by the entry on line 2/)
    expect(warnings[2]?.hint).toBe('did you mean "orders"?')
  })
})

describe('cursor warnings', () => {
  it('are the words plan prints, with validate adding the table, the line, the column and the fix', () => {
    const zero = { kind: 'literal' as const, value: '0000-00-00' }
    const def = table([col('d', 'date', { nullable: true, default: zero })], { name: 'orders' })
    const { warnings } = check(pipelineOf(selector('orders', 3, { cursor: ['d'] })), [def])
    const config = { name: 'orders', strategy: 'incremental', cursor: ['d'], line: 3 } as TableConfig
    const env = { lateCommitCap: true, targetFlavor: detectFlavor('10.11.6-MariaDB') }
    const planned = tableWarnings(config, def, env)
    expect(planned).toHaveLength(4) // unindexed, zero-date default, DATE, nullable
    expect(warnings.map((w) => w.message)).toEqual(planned.map((w) => `table "orders": ${w}`))
    expect(warnings[0]).toMatchObject({ line: 3, column: 'd', hint: 'CREATE INDEX ... ON orders (d)' })
  })
})

describe('refusals', () => {
  it('are the words plan states and sync fails the table with (plan/refusal.ts)', () => {
    const p = pipelineOf(selector('a', 3, { cursor: [] }), selector('logs', 7))
    const keyless = { ...table([col('updated_at', 'datetime(6)')], { name: 'logs' }), primaryKey: [] }
    const { errors } = check(p, [keyless, table([], { name: 'a' })])
    const sync = [refusalError('a', { reason: 'no-cursor' }), refusalError('logs', { reason: 'no-key' })]
    expect(errors.map((e) => [e.message.replace(/^table "(\w+)"/, 'table $1'), e.hint])).toEqual(
      sync.map((e) => [e.message, e.hint]),
    )
  })
})
