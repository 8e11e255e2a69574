import { codecTerms } from '../db/keyset.js'
import { quoteId } from '../db/quote.js'
import { type StateUpdate, stateQuery } from '../state/sync-state.js'
import { prefetch } from './batches.js'
import { InsertEncoder, insertShape } from './insert-encoder.js'
import { nullColumns, type RowShape, type TableJob, type TableResult } from './job.js'
import { readKeysetEncoded } from './read-encoded.js'
import { openSnapshot } from './snapshot.js'
import { BatchWriter, type WriteTarget, writeBatch } from './write.js'

/*
 * A column added to the source is added to the target by ALTER TABLE, and the target fills the existing
 * rows itself. For a constant default that is the source's value too; for an expression default
 * (CURRENT_TIMESTAMP, UUID(), any expression) or an AUTO_INCREMENT column the target computes its own
 * values, and every old row would differ from the source while its cursor says nothing changed. Those rows
 * are copied again by key ranges, each batch committed with the re-copy's key position in `_sync_state`;
 * the intent is saved before the ALTER, so a crash between the two still re-copies.
 */

/** The table's current state with a re-copy position: nothing else moves. */
function withRecopy(job: TableJob, recopyAfter: Buffer[] | null, rowsDelta: number): StateUpdate {
  const s = job.state!
  return {
    pipeline: job.pipeline,
    table: job.config.name,
    strategy: 'incremental',
    phase: s.phase,
    cursorColumns: job.config.cursor,
    lastCursor: s.lastCursor,
    lastKey: s.lastKey,
    loadId: job.loadId,
    rowsDelta,
    status: 'running',
    error: null,
    recopyAfter,
  }
}

/** Save "existing rows need re-copying from the start" before the ALTER that adds the columns. */
export async function markRecopy(job: TableJob): Promise<void> {
  if (!job.state) return // nothing loaded yet: the first load copies every row
  await stateQuery(job.target.kysely, withRecopy(job, [], 0)).execute()
  job.state = { ...job.state, recopyAfter: [] }
}

/** Copy every source row again by primary key (upserts), from a pending re-copy's saved position. */
export async function recopyRows(job: TableJob, shape: RowShape, result: TableResult): Promise<void> {
  const start = job.state?.recopyAfter
  if (!start || shape.keyIndexes.length === 0) return
  const w: WriteTarget = {
    target: job.target,
    table: job.config.name,
    label: job.config.name,
    codecs: shape.codecs,
    nullColumns: [],
    keyIndexes: shape.keyIndexes,
    mode: 'upsert',
    loadId: job.loadId,
    timeoutMs: job.queryTimeoutMs,
    profile: result.profile,
  }
  w.nullColumns = nullColumns(job)
  const snap = await openSnapshot(job.source)
  let failed = true
  const writer = new BatchWriter(w, (counts, rowCount) => {
    result.rowsRead += rowCount
    result.inserted += counts.inserted
    result.updated += counts.updated
    result.unchanged += counts.unchanged
    job.progress(rowCount)
  })
  try {
    const batches = readKeysetEncoded(
      snap.conn,
      {
        from: quoteId(job.sourceDef.name),
        select: shape.codecs.map((c) => c.select),
        where: [],
        order: codecTerms(shape.keyCodecs),
        after: start.length ? start : null,
        batchSize: job.config.batchSize,
        timeoutMs: job.queryTimeoutMs,
      },
      () => new InsertEncoder(w, insertShape(w)),
      result.profile,
    )
    for await (const { batch, last } of prefetch(batches, result.profile)) {
      await writer.push(batch, withRecopy(job, last, 0))
      if (job.signal.aborted) break
    }
    await writer.flush()
    if (job.signal.aborted) return
    await writeBatch(w, [], withRecopy(job, null, 0))
    job.state = { ...job.state!, recopyAfter: null }
    failed = false
  } finally {
    if (failed) await writer.flush().catch(() => undefined)
    await snap.close(failed)
  }
}
