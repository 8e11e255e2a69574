import { describe, expect, it } from 'vitest'
import { changeSummary, describeChange, diffTable, type SchemaChange } from '../../../src/schema/diff.js'
import { col, table, targetOf } from './helpers.js'

const kinds = (changes: SchemaChange[]) => changes.map((c) => c.kind)

/** Diff a one-column source against a one-column target. */
function diffOne(targetType: string, sourceType: string, opts: { charset?: string | null } = {}) {
  const extra =
    opts.charset === undefined
      ? {}
      : { charset: opts.charset, collation: opts.charset && `${opts.charset}_bin` }
  return diffTable(table([col('c', sourceType, extra)]), targetOf(table([col('c', targetType, extra)])))
}

describe('diffTable', () => {
  it('finds nothing between a table and its target copy, ignoring the _dlt columns', () => {
    const t = table([col('name', 'varchar(50)'), col('price', 'decimal(10,2)'), col('at', 'datetime(6)')])
    expect(diffTable(t, targetOf(t))).toEqual([])
  })

  it('ignores integer display widths, ZEROFILL and the YEAR(4) spelling', () => {
    const s = table([col('a', 'int'), col('b', 'tinyint unsigned'), col('y', 'year')])
    const t = table([col('a', 'int(11)'), col('b', 'tinyint(3) unsigned zerofill'), col('y', 'year(4)')])
    expect(diffTable(s, targetOf(t))).toEqual([])
  })

  it("treats MariaDB's LONGTEXT copy of a MySQL JSON column as the same", () => {
    const s = table([col('j', 'json', { charset: null, collation: null })])
    const t = table([col('j', 'longtext', { charset: 'utf8mb4', collation: 'utf8mb4_bin' })])
    expect(diffTable(s, targetOf(t))).toEqual([])
  })

  it('adds a new column after its source predecessor, or FIRST', () => {
    const s = table([col('a', 'int'), col('email', 'varchar(255)'), col('phone', 'varchar(20)')])
    const t = targetOf(table([col('a', 'int')]))
    const changes = diffTable(s, t)
    expect(changes).toMatchObject([
      { kind: 'add_column', column: { name: 'email' }, after: 'a' },
      { kind: 'add_column', column: { name: 'phone' }, after: 'email' },
    ])
    const first = { ...s, columns: [col('z', 'int'), ...s.columns] }
    expect(diffTable(first, targetOf(s))).toMatchObject([
      { kind: 'add_column', column: { name: 'z' }, after: null },
    ])
  })

  it('matches columns case-insensitively, as the server does', () => {
    expect(
      diffTable(table([col('Email', 'varchar(9)')]), targetOf(table([col('email', 'varchar(9)')]))),
    ).toEqual([])
  })

  it.each([
    ['varchar(50)', 'varchar(100)', 'varchar_length'],
    ['char(5)', 'char(10)', 'char_length'],
    ['char(5)', 'varchar(5)', 'char_to_varchar'],
    ['varchar(255)', 'text', 'string_to_text'],
    ['varchar(20000)', 'mediumtext', 'string_to_text'],
    ['varbinary(16)', 'varbinary(32)', 'varbinary_length'],
    ['binary(4)', 'binary(8)', 'binary_length'],
    ['binary(4)', 'varbinary(4)', 'binary_to_varbinary'],
    ['varbinary(255)', 'blob', 'binary_to_blob'],
    ['tinyint(4)', 'smallint(6)', 'int_width'],
    ['int(11)', 'bigint(20)', 'int_width'],
    ['int(10) unsigned', 'bigint(20) unsigned', 'int_width'],
    ['tinyint(3) unsigned', 'smallint(6)', 'int_signedness'],
    ['int(10) unsigned', 'bigint(20)', 'int_signedness'],
    ['decimal(10,2)', 'decimal(12,2)', 'decimal_precision_scale'],
    ['decimal(10,2)', 'decimal(12,4)', 'decimal_precision_scale'],
    ['decimal(10,2) unsigned', 'decimal(11,2)', 'decimal_precision_scale'],
    ['float', 'double', 'float_to_double'],
    ['bit(4)', 'bit(8)', 'bit_length'],
    ['tinytext', 'text', 'text_blob_size'],
    ['text', 'longtext', 'text_blob_size'],
    ['blob', 'mediumblob', 'text_blob_size'],
    ["enum('a','b')", "enum('a','b','c')", 'enum_values_appended'],
    ["set('x','y')", "set('x','y','z')", 'set_values_appended'],
    ['datetime', 'datetime(6)', 'fsp_raised'],
    ['time(3)', 'time(6)', 'fsp_raised'],
    ['timestamp', 'timestamp(3)', 'fsp_raised'],
  ])('widens %s to %s (%s)', (from, to, reason) => {
    const changes = diffOne(from, to)
    expect(changes).toMatchObject([
      { kind: 'widen_column', from, to, reason, column: { name: 'c', columnType: to } },
    ])
    expect(describeChange(changes[0]!)).toBe(`widen c ${from} -> ${to}`)
  })

  it.each([
    ['varchar(50)', 'int(11)', /type changed/],
    ['varchar(100)', 'varchar(50)', /narrower/],
    ['varchar(10)', 'char(10)', /type changed/],
    ['varbinary(4)', 'binary(4)', /type changed/],
    ['varchar(20000)', 'text', /narrower/],
    ['text', 'varchar(255)', /type changed/],
    ['varchar(10)', 'blob', /type changed/],
    ['bigint(20)', 'int(11)', /narrower/],
    ['int(11)', 'int(10) unsigned', /signed to unsigned/],
    ['tinyint(3) unsigned', 'tinyint(4)', /narrower/],
    ['decimal(10,2)', 'decimal(10,4)', /narrower/],
    ['decimal(10,2)', 'decimal(12,1)', /narrower/],
    ['decimal(10,2)', 'decimal(12,2) unsigned', /signed to unsigned/],
    ['double', 'float', /narrower/],
    ['float(7,4)', 'float(8,4)', /type changed/],
    ["enum('a','b')", "enum('b','a')", /ENUM values reordered or removed/],
    ["enum('a','b','c')", "enum('a','c')", /ENUM values reordered or removed/],
    ["set('x','y')", "set('y','x','z')", /SET values reordered or removed/],
    ['datetime(6)', 'datetime(3)', /narrower/],
    ['datetime', 'timestamp', /type changed/],
    ['date', 'datetime', /type changed/],
    ['longblob', 'blob', /narrower/],
  ])('refuses %s -> %s as incompatible', (from, to, reason) => {
    const changes = diffOne(from, to)
    expect(changes).toMatchObject([{ kind: 'incompatible', column: 'c', targetType: from, sourceType: to }])
    const c = changes[0]
    expect(c?.kind === 'incompatible' && c.reason).toMatch(reason)
  })

  it('refuses a character set or collation change, even with a wider type', () => {
    const s = table([col('c', 'varchar(100)', { charset: 'utf8mb4', collation: 'utf8mb4_bin' })])
    const t = table([col('c', 'varchar(50)', { charset: 'latin1', collation: 'latin1_swedish_ci' })])
    expect(diffTable(s, targetOf(t))).toMatchObject([
      {
        kind: 'incompatible',
        column: 'c',
        sourceType: 'varchar(100) utf8mb4_bin',
        targetType: 'varchar(50) latin1_swedish_ci',
      },
    ])
    const collation = table([col('c', 'varchar(50)', { collation: 'utf8mb4_bin' })])
    expect(kinds(diffTable(collation, targetOf(table([col('c', 'varchar(50)')]))))).toEqual(['incompatible'])
  })

  it('treats utf8 and utf8mb3 as one character set', () => {
    const s = table([col('c', 'varchar(5)', { charset: 'utf8mb3', collation: 'utf8mb3_general_ci' })])
    const t = table([col('c', 'varchar(5)', { charset: 'utf8', collation: 'utf8_general_ci' })])
    expect(diffTable(s, targetOf(t))).toEqual([])
  })

  it('relaxes NOT NULL to NULL, and leaves a more permissive target alone', () => {
    const changes = diffTable(
      table([col('c', 'int', { nullable: true })]),
      targetOf(table([col('c', 'int')])),
    )
    expect(changes).toMatchObject([{ kind: 'relax_nullability', column: { name: 'c', nullable: true } }])
    expect(describeChange(changes[0]!)).toBe('make c nullable')
    expect(
      diffTable(table([col('c', 'int')]), targetOf(table([col('c', 'int', { nullable: true })]))),
    ).toEqual([])
  })

  it('widens without tightening a nullable target column', () => {
    const changes = diffTable(
      table([col('c', 'bigint')]),
      targetOf(table([col('c', 'int', { nullable: true })])),
    )
    expect(changes).toMatchObject([
      { kind: 'widen_column', column: { columnType: 'bigint', nullable: true } },
    ])
  })

  it('keeps a NOT NULL column the source dropped, made nullable; a nullable one needs nothing', () => {
    const s = table([col('a', 'int')])
    const t = targetOf(
      table([
        col('a', 'int'),
        col('legacy', 'varchar(9)', { default: { kind: 'literal', value: 'x' } }),
        col('old', 'int', { nullable: true, default: { kind: 'null' } }),
      ]),
    )
    const changes = diffTable(s, t)
    expect(changes).toMatchObject([
      { kind: 'keep_dropped_column', column: { name: 'legacy', nullable: true, default: { kind: 'null' } } },
    ])
    expect(describeChange(changes[0]!)).toBe('keep legacy (dropped in the source), now nullable')
  })

  it('shows a rename as an add plus a keep', () => {
    const changes = diffTable(
      table([col('full_name', 'varchar(50)')]),
      targetOf(table([col('name', 'varchar(50)')])),
    )
    expect(kinds(changes)).toEqual(['add_column', 'keep_dropped_column'])
  })

  it('refuses a changed primary key', () => {
    const s = table([col('b', 'int')], { primaryKey: ['id', 'b'] })
    const changes = diffTable(s, targetOf(table([col('b', 'int')])))
    expect(changes).toMatchObject([
      { kind: 'incompatible', column: 'PRIMARY KEY', sourceType: '(id, b)', targetType: '(id)' },
    ])
  })

  it('refuses generated-column changes, but not a different spelling of the same expression', () => {
    const gen = (expression: string, stored = false) => ({
      generated: { expression, stored },
      nullable: true,
    })
    const s = table([col('g', 'int', gen('(`a` + 1)'))])
    expect(diffTable(s, targetOf(table([col('g', 'int', gen('a + 1'))])))).toEqual([])
    expect(kinds(diffTable(s, targetOf(table([col('g', 'int', gen('a + 2'))]))))).toEqual(['incompatible'])
    expect(kinds(diffTable(s, targetOf(table([col('g', 'int', { nullable: true })]))))).toEqual([
      'incompatible',
    ])
  })

  it('describes every kind in words and as plain data', () => {
    const s = table([col('email', 'varchar(255)'), col('n', 'varchar(100)'), col('code', 'int')])
    const t = targetOf(table([col('n', 'varchar(50)'), col('code', 'varchar(10)'), col('gone', 'int')]))
    const changes = diffTable(s, t)
    expect(changes.map(describeChange)).toEqual([
      'add column email varchar(255)',
      'widen n varchar(50) -> varchar(100)',
      'incompatible code: varchar(10) -> int (the type changed)',
      'keep gone (dropped in the source), now nullable',
    ])
    expect(changes.map(changeSummary)).toMatchObject([
      { kind: 'add_column', column: 'email', type: 'varchar(255)', after: 'id' },
      {
        kind: 'widen_column',
        column: 'n',
        from: 'varchar(50)',
        to: 'varchar(100)',
        reason: 'varchar_length',
      },
      { kind: 'incompatible', column: 'code', sourceType: 'int', targetType: 'varchar(10)' },
      { kind: 'keep_dropped_column', column: 'gone', type: 'int' },
    ])
  })
})
