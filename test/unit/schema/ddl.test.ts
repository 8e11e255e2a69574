import { describe, expect, it } from 'vitest'
import { detectFlavor } from '../../../src/db/flavor.js'
import { renderAddIndexes, renderAlter, renderCreateTable } from '../../../src/schema/ddl.js'
import { diffTable, type SchemaChange } from '../../../src/schema/diff.js'
import { col, table, targetOf } from './helpers.js'

const mariadb = detectFlavor('10.11.6-MariaDB')
const mysql = detectFlavor('8.0.36')

describe('renderAlter', () => {
  it('renders nothing when nothing changed', () => {
    expect(renderAlter('t', [], mariadb)).toEqual([])
  })

  it('adds columns in source order, each AFTER its predecessor or FIRST, in one statement', () => {
    const t = targetOf(table([col('a', 'int')]))
    const nullable = { nullable: true, default: { kind: 'null' as const } }
    // z goes before id, the source's first column.
    const s = {
      ...t,
      columns: [
        col('z', 'int', nullable),
        ...table([col('a', 'int'), col('email', 'varchar(255)', nullable)]).columns,
      ],
    }
    const ddl = renderAlter('t', diffTable(s, t), mariadb)
    expect(ddl).toEqual([
      'ALTER TABLE `t`\n' +
        '  ADD COLUMN `z` int NULL DEFAULT NULL FIRST,\n' +
        '  ADD COLUMN `email` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT NULL AFTER `a`',
    ])
  })

  it('widens with MODIFY COLUMN and the full source definition', () => {
    const s = table([col('name', 'varchar(100)', { comment: 'full name' })])
    const ddl = renderAlter('t', diffTable(s, targetOf(table([col('name', 'varchar(50)')]))), mysql)
    expect(ddl).toEqual([
      "ALTER TABLE `t`\n  MODIFY COLUMN `name` varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL COMMENT 'full name'",
    ])
  })

  it('renders a widen and a relax of one column as a single MODIFY', () => {
    const changes = diffTable(
      table([col('n', 'bigint', { nullable: true })]),
      targetOf(table([col('n', 'int')])),
    )
    expect(changes.map((c) => c.kind)).toEqual(['widen_column', 'relax_nullability'])
    expect(renderAlter('t', changes, mariadb)).toEqual(['ALTER TABLE `t`\n  MODIFY COLUMN `n` bigint NULL'])
  })

  it('makes a dropped NOT NULL column nullable with DEFAULT NULL and no AUTO_INCREMENT', () => {
    const t = targetOf(table([col('seq', 'int(11)', { autoIncrement: true })]))
    expect(renderAlter('t', diffTable(table([]), t), mariadb)).toEqual([
      'ALTER TABLE `t`\n  MODIFY COLUMN `seq` int(11) NULL DEFAULT NULL',
    ])
  })

  it('renders nothing for an incompatible change, and never DROP', () => {
    const changes: SchemaChange[] = [
      {
        kind: 'incompatible',
        column: 'c',
        sourceType: 'int',
        targetType: 'varchar(9)',
        reason: 'the type changed',
      },
    ]
    expect(renderAlter('t', changes, mariadb)).toEqual([])
    const all = diffTable(table([col('b', 'int')]), targetOf(table([col('a', 'int')])))
    expect(renderAlter('t', all, mariadb).join('\n')).not.toMatch(/DROP/i)
  })

  it('quotes identifiers with backticks', () => {
    const s = table([col('we`ird', 'int')], { name: 'o`k' })
    expect(renderAlter('o`k', diffTable(s, targetOf(table([]))), mariadb)[0]).toBe(
      'ALTER TABLE `o``k`\n  ADD COLUMN `we``ird` int NOT NULL AFTER `id`',
    )
  })

  describe('defaults as each server reports them', () => {
    // information_schema.COLUMNS.COLUMN_DEFAULT and EXTRA, verbatim, and the clause the target gets.
    const cases: Array<[string, typeof mariadb, string, string | null, string, boolean, string]> = [
      ['MariaDB quoted literal', mariadb, 'varchar(9)', "'abc'", '', false, "DEFAULT 'abc'"],
      ['MariaDB literal with a quote', mariadb, 'varchar(9)', "'it''s'", '', false, "DEFAULT 'it\\'s'"],
      ['MariaDB NULL as text', mariadb, 'varchar(9)', 'NULL', '', true, 'NULL DEFAULT NULL'],
      ['MariaDB the text NULL, quoted', mariadb, 'varchar(9)', "'NULL'", '', false, "DEFAULT 'NULL'"],
      ['MariaDB number', mariadb, 'int(11)', '5', '', false, "DEFAULT '5'"],
      [
        'MariaDB expression',
        mariadb,
        'datetime(6)',
        'current_timestamp(6)',
        'on update current_timestamp(6)',
        false,
        'DEFAULT current_timestamp(6) ON UPDATE CURRENT_TIMESTAMP(6)',
      ],
      ['MariaDB no default', mariadb, 'varchar(9)', null, '', false, 'NOT NULL'],
      ['MySQL literal', mysql, 'varchar(9)', 'abc', '', false, "DEFAULT 'abc'"],
      ['MySQL NULL', mysql, 'varchar(9)', null, '', true, 'NULL DEFAULT NULL'],
      ['MySQL the text NULL', mysql, 'varchar(9)', 'NULL', '', false, "DEFAULT 'NULL'"],
      [
        'MySQL expression',
        mysql,
        'timestamp',
        'CURRENT_TIMESTAMP',
        'DEFAULT_GENERATED on update CURRENT_TIMESTAMP',
        false,
        'DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP',
      ],
      [
        'MySQL function expression',
        mysql,
        'varchar(36)',
        'uuid()',
        'DEFAULT_GENERATED',
        false,
        'DEFAULT (uuid())',
      ],
    ]
    it.each(cases)('%s', (_name, flavor, type, raw, extra, nullable, clause) => {
      const dataType = /^[a-z]+/.exec(type)?.[0] ?? type
      const onUpdate = /on update ([a-z_]+(\(\d*\))?)/i.exec(extra)?.[0] ?? ''
      const c = col('c', type, {
        nullable,
        default: flavor.parseDefault(raw, extra, dataType, nullable),
        onUpdate,
      })
      const [ddl] = renderAlter('t', diffTable(table([c]), targetOf(table([]))), flavor)
      expect(ddl).toContain(`${clause} AFTER \`id\``)
    })
  })

  it('produces DDL that matches a CREATE TABLE of the new source definition, column for column', () => {
    const s = table([
      col('a', 'varchar(100)'),
      col('b', 'int', { nullable: true, default: { kind: 'null' } }),
    ])
    const create = renderCreateTable(s, mariadb)
    const alter = renderAlter('t', diffTable(s, targetOf(table([col('a', 'varchar(50)')]))), mariadb).join(
      '\n',
    )
    for (const line of [
      '`a` varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL',
      '`b` int NULL DEFAULT NULL',
    ]) {
      expect(create).toContain(line)
      expect(alter).toContain(line)
    }
  })
})

describe('the _dlt_id index', () => {
  it('is left out where the table has a primary key (_dlt_id is a hash of it)', () => {
    const keyed = table([col('v', 'int')])
    expect(renderCreateTable(keyed, mariadb)).not.toContain('_dlt_id_unique')
    expect(renderAddIndexes(keyed, 't')).toBeNull()
  })

  it('is unique where the table has none, also when its indexes are added after a load', () => {
    const keyless = table([col('v', 'int')], { primaryKey: [] })
    expect(renderCreateTable(keyless, mariadb)).toContain('UNIQUE KEY `_dlt_id_unique` (`_dlt_id`)')
    expect(renderCreateTable(keyless, mariadb, 't', { deferIndexes: true })).not.toContain('_dlt_id_unique')
    expect(renderAddIndexes(keyless, 't')).toBe('ALTER TABLE `t` ADD UNIQUE KEY `_dlt_id_unique` (`_dlt_id`)')
    expect(renderAddIndexes(keyless, 't', new Set(['_dlt_id_unique']))).toBeNull()
  })
})
