import { quoteId, quoteString } from '../db/quote.js'
import { SyncError } from '../errors.js'
import type { StateUpdate } from '../state/sync-state.js'
import { prefetch } from './batches.js'
import type { RowShape, TableJob, TableResult } from './job.js'
import { columnTerms, type KeysetQuery, readKeyset } from './read.js'
import { openSnapshot } from './snapshot.js'
import { type WriteTarget, writeBatch } from './write.js'

/**
 * Merge the rows that changed since the saved position into the target, by primary key.
 *
 * Rows are read in keyset order over (cursor, primary key) from inside one consistent snapshot, below the
 * run's late-commit cap (see snapshot.ts). Each batch commits together with the new position, so a crash
 * resumes exactly after the last committed row. Rows whose cursor is NULL cannot be ordered by it: every
 * run re-reads all of them by primary key (cheap when few; `plan` reports them), so a row inserted with a
 * NULL cursor, or one whose cursor is later set to NULL, still arrives.
 */
export async function syncIncremental(job: TableJob, shape: RowShape, result: TableResult): Promise<void> {
  const { config, sourceDef } = job
  const cursor = shape.cursor
  if (!cursor) throw new SyncError(`table ${config.name}: incremental sync needs a cursor column`)
  if (shape.keyIndexes.length === 0) {
    throw new SyncError(
      `table ${config.name}: incremental sync needs a primary key, and the source table has none`,
      `set primary_key for ${config.name} in the pipeline file, or use strategy: full_refresh`,
    )
  }
  const w: WriteTarget = {
    target: job.target,
    table: config.name,
    label: config.name,
    codecs: shape.codecs,
    nullColumns: nullColumns(job),
    keyIndexes: shape.keyIndexes,
    upsert: true,
    loadId: job.loadId,
  }
  const keyTerms = columnTerms(shape.keyCodecs)
  const from = quoteId(sourceDef.name)
  const select = shape.codecs.map((c) => c.select)
  const base: Omit<StateUpdate, 'lastCursor' | 'lastKey' | 'rowsDelta'> = {
    pipeline: job.pipeline,
    table: config.name,
    strategy: 'incremental',
    cursorColumns: config.cursor,
    loadId: job.loadId,
    status: 'running',
    error: null,
  }
  let lastCursor = job.state?.lastCursor ?? null
  let lastKey = job.state?.lastKey ?? null

  const snap = await openSnapshot(job.source)
  let failed = true
  try {
    if (snap.capWarning && cursor.temporal) result.warnings.push(snap.capWarning)
    const write = async (rows: import('./read.js').RawRow[]) => {
      const counts = await writeBatch(w, rows, { ...base, lastCursor, lastKey, rowsDelta: rows.length })
      result.rowsRead += rows.length
      result.inserted += counts.inserted
      result.updated += counts.updated
      result.unchanged += counts.unchanged
      job.progress(rows.length)
    }

    // Phase 1: rows whose cursor is NULL, by primary key.
    if (cursor.nullable) {
      const q: KeysetQuery = {
        from,
        select,
        where: [`${cursor.expr} IS NULL`],
        order: keyTerms,
        after: null,
        batchSize: config.batchSize,
        timeoutMs: job.queryTimeoutMs,
      }
      for await (const rows of prefetch(readKeyset(snap.conn, q))) {
        await write(rows)
        if (job.signal.aborted) break
      }
    }

    // Phase 2: rows after the saved position and below the cap, in (cursor, key) order.
    const where = [`${cursor.expr} IS NOT NULL`]
    if (cursor.temporal) {
      const cap = cursor.dataType === 'timestamp' ? snap.cap.utc : snap.cap.serverLocal
      where.push(`${cursor.expr} < ${quoteString(cap)}`)
    }
    let after: Buffer[] | null = null
    const lagMode = lastCursor !== null && config.lagMs > 0 && cursor.temporal
    if (lastCursor !== null) {
      const lastLit = cursor.literal(Buffer.from(lastCursor, 'utf8'))
      if (lagMode) {
        // Re-read the lag window behind the saved position: rows stamped late by their writers.
        where.push(`${cursor.expr} >= (CAST(${lastLit} AS DATETIME(6)) - INTERVAL ${config.lagMs * 1000} MICROSECOND)`)
      } else if (lastKey) {
        after = [Buffer.from(lastCursor, 'utf8'), ...lastKey]
      } else {
        where.push(`${cursor.expr} >= ${lastLit}`)
      }
    }
    const q: KeysetQuery = {
      from,
      select,
      where,
      order: [cursor, ...keyTerms],
      after,
      batchSize: config.batchSize,
      timeoutMs: job.queryTimeoutMs,
    }
    const n = shape.codecs.length
    for await (const rows of prefetch(readKeyset(snap.conn, q))) {
      const last = rows[rows.length - 1]!
      const c = last[n]
      // Never move the saved position backwards: a lag re-read starts behind it. Temporal text of one
      // column type has a fixed width, so it compares as it sorts.
      if (c && (!lagMode || lastCursor === null || c.toString('utf8') > lastCursor)) {
        lastCursor = c.toString('utf8')
        lastKey = last.slice(n + 1) as Buffer[]
      }
      await write(rows)
      if (job.signal.aborted) break
    }
    result.lastCursor = lastCursor
    failed = false
  } finally {
    await snap.close(failed)
  }
}

/** Columns the target has and the source no longer has: they receive NULL from now on. */
export function nullColumns(job: Pick<TableJob, 'sourceDef' | 'targetDef'>): string[] {
  if (!job.targetDef) return []
  const names = new Set(job.sourceDef.columns.map((c) => c.name))
  return job.targetDef.columns
    .filter((c) => !names.has(c.name) && c.generated === null && !c.name.startsWith('_dlt_'))
    .map((c) => c.name)
}
