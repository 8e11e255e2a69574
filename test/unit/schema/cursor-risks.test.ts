import { describe, expect, it } from 'vitest'
import { cursorFindings, cursorRisks } from '../../../src/schema/cursor-risks.js'
import type { ColumnDef, TableDef } from '../../../src/schema/table-def.js'
import { table } from './helpers.js'

function col(name: string, dataType: string, extra: Partial<ColumnDef> = {}): ColumnDef {
  return {
    name,
    ordinal: 1,
    dataType,
    columnType: dataType,
    nullable: false,
    charset: null,
    collation: null,
    default: { kind: 'none' },
    onUpdate: '',
    autoIncrement: false,
    generated: null,
    comment: '',
    ...extra,
  }
}

describe('cursorRisks', () => {
  it('has nothing to say about a DATETIME cursor without a zero default', () => {
    expect(cursorRisks([col('updated_at', 'datetime')])).toEqual([])
  })
  it('warns about a zero-date default', () => {
    const c = col('updated_at', 'datetime', { default: { kind: 'literal', value: '0000-00-00 00:00:00' } })
    expect(cursorRisks([c]).join('\n')).toMatch(/"updated_at" defaults to a zero date/)
  })
  it('warns that number, TIME and YEAR cursors have no late-commit cap', () => {
    expect(cursorRisks([col('version', 'bigint')]).join('\n')).toMatch(
      /is a number: it has no late-commit cap/,
    )
    expect(cursorRisks([col('t', 'time')]).join('\n')).toMatch(/is a TIME, not an instant/)
  })
  it('says a DATE cursor holds back the current day', () => {
    expect(cursorRisks([col('d', 'date')]).join('\n')).toMatch(/today's changes arrive tomorrow/)
  })
})

describe('cursorFindings', () => {
  const index = (name: string) =>
    ({ name: `ix_${name}`, columns: [{ name }] }) as unknown as TableDef['indexes'][number]

  it('names each cursor column no index starts with, and a NULL cursor only when every column can be NULL', () => {
    const def = {
      ...table([col('a', 'datetime', { nullable: true }), col('b', 'datetime', { nullable: true })]),
      indexes: [index('a')],
    }
    expect(cursorFindings(['a', 'b'], def)).toEqual([
      {
        column: 'b',
        message: 'cursor column "b" has no index that starts with it, so each run scans the whole table',
        hint: 'CREATE INDEX ... ON t (b)',
      },
      {
        message:
          'cursor columns "a", "b" are all nullable, so rows with NULL cursor are re-read on every run',
        hint: 'make the column NOT NULL, or add a NOT NULL column to the cursor list',
      },
    ])
    const notNull = {
      ...def,
      columns: def.columns.map((c) => (c.name === 'b' ? { ...c, nullable: false } : c)),
    }
    expect(cursorFindings(['a', 'b'], notNull).map((f) => f.column)).toEqual(['b'])
  })

  it('counts the primary key as an index, and leaves a column the source lacks to the refusal', () => {
    const keyed = table([col('ts', 'datetime')], { primaryKey: ['ts', 'id'] })
    expect(cursorFindings(['ts'], keyed)).toEqual([])
    expect(cursorFindings(['gone'], table([]))).toEqual([])
  })
})
