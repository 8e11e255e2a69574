import { describe, expect, it } from 'vitest'
import { matchGlob, parseTablesFlag, resolveTables } from '../../../src/config/select.js'
import type { Pipeline, TableSelector } from '../../../src/config/types.js'
import { ConfigError } from '../../../src/errors.js'

function selector(pattern: string, extra: Partial<TableSelector> = {}): TableSelector {
  return {
    pattern,
    isGlob: /[*?[]/.test(pattern),
    exclude: false,
    line: 0,
    strategy: 'full_refresh',
    cursor: [],
    batchSize: 5000,
    lagMs: 0,
    deletes: 'ignore',
    ...extra,
  }
}

function pipeline(...tables: TableSelector[]): Pipeline {
  tables.forEach((t, i) => {
    t.line = 10 + i
  })
  return { tables } as Pipeline
}

const SOURCE = ['orders', 'customers', 'audit_log', 'audit_2024', 'countries', 'order_items', 'Orders_old']

describe('resolveTables', () => {
  it('gives each table to the first selector that matches it', () => {
    const p = pipeline(
      selector('orders', { strategy: 'incremental', cursor: ['updated_at'] }),
      selector('order*', { batchSize: 100 }),
      selector('*'),
    )
    const { tables } = resolveTables(p, SOURCE)
    expect(tables.map((t) => [t.name, t.line])).toEqual([
      ['orders', 10],
      ['order_items', 11],
      ['Orders_old', 12],
      ['audit_2024', 12],
      ['audit_log', 12],
      ['countries', 12],
      ['customers', 12],
    ])
    expect(tables[0]).toEqual({
      name: 'orders',
      strategy: 'incremental',
      cursor: ['updated_at'],
      batchSize: 5000,
      lagMs: 0,
      deletes: 'ignore',
      line: 10,
    })
    expect(tables[1]?.batchSize).toBe(100)
  })

  it('drops the tables an exclude selector claims, but only those not claimed before it', () => {
    const p = pipeline(selector('audit_log'), selector('audit_*', { exclude: true }), selector('*'))
    const names = resolveTables(p, SOURCE).tables.map((t) => t.name)
    expect(names).toContain('audit_log')
    expect(names).not.toContain('audit_2024')
  })

  it('matches globs case-sensitively, with ? and [...] classes', () => {
    const source = ['t1', 't2', 'tx', 'T1', 't10']
    const names = (pattern: string) =>
      resolveTables(pipeline(selector(pattern)), source).tables.map((t) => t.name)
    expect(names('t?')).toEqual(['t1', 't2', 'tx'])
    expect(names('t[12]')).toEqual(['t1', 't2'])
    expect(names('t[0-9]*')).toEqual(['t1', 't10', 't2'])
    expect(names('t[!0-9]')).toEqual(['tx'])
    expect(names('T*')).toEqual(['T1'])
  })

  it('reports exact selectors whose table is not in the source', () => {
    const p = pipeline(
      selector('orders'),
      selector('ordres'),
      selector('gone', { exclude: true }),
      selector('x_*'),
    )
    const { unmatched, shadowed } = resolveTables(p, SOURCE)
    expect(unmatched.map((s) => s.pattern)).toEqual(['ordres', 'gone'])
    expect(shadowed).toEqual([])
  })

  it('reports exact selectors that an earlier glob took the table from', () => {
    const p = pipeline(selector('*'), selector('orders', { strategy: 'incremental' }))
    const { tables, shadowed, unmatched } = resolveTables(p, SOURCE)
    expect(shadowed.map((s) => s.pattern)).toEqual(['orders'])
    expect(unmatched).toEqual([])
    expect(tables.find((t) => t.name === 'orders')?.strategy).toBe('full_refresh')
  })

  it('treats regex characters in names literally', () => {
    const p = pipeline(selector('a.b*'))
    expect(resolveTables(p, ['a.b1', 'axb1']).tables.map((t) => t.name)).toEqual(['a.b1'])
  })

  it('narrows the result to --tables names and globs, keeping selector order', () => {
    const p = pipeline(selector('orders'), selector('*'))
    const { tables } = resolveTables(p, SOURCE, ['customers', 'ord*'])
    expect(tables.map((t) => t.name)).toEqual(['orders', 'customers', 'order_items'])
  })

  it('rejects a --tables entry that matches no source table, suggesting a close one', () => {
    const p = pipeline(selector('*'))
    const err = catchConfigError(() => resolveTables(p, SOURCE, ['orders', 'custmers']))
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe('--tables: no source table matches "custmers"')
    expect(err.hint).toBe('did you mean "customers"?')
  })

  it('rejects a --tables entry that the pipeline excludes', () => {
    const p = pipeline(selector('audit_*', { exclude: true }), selector('*'))
    const err = catchConfigError(() => resolveTables(p, SOURCE, ['audit_log']))
    expect(err.message).toBe('--tables: "audit_log" is not selected by the pipeline file')
  })
})

describe('parseTablesFlag', () => {
  it('splits on commas, trims and drops empties and repeats', () => {
    expect(parseTablesFlag('a,b')).toEqual(['a', 'b'])
    expect(parseTablesFlag(' a , b,,a, audit_* ')).toEqual(['a', 'b', 'audit_*'])
  })

  it('rejects an empty list', () => {
    expect(() => parseTablesFlag(' , ')).toThrow(ConfigError)
  })
})

describe('matchGlob', () => {
  it('matches the whole name', () => {
    expect(matchGlob('ord*', 'orders')).toBe(true)
    expect(matchGlob('ord', 'orders')).toBe(false)
    expect(matchGlob('*s', 'orders')).toBe(true)
  })

  it('treats an unclosed [ as a plain character', () => {
    expect(matchGlob('a[b', 'a[b')).toBe(true)
  })
})

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}
