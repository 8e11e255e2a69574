import type { StateUpdate } from '../state/sync-state.js'

/*
 * The two shapes every copy path is built from. A source yields batches in the order they are to be
 * committed; a sink commits each batch in its own transaction together with the state row that says how far
 * the copy got (write.ts inBatchTransaction, shared by both sinks), so a crash resumes after the last batch
 * that is really there.
 */

/**
 * Where rows come from, batch by batch: `readKeyset` (read.ts: keyset batches as rows, for the re-reads of
 * rows outside the cursor walk), `readKeysetEncoded` (read-encoded.ts: the same batches encoded as INSERT
 * statements straight from the row packets, for first loads without LOAD DATA, changed rows and re-copies),
 * `streamBatches` (batches.ts: one ordered scan as rows) and `encodedBatches` (bulk.ts: one ordered scan
 * encoded as LOAD DATA text straight from the row packets).
 */
export type RowSource<Batch> = AsyncIterable<Batch>

/**
 * Where batches go: `BatchWriter` (write.ts: multi-row INSERT, or INSERT … ON DUPLICATE KEY UPDATE to merge
 * by key; two batches at once, committing in order, into a table the load created) and `OrderedLoader` (bulk.ts: LOAD DATA, several batches loading at once, committing in order).
 */
export interface BatchSink<Batch> {
  /** Start committing a batch with its state (null: none, as for a staging table); returns once there is room. */
  push(batch: Batch, state: StateUpdate | null): Promise<void>
  /** Wait for every batch pushed so far; throws the first failure. */
  flush(): Promise<void>
}
