import { DEFAULT_PARALLEL, type ParallelSettings, type TableConfig } from '../config/types.js'
import type { TableDef } from '../schema/table-def.js'

/*
 * When a whole-table load goes in key ranges: the rule `plan` describes and `sync` follows
 * (sync/range-load.ts), so it lives here, before both.
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

/** How a whole-table load of a table splits: rows per range and about how many ranges (from the estimate). */
export interface KeyRangeSplit {
  rowsPerRange: number
  ranges: number
}

/**
 * The split a new plan of key ranges would use for this table (a first load or a full refresh), or null
 * when it loads in one pass: a table without a primary key, or estimated too small. At run time a target
 * that refuses LOAD DATA LOCAL still gets the one-pass load, and an unfinished plan is resumed as it was.
 */
export function keyRangeSplit(config: TableConfig, source: TableDef): KeyRangeSplit | null {
  if ((config.primaryKey ?? source.primaryKey).length === 0) return null
  const step = rangeStep(source.estimatedRows, config.parallel ?? DEFAULT_PARALLEL)
  return step === null ? null : { rowsPerRange: step, ranges: Math.ceil(source.estimatedRows / step) }
}
