import { describe, expect, it } from 'vitest'
import { cursorRisks } from '../../../src/schema/cursor-risks.js'
import type { ColumnDef } from '../../../src/schema/table-def.js'

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
