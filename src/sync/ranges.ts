import { createHash } from 'node:crypto'
import { type KeyTerm, keysAfter, keysAtMost } from '../db/keyset.js'
import type { KeyRange } from '../state/ranges.js'

/*
 * The pure part of loading one table in key ranges (range-load.ts): when to split, how big a range is, and
 * the SQL condition of a range. A range is the keys after its lower boundary (exclusive) up to its upper
 * one (inclusive); the boundaries are keys read from the table in primary-key order, so the ranges cover
 * the whole key space without overlap, whatever rows are inserted, changed or deleted afterwards.
 */

// When to split lives in plan/, which describes it as sync follows it.
export { MAX_RANGES, rangeStep } from '../plan/range-split.js'

/** The ranges between sorted boundary keys: n boundaries give n + 1 ranges. */
export function rangesBetween(boundaries: Buffer[][]): KeyRange[] {
  const ranges: KeyRange[] = []
  for (let i = 0; i <= boundaries.length; i++) {
    ranges.push({ no: i, lo: boundaries[i - 1] ?? null, hi: boundaries[i] ?? null, done: false })
  }
  return ranges
}

/**
 * The condition selecting a range's rows, over the key's order terms (the same comparisons as the keyset
 * reads, so collations and unsigned values order as ORDER BY does); '' for the whole table.
 */
export function rangeWhere(terms: KeyTerm[], range: Pick<KeyRange, 'lo' | 'hi'>): string {
  const parts: string[] = []
  if (range.lo) parts.push(`(${keysAfter(terms, range.lo)})`)
  if (range.hi) parts.push(`(${keysAtMost(terms, range.hi)})`)
  return parts.join(' AND ')
}

/**
 * The named lock of one range, `dbsync:r/<hash>/<no>`: table names are case-sensitive and lock names are
 * not, and lock names stop at 64 characters, so the pipeline and table are hashed.
 */
export function rangeLockName(pipeline: string, table: string, no: number): string {
  const hash = createHash('sha256').update(`${pipeline}\0${table}`).digest('hex').slice(0, 40)
  return `dbsync:r/${hash}/${no}`
}
