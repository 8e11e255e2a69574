import { codecTerms, type KeyTerm } from '../db/keyset.js'
import { quoteId } from '../db/quote.js'
import type { Phase, StateUpdate } from '../state/sync-state.js'
import { prefetch } from './batches.js'
import { InsertEncoder, insertShape } from './insert-encoder.js'
import { nullColumns, type RowShape, type TableJob, type TableResult } from './job.js'
import { type KeysetQuery, type RawRow, readKeyset } from './read.js'
import { type EncodedRead, readKeysetEncoded } from './read-encoded.js'
import type { RowSource } from './sink.js'
import type { Snapshot } from './snapshot.js'
import { BatchWriter, type InsertBatch, type WriteTarget } from './write.js'

/** A keyset read of the table inside the run's snapshot: the conditions, order and start position. */
export type ReadQuery = Omit<KeysetQuery, 'from' | 'select' | 'batchSize' | 'timeoutMs'>

/** The saved position: the last cursor value copied and the primary key of its last row. */
export interface Position {
  lastCursor: string | null
  lastKey: Buffer[] | null
}

/**
 * One incremental table run: what its passes (first load, rows outside the cursor walk, changed rows)
 * share. Each batch is written with the position as it stands when the batch is pushed.
 */
export interface IncrementalRun {
  job: TableJob
  shape: RowShape
  cursor: NonNullable<RowShape['cursor']>
  result: TableResult
  snap: Snapshot
  w: WriteTarget
  writer: BatchWriter
  keyTerms: KeyTerm[]
  pos: Position
  read(q: ReadQuery): RowSource<RawRow[]>
  /** The same read, each row encoded as INSERT text as it arrives (read-encoded.ts). */
  readEncoded(q: ReadQuery): RowSource<EncodedRead>
  write(rows: RawRow[] | InsertBatch, phase: Phase): Promise<void>
}

/** Where an incremental table's rows go: a first load starts with LOAD DATA, later runs merge by key. */
export function incrementalTarget(job: TableJob, shape: RowShape, result: TableResult, initial: boolean) {
  const w: WriteTarget = {
    target: job.target,
    table: job.config.name,
    label: job.config.name,
    codecs: shape.codecs,
    nullColumns: nullColumns(job),
    keyIndexes: shape.keyIndexes,
    mode: initial ? 'load' : 'upsert',
    loadId: job.loadId,
    timeoutMs: job.queryTimeoutMs,
    profile: result.profile,
  }
  return w
}

/** The run's shared reader and writer over the snapshot, starting from the saved position. */
export function openRun(
  job: TableJob,
  shape: RowShape,
  result: TableResult,
  w: WriteTarget,
  snap: Snapshot,
): IncrementalRun {
  const pos: Position = { lastCursor: job.state?.lastCursor ?? null, lastKey: job.state?.lastKey ?? null }
  const writer = new BatchWriter(w, (counts, rowCount) => {
    result.rowsRead += rowCount
    result.inserted += counts.inserted
    result.updated += counts.updated
    result.unchanged += counts.unchanged
    job.progress(rowCount)
  })
  return {
    job,
    shape,
    cursor: shape.cursor!,
    result,
    snap,
    w,
    writer,
    keyTerms: codecTerms(shape.keyCodecs),
    pos,
    // The state is taken at push time: the position of the batch's own last row.
    write: (rows, phase) => {
      const rowsDelta = Array.isArray(rows) ? rows.length : rows.rows
      return writer.push(rows, { ...stateOf(job, pos.lastCursor, pos.lastKey), phase, rowsDelta })
    },
    read: (q) => prefetch(readKeyset(snap.conn, keysetQuery(job, shape, q)), result.profile),
    readEncoded: (q) =>
      prefetch(
        readKeysetEncoded(
          snap.conn,
          keysetQuery(job, shape, q),
          () => new InsertEncoder(w, insertShape(w)),
          result.profile,
        ),
        result.profile,
      ),
  }
}

function keysetQuery(job: TableJob, shape: RowShape, q: ReadQuery): KeysetQuery {
  return {
    ...q,
    from: quoteId(job.sourceDef.name),
    select: shape.codecs.map((c) => c.select),
    batchSize: job.config.batchSize,
    timeoutMs: job.queryTimeoutMs,
  }
}

/** The state row of an incremental table at a position (phase 'incremental' unless overridden). */
export function stateOf(
  job: TableJob,
  lastCursor: string | null,
  lastKey: Buffer[] | null,
): Omit<StateUpdate, 'rowsDelta'> {
  return {
    pipeline: job.pipeline,
    table: job.config.name,
    strategy: 'incremental',
    phase: 'incremental',
    cursorColumns: job.config.cursor,
    loadId: job.loadId,
    status: 'running',
    error: null,
    lastCursor,
    lastKey,
  }
}
