import { capBound } from './cap.js'
import { firstLoad } from './first-load.js'
import { type IncrementalRun, incrementalTarget, openRun, type ReadQuery } from './incremental-run.js'
import type { RowShape, TableJob, TableResult } from './job.js'
import { copyOutsideRows, oldestPendingMs } from './outside.js'
import { openSnapshot } from './snapshot.js'

/**
 * Merge the rows that changed since the saved position into the target, by primary key.
 *
 * Rows are read in keyset order over (cursor, primary key) from inside one consistent snapshot, below the
 * run's late-commit cap (cap.ts, floored to the cursor's precision). Each batch commits together with the
 * new position, so a crash resumes exactly after the last committed row.
 *
 * The first load is different: it copies the whole table in primary-key order (first-load.ts).
 *
 * Rows the cursor walk cannot reach (a NULL cursor, a zero date, a stamp ahead of the source clock) are
 * re-read by key on every run (outside.ts), so they still arrive.
 *
 * When the run could not show its list of open transactions is fresh (cap.ts), the cap is null: the
 * position stays where it is for this run, and a first load waits for the next run.
 */
export async function syncIncremental(job: TableJob, shape: RowShape, result: TableResult): Promise<void> {
  const cursor = requireCursorAndKey(job, shape)
  const initial = !job.state || job.state.phase === 'initial' || job.state.lastCursor === null
  const w = incrementalTarget(job, shape, result, initial)
  const cap = cursor.capped ? capBound(job.cap, cursor.columns) : undefined
  result.cap = cap ?? null
  if (cap === null) result.positionsHeld = true
  if (cursor.capped && job.cap.warning) result.warnings.push(job.cap.warning)
  if (initial && cap === null) return
  const snap = await openSnapshot(job.source)
  let failed = true
  let run: IncrementalRun | undefined
  try {
    run = openRun(job, shape, result, w, snap)
    // A first load stopped by the signal counts as failed: its snapshot is closed as such.
    failed = initial ? !(await firstLoad(run, cap ?? undefined)) : !(await copyChanges(run, cap))
  } finally {
    // A failed run must not leave a commit running behind a retry that re-reads the position.
    if (failed) await run?.writer.flush().catch(() => undefined)
    await snap.close(failed)
  }
}

/**
 * The plan refuses an incremental table without a cursor or a primary key (plan/refusal.ts, `no-cursor`
 * and `no-key`), so sync never gets here without both: this only asserts it.
 */
function requireCursorAndKey(job: TableJob, shape: RowShape): NonNullable<RowShape['cursor']> {
  if (!shape.cursor || shape.keyIndexes.length === 0)
    throw new Error(`bug: table ${job.config.name} reached incremental sync without a cursor or a key`)
  return shape.cursor
}

/**
 * A later run: the rows outside the cursor walk (outside.ts), then the rows after the saved position and
 * below the cap, in (cursor, key) order. With the cap null (positions held), only the former.
 */
async function copyChanges(run: IncrementalRun, cap: string | null | undefined): Promise<true> {
  const { job, result, cursor, pos } = run
  const outside = await copyOutsideRows(job, run.shape, result, {
    read: run.read,
    write: (rows) => run.write(rows, 'incremental'),
    flush: () => run.writer.flush(),
    keyTerms: run.keyTerms,
  })
  if (!outside || cap === null) {
    // Held: the lag counts from the oldest change after the position that stays where it is.
    if (outside && job.measureLag && cursor.capped && pos.lastCursor !== null) {
      const from = cursor.literal(Buffer.from(pos.lastCursor, 'utf8'))
      result.lag = {
        oldestPendingMs: await oldestPendingMs(run.snap.conn, job, run.shape, from),
        caughtUpToMs: null,
      }
    }
    return true
  }
  await readAfterPosition(run, cap)
  result.lastCursor = pos.lastCursor
  if (job.measureLag && cap !== undefined && !job.signal.aborted) {
    result.lag = {
      oldestPendingMs: await oldestPendingMs(run.snap.conn, job, run.shape, cap),
      caughtUpToMs: Date.parse(`${job.cap.utc!.replace(' ', 'T')}Z`),
    }
  }
  return true
}

/** Rows after the saved position and below the cap, in (cursor, key) order, moving the position. */
async function readAfterPosition(run: IncrementalRun, cap: string | undefined): Promise<void> {
  const { job, pos } = run
  const { query, lagMode } = changesQuery(run, cap)
  for await (const { batch, last } of run.readEncoded(query)) {
    const c = last[0]
    // Never move the saved position backwards: a lag re-read starts behind it. Temporal text of one
    // column type has a fixed width, so it compares as it sorts.
    if (c && (!lagMode || pos.lastCursor === null || c.toString('utf8') > pos.lastCursor)) {
      pos.lastCursor = c.toString('utf8')
      pos.lastKey = last.slice(1)
    }
    await run.write(batch, 'incremental')
    if (job.signal.aborted) break
  }
  await run.writer.flush()
}

/** The read of the changed rows: after (cursor, key) of the saved position, or a lag window behind it. */
function changesQuery(run: IncrementalRun, cap: string | undefined): { query: ReadQuery; lagMode: boolean } {
  const { cursor, pos } = run
  const where = [`${cursor.expr} IS NOT NULL`]
  if (cap !== undefined) where.push(`${cursor.expr} < ${cap}`)
  let after: Buffer[] | null = null
  const lagMs = run.job.config.lagMs
  const lagMode = pos.lastCursor !== null && lagMs > 0 && cursor.temporal
  if (pos.lastCursor !== null) {
    const lastLit = cursor.literal(Buffer.from(pos.lastCursor, 'utf8'))
    if (lagMode) {
      // Re-read the lag window behind the saved position: rows stamped late by their writers.
      where.push(`${cursor.expr} >= (CAST(${lastLit} AS DATETIME(6)) - INTERVAL ${lagMs * 1000} MICROSECOND)`)
    } else if (pos.lastKey) {
      after = [Buffer.from(pos.lastCursor, 'utf8'), ...pos.lastKey]
    } else {
      where.push(`${cursor.expr} >= ${lastLit}`)
    }
  }
  return { query: { where, order: [cursor, ...run.keyTerms], after }, lagMode }
}
