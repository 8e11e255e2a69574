// Its own module so that TableResult (job.ts) can name it without job.ts and repair.ts importing each other.

/**
 * What `sync --repair` (or a scheduled verification) did to one table. `chunks`: compared chunk by chunk;
 * `refresh`: a table without a primary key or a full_refresh table, which the run's full refresh rebuilt.
 * Keys are snake_case: they go as they are into `--json` and `_sync_runs`.
 */
export interface RepairResult {
  method: 'chunks' | 'refresh'
  chunks_compared: number
  /** Chunks where at least one row was rewritten or deleted. */
  chunks_repaired: number
  /** Chunks that differed only in pending rows (changed after the saved position: the next sync's). */
  chunks_pending: number
  /** Chunks that differed and were left as they are (verification without repair, or extras kept). */
  chunks_differing: number
  rows_deleted: number
  rows_inserted: number
  rows_updated: number
  /** Target rows the source lacks, kept because the table has `deletes: ignore`. */
  extra_rows_kept: number
  seconds: number
}
