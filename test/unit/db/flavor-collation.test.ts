import { describe, expect, it } from 'vitest'
import { detectFlavor } from '../../../src/db/flavor.js'
import { planTables } from '../../../src/plan/plan.js'
import { renderColumn, renderCreateTable } from '../../../src/schema/ddl.js'
import { diffTable } from '../../../src/schema/diff.js'
import { col, table, targetOf } from '../schema/helpers.js'

// Rows collation-0900, collation-uca1400 and utf8mb3-naming of src/db/flavor-differences.ts.

const mariadb1011 = detectFlavor('10.11.6-MariaDB')
const mariadb106 = detectFlavor('10.6.16-MariaDB')
const mariadb105 = detectFlavor('10.5.23-MariaDB')
const mysql80 = detectFlavor('8.0.36')
const mysql8016 = detectFlavor('8.0.16')
const mysql8029 = detectFlavor('8.0.29')
const mysql57 = detectFlavor('5.7.44-log')

const name = (f: ReturnType<typeof detectFlavor>, c: string) => f.collationFor(c).name

describe('collation-0900: MySQL 8 collations on other targets', () => {
  it('keeps them on MySQL 8 and maps them to the UCA 14.0.0 NO PAD collation of the same strength on MariaDB 10.10+', () => {
    expect(mysql80.collationFor('utf8mb4_0900_ai_ci')).toEqual({
      name: 'utf8mb4_0900_ai_ci',
      mapped: false,
      note: null,
    })
    expect(name(mariadb1011, 'utf8mb4_0900_ai_ci')).toBe('utf8mb4_uca1400_nopad_ai_ci')
    expect(name(mariadb1011, 'utf8mb4_0900_as_cs')).toBe('utf8mb4_uca1400_nopad_as_cs')
    expect(name(mariadb1011, 'utf8mb4_0900_as_ci')).toBe('utf8mb4_uca1400_nopad_as_ci')
    expect(name(mariadb1011, 'utf8mb4_sv_0900_ai_ci')).toBe('utf8mb4_uca1400_swedish_nopad_ai_ci')
    expect(name(mariadb1011, 'utf8mb4_es_trad_0900_as_cs')).toBe('utf8mb4_uca1400_spanish2_nopad_as_cs')
    expect(name(mariadb1011, 'utf8mb4_de_pb_0900_ai_ci')).toBe('utf8mb4_uca1400_german2_nopad_ai_ci')
    expect(name(mariadb1011, 'utf8mb4_0900_bin')).toBe('utf8mb4_nopad_bin')
    expect(mariadb1011.collationFor('utf8mb4_0900_ai_ci').note).toMatch(/UCA 14\.0\.0 instead of 9\.0\.0/)
  })

  it('refuses a language MariaDB has no tailoring for rather than merging keys its order keeps apart', () => {
    const choice = mariadb1011.collationFor('utf8mb4_ja_0900_as_cs')
    expect(choice.name).toBeNull()
    expect(choice.note).toMatch(/has no equivalent on the target \(MariaDB has no ja tailoring\)/)
    expect(() =>
      renderColumn(col('k', 'varchar(10)', { collation: 'utf8mb4_ja_0900_as_cs' }), mariadb1011),
    ).toThrow(/column k: collation utf8mb4_ja_0900_as_cs has no equivalent/)
  })

  it('falls back to UCA 5.2.0 for the root collation on MariaDB before 10.10 and MySQL 5.7, refusing the rest', () => {
    expect(name(mariadb106, 'utf8mb4_0900_ai_ci')).toBe('utf8mb4_unicode_520_nopad_ci')
    expect(name(mariadb106, 'utf8mb4_0900_as_cs')).toBeNull()
    expect(name(mysql57, 'utf8mb4_0900_ai_ci')).toBe('utf8mb4_unicode_520_ci')
    expect(name(mysql57, 'utf8mb4_0900_as_cs')).toBeNull()
  })

  it('writes the mapped name into CREATE TABLE, column and table default alike', () => {
    const def = table([col('name', 'varchar(20)', { collation: 'utf8mb4_0900_ai_ci' })], {
      collation: 'utf8mb4_0900_ai_ci',
    })
    const ddl = renderCreateTable(def, mariadb1011)
    expect(ddl).toContain(
      '`name` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_nopad_ai_ci NOT NULL',
    )
    expect(ddl).toMatch(/DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_nopad_ai_ci$/)
    expect(renderCreateTable(def, mysql80)).toContain('COLLATE utf8mb4_0900_ai_ci NOT NULL')
  })

  it('sees no schema change once the target holds the mapped collation, but a real change still shows', () => {
    const source = table([col('name', 'varchar(20)', { collation: 'utf8mb4_0900_ai_ci' })])
    const mapped = targetOf(table([col('name', 'varchar(20)', { collation: 'utf8mb4_uca1400_nopad_ai_ci' })]))
    expect(diffTable(source, mapped, mariadb1011)).toEqual([])
    const other = targetOf(table([col('name', 'varchar(20)', { collation: 'utf8mb4_general_ci' })]))
    expect(diffTable(source, other, mariadb1011).map((c) => c.kind)).toEqual(['incompatible'])
  })

  it('names each mapped column in the plan', () => {
    const source = table([col('name', 'varchar(20)', { collation: 'utf8mb4_0900_ai_ci' })], {
      name: 'people',
    })
    const config = { name: 'people', strategy: 'full_refresh', cursor: [], deletes: 'ignore' } as never
    const [plan] = planTables(
      {} as never,
      [config],
      new Map([['people', source]]),
      new Map(),
      new Map(),
      new Map(),
      {
        lateCommitCap: true,
        targetFlavor: mariadb1011,
      },
    )
    expect(plan?.warnings).toContain(
      'column name: collation utf8mb4_0900_ai_ci is not available on the target; utf8mb4_uca1400_nopad_ai_ci is used instead ' +
        '(UCA 14.0.0 instead of 9.0.0, both NO PAD: only characters added to Unicode after 9.0 compare differently)',
    )
  })
})

