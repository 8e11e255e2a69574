import { describe, expect, it } from 'vitest'
import { canDrawProgress, progressText } from '../../../src/cli/progress.js'
import { table } from '../../../src/cli/render.js'
import { plural } from '../../../src/observe/text.js'

describe('progress', () => {
  it('draws only on a terminal that reports a usable width', () => {
    expect(canDrawProgress({ isTTY: true, columns: 80 })).toBe(true)
    expect(canDrawProgress({ isTTY: true, columns: 0 })).toBe(false)
    expect(canDrawProgress({ isTTY: true })).toBe(false)
    expect(canDrawProgress({ isTTY: false, columns: 80 })).toBe(false)
  })

  it('shows rows, rows/s and an ETA from the row estimate', () => {
    expect(progressText('orders', 12_000, 3, 65_536)).toBe(
      'orders 12,000/65,536 rows, 4,000 rows/s, ETA 14 s',
    )
    expect(progressText('orders', 1000, 1, 1_000_000)).toBe(
      'orders 1,000/1,000,000 rows, 1,000 rows/s, ETA 16 min 39 s',
    )
  })

  it('shows no total or ETA without an estimate', () => {
    expect(progressText('t', 1, 1)).toBe('t 1 row, 1 rows/s')
    expect(progressText('t', 0, 0)).toBe('t 0 rows, 0 rows/s')
  })
})

describe('text output', () => {
  it('says 1 row and 2 rows', () => {
    expect(plural(1, 'row')).toBe('1 row')
    expect(plural(2, 'row')).toBe('2 rows')
    expect(plural(0, 'table')).toBe('0 tables')
  })

  it('right-aligns formatted numbers, so 0.0 and 0.1 line up', () => {
    const text = table(
      ['table', 'seconds'],
      [
        ['a', '0.0'],
        ['bb', '12.1'],
      ],
    )
    expect(text.split('\n')).toEqual(['table  seconds', '-----  -------', 'a          0.0', 'bb        12.1'])
  })
})
