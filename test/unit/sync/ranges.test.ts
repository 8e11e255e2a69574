import { describe, expect, it } from 'vitest'
import { DEFAULT_PARALLEL } from '../../../src/config/types.js'
import type { KeyTerm } from '../../../src/db/keyset.js'
import { MAX_RANGES, rangeLockName, rangeStep, rangesBetween, rangeWhere } from '../../../src/sync/ranges.js'

const settings = { aboveRows: 1000, rangeRows: 100, workers: 2 }
const term = (name: string): KeyTerm => ({
  name,
  expr: `\`${name}\``,
  select: `\`${name}\``,
  literal: (v) => `X'${v.toString('hex')}'`,
})
const key = (...parts: string[]) => parts.map((p) => Buffer.from(p))

describe('when a whole-table load is split into key ranges', () => {
  it('stays one load below above_rows', () => {
    expect(rangeStep(999, settings)).toBeNull()
    expect(rangeStep(0, settings)).toBeNull()
    expect(rangeStep(1_999_999, DEFAULT_PARALLEL)).toBeNull()
  })
  it('splits into ranges of range_rows at and above it', () => {
    expect(rangeStep(1000, settings)).toBe(100)
    expect(rangeStep(5_000_000, DEFAULT_PARALLEL)).toBe(DEFAULT_PARALLEL.rangeRows)
  })
  it('does not split a table that fits in one range', () => {
    expect(rangeStep(100, { ...settings, aboveRows: 0 })).toBeNull()
    expect(rangeStep(101, { ...settings, aboveRows: 0 })).toBe(100)
  })
  it('widens the ranges so there are at most MAX_RANGES', () => {
    const step = rangeStep(10_000_000, { aboveRows: 0, rangeRows: 10, workers: 1 })!
    expect(step).toBe(10_000_000 / MAX_RANGES)
  })
  it('ignores an estimate that is not a number', () => {
    expect(rangeStep(Number.NaN, { ...settings, aboveRows: 0 })).toBeNull()
  })
})

describe('the ranges between boundary keys', () => {
  it('covers the key space: from the first key, between boundaries, to the last', () => {
    const a = key('a')
    const m = key('m')
    expect(rangesBetween([a, m])).toEqual([
      { no: 0, lo: null, hi: a, done: false },
      { no: 1, lo: a, hi: m, done: false },
      { no: 2, lo: m, hi: null, done: false },
    ])
  })
  it('is one range without boundaries', () => {
    expect(rangesBetween([])).toEqual([{ no: 0, lo: null, hi: null, done: false }])
  })
})

describe('the condition of a range', () => {
  const terms = [term('a'), term('b')]
  it('is after the lower boundary and up to the upper one, over a composite key', () => {
    const where = rangeWhere(terms, { lo: key('1', 'x'), hi: key('2', 'y') })
    expect(where).toBe(
      "((`a` > X'31' OR (`a` = X'31' AND `b` > X'78'))) AND ((`a` < X'32' OR (`a` = X'32' AND `b` <= X'79')))",
    )
  })
  it('is open at the ends of the key space', () => {
    expect(rangeWhere(terms, { lo: null, hi: key('2', 'y') })).toBe(
      "((`a` < X'32' OR (`a` = X'32' AND `b` <= X'79')))",
    )
    expect(rangeWhere([term('a')], { lo: key('9'), hi: null })).toBe("(`a` > X'39')")
    expect(rangeWhere(terms, { lo: null, hi: null })).toBe('')
  })
})

describe('the lock of a range', () => {
  it('fits the 64-character lock names and tells tables apart by case', () => {
    const name = rangeLockName('p'.repeat(64), 'T'.repeat(64), 999)
    expect(name.length).toBeLessThanOrEqual(64)
    expect(rangeLockName('p', 'Orders', 1)).not.toBe(rangeLockName('p', 'orders', 1))
    expect(rangeLockName('p', 'orders', 1)).not.toBe(rangeLockName('p', 'orders', 2))
  })
})