describe('collation-uca1400: MariaDB collations on MySQL targets', () => {
  it('maps UCA 14.0.0 to UCA 9.0.0 of the same strength and says when PAD SPACE becomes NO PAD', () => {
    expect(name(mysql80, 'utf8mb4_uca1400_ai_ci')).toBe('utf8mb4_0900_ai_ci')
    expect(mysql80.collationFor('utf8mb4_uca1400_ai_ci').note).toMatch(/trailing spaces count/)
    expect(name(mysql80, 'utf8mb4_uca1400_nopad_as_cs')).toBe('utf8mb4_0900_as_cs')
    expect(name(mysql80, 'utf8mb4_uca1400_swedish_nopad_ai_ci')).toBe('utf8mb4_sv_0900_ai_ci')
    expect(name(mysql80, 'utf8mb4_nopad_bin')).toBe('utf8mb4_0900_bin')
  })

  it('refuses what MySQL cannot hold', () => {
    expect(name(mysql80, 'utf8mb4_uca1400_ai_cs')).toBeNull()
    expect(name(mysql80, 'utf8mb4_unicode_520_nopad_ci')).toBeNull()
    expect(name(mysql80, 'utf8mb4_uca1400_sinhala_ai_ci')).toBeNull()
    expect(name(mysql80, 'utf8mb3_uca1400_ai_ci')).toBeNull()
    expect(name(mysql8016, 'utf8mb4_nopad_bin')).toBeNull()
    expect(name(mysql57, 'utf8mb4_uca1400_ai_ci')).toBeNull()
  })

  it('keeps collations both servers share', () => {
    for (const f of [mysql80, mysql57, mariadb1011])
      expect(f.collationFor('utf8mb4_unicode_ci')).toEqual({
        name: 'utf8mb4_unicode_ci',
        mapped: false,
        note: null,
      })
  })
})

describe('utf8mb3-naming: utf8 and utf8mb3', () => {
  const c = col('s', 'varchar(5)', { charset: 'utf8mb3', collation: 'utf8mb3_general_ci' })
  it.each([
    [mariadb1011, 'CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci'],
    [mariadb105, 'CHARACTER SET utf8 COLLATE utf8_general_ci'],
    [mysql80, 'CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci'],
    [mysql8029, 'CHARACTER SET utf8mb3 COLLATE utf8_general_ci'],
    [mysql57, 'CHARACTER SET utf8 COLLATE utf8_general_ci'],
  ])('%# spells the column as the target knows it', (flavor, clause) => {
    expect(renderColumn(c, flavor)).toBe(`\`s\` varchar(5) ${clause} NOT NULL`)
  })

  it('compares utf8_general_ci and utf8mb3_general_ci as one collation', () => {
    const old = { ...c, charset: 'utf8', collation: 'utf8_general_ci' }
    expect(diffTable(table([c]), targetOf(table([old])))).toEqual([])
  })
})
