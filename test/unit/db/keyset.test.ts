import { describe, expect, it } from 'vitest'
import { columnCodec } from '../../../src/db/codec.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import {
  codecTerms,
  cursorTerm,
  type KeyTerm,
  keysAfter,
  keysAtMost,
  keysIn,
  keyTerms,
} from '../../../src/db/keyset.js'
import { col } from '../schema/helpers.js'

const mariadb = detectFlavor('10.11.6-MariaDB')
const mysql57 = detectFlavor('5.7.44-log')
const b = (s: string) => Buffer.from(s, 'latin1')

// Terms over JS variables a, b, c with integer literals: the generated predicate, read as JS, must order
// tuples exactly as lexicographic comparison does.
const names = ['a', 'b', 'c']
const jsTerms = (n: number): KeyTerm[] =>
  names.slice(0, n).map((name) => ({ name, expr: name, select: name, literal: (v) => v.toString() }))
const asJs = (predicate: string) =>
  new Function(
    ...names,
    `return ${predicate.replaceAll(' OR ', ' || ').replaceAll(' AND ', ' && ').replaceAll(' = ', ' === ')}`,
  ) as (...v: number[]) => boolean

function tuples(n: number): number[][] {
  if (n === 0) return [[]]
  return tuples(n - 1).flatMap((t) => [0, 1, 2].map((v) => [...t, v]))
}
function compare(x: number[], y: number[]): number {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return 0
}

describe('key tuple predicates', () => {
  for (const n of [1, 2, 3]) {
    it(`orders ${n}-column tuples as (k) > (v) and (k) <= (v) do`, () => {
      const terms = jsTerms(n)
      for (const pivot of tuples(n)) {
        const after = asJs(
          keysAfter(
            terms,
            pivot.map((v) => b(String(v))),
          ),
        )
        const atMost = asJs(
          keysAtMost(
            terms,
            pivot.map((v) => b(String(v))),
          ),
        )
        for (const row of tuples(n)) {
          expect(after(...row), `${row} > ${pivot}`).toBe(compare(row, pivot) > 0)
          expect(atMost(...row), `${row} <= ${pivot}`).toBe(compare(row, pivot) <= 0)
        }
      }
    })
  }

  it('spells the comparison with quoted columns and codec literals', () => {
    const keys = keyTerms(
      [col('id', 'bigint(20) unsigned'), col('k`2', 'varchar(20)'), col('d', 'date')],
      mariadb,
    )
    expect(keysAfter(keys, [b('18446744073709551615'), b('x'), b('2024-02-29')])).toBe(
      "(`id` > 18446744073709551615 OR (`id` = 18446744073709551615 AND (`k``2` > _utf8mb4 X'78' OR " +
        "(`k``2` = _utf8mb4 X'78' AND `d` > '2024-02-29'))))",
    )
    expect(keysAtMost(keys.slice(0, 1), [b('7')])).toBe('`id` <= 7')
  })

  it('lists keys as IN for one column and as ORed equalities for several', () => {
    const one = keyTerms([col('id', 'int')], mariadb)
    expect(keysIn(one, [[b('1')], [b('2')]])).toBe('`id` IN (1, 2)')
    const two = keyTerms([col('a', 'int'), col('b', 'int')], mariadb)
    expect(
      keysIn(two, [
        [b('1'), b('2')],
        [b('3'), b('4')],
      ]),
    ).toBe('(`a` = 1 AND `b` = 2) OR (`a` = 3 AND `b` = 4)')
  })

  it('refuses a key value that is not what its type prints', () => {
    expect(() => keysAfter(keyTerms([col('id', 'int')], mariadb), [b('1 OR 1=1')])).toThrow(
      /unexpected numeric/,
    )
  })

  it('builds the same terms from codecs as from columns', () => {
    const cols = [col('id', 'int'), col('s', 'varchar(5)')]
    const fromCodecs = codecTerms(cols.map((c) => columnCodec(c, mariadb)))
    const fromCols = keyTerms(cols, mariadb)
    expect(fromCodecs.map((t) => [t.name, t.expr, t.select, t.literal(b('1'))])).toEqual(
      fromCols.map((t) => [t.name, t.expr, t.select, t.literal(b('1'))]),
    )
  })
})

describe('cursor expression', () => {
  it('is the bare column for one cursor column', () => {
    const t = cursorTerm([col('updated_at', 'datetime(6)')], mariadb)
    expect([t.name, t.expr, t.select, t.kind]).toEqual([
      'updated_at',
      '`updated_at`',
      '`updated_at`',
      'temporal',
    ])
    expect(t.literal(b('2024-01-01 00:00:00.000001'))).toBe("'2024-01-01 00:00:00.000001'")
  })

  it('is the first non-NULL of a cursor list', () => {
    const t = cursorTerm([col('updated_at', 'timestamp'), col('created_at', 'timestamp')], mariadb)
    expect(t.name).toBe('updated_at, created_at')
    expect(t.expr).toBe('COALESCE(`updated_at`, `created_at`)')
    expect(t.select).toBe(t.expr)
  })

  it('reads a text cursor as bytes and writes it in the target spelling of its charset', () => {
    const c = col('v', 'varchar(10)', { charset: 'utf8mb3' })
    const t = cursorTerm([c], mysql57)
    expect(t.select).toBe('CAST(`v` AS BINARY)')
    expect(t.literal(b('a'))).toBe("_utf8 X'61'")
    expect(cursorTerm([c, col('w', 'varchar(10)')], mariadb).select).toBe(
      'CAST(COALESCE(`v`, `w`) AS BINARY)',
    )
  })
})
