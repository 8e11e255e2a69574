import { createHash } from 'node:crypto'
import type { ParallelSettings } from '../config/types.js'
import { type KeyTerm, keysAfter, keysAtMost } from '../db/keyset.js'
import type { KeyRange } from '../state/ranges.js'

/*
 * The pure part of loading one table in key ranges (range-load.ts): when to split, how big a range is, and
 * the SQL condition of a range. A range is the keys after its lower boundary (exclusive) up to its upper
 * one (inclusive); the boundaries are keys read from the table in primary-key order, so the ranges cover
 * the whole key space without overlap, whatever rows are inserted, changed or deleted afterwards.
 */

/** At most this many ranges: each is a row in _sync_ranges and a named lock. */
export const MAX_RANGES = 1000

/**
 * Rows per range for a whole-table load of a table the optimizer estimates at `estimatedRows`, or null
 * when it stays one sequential load (below `aboveRows`, or too small to give two ranges).
 */
export function rangeStep(estimatedRows: number, settings: ParallelSettings): number | null {
  if (!Number.isFinite(estimatedRows) || estimatedRows < settings.aboveRows) return null
  if (estimatedRows <= settings.rangeRows) return null
  return Math.max(settings.rangeRows, Math.ceil(estimatedRows / MAX_RANGES))
}

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
