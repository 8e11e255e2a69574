import { codecTerms, keysAfter } from '../db/keyset.js'
import { quoteId } from '../db/quote.js'
import { SyncError } from '../errors.js'
import { introspect } from '../schema/introspect.js'
import { firstLoadDdl } from '../schema/load-ddl.js'
import type { Phase, StateUpdate } from '../state/sync-state.js'
import { prefetch } from './batches.js'
import { bulkCopy, loadDataAccepted } from './bulk.js'
import { capBound } from './cap.js'
import { nullColumns, type RowShape, type TableJob, type TableResult } from './job.js'
import { copyOutsideRows, oldestPendingMs } from './outside.js'
import { type KeysetQuery, type RawRow, readKeyset } from './read.js'
import { executeDdl } from './schema-sync.js'
import { openSnapshot, type Snapshot } from './snapshot.js'
import { BatchWriter, type WriteTarget, writeBatch } from './write.js'

/**
 * Merge the rows that changed since the saved position into the target, by primary key.
 *
 * Rows are read in keyset order over (cursor, primary key) from inside one consistent snapshot, below the
 * run's late-commit cap (cap.ts, floored to the cursor's precision). Each batch commits together with the new position, so a crash
 * resumes exactly after the last committed row.
 *
 * The first load is different: it copies the whole table in primary-key order (a sequential scan of the
 * clustered index, through LOAD DATA), saving the key position with each batch, so a killed first load
 * resumes where it stopped. Before it starts it fixes a cursor bound B (see initialBound). Every row
 * changed after the load began carries a cursor value at or above B, so once the load is done the
 * incremental position becomes "cursor >= B" and those rows are read again; rows below B were committed
 * before the first snapshot and the key-order copy saw them.
 *
 * Rows the cursor walk cannot reach (a NULL cursor, a zero date, a stamp ahead of the source clock) are
 * re-read by key on every run (outside.ts), so they still arrive.
 *
 * When the run could not show its list of open transactions is fresh (cap.ts), the cap is null: the
 * position stays where it is for this run, and a first load waits for the next run.
 */
export async function syncIncremental(job: TableJob, shape: RowShape, result: TableResult): Promise<void> {
  const { config } = job
  const cursor = shape.cursor
  if (!cursor) throw new SyncError(`table ${config.name}: incremental sync needs a cursor column`)
  if (shape.keyIndexes.length === 0) {
    throw new SyncError(
      `table ${config.name}: incremental sync needs a primary key, and the source table has none`,
      `set primary_key for ${config.name} in the pipeline file, or use strategy: full_refresh`,
    )
  }
  const initial = !job.state || job.state.phase === 'initial' || job.state.lastCursor === null
  const w: WriteTarget = {
    target: job.target,
    table: config.name,
    label: config.name,
    codecs: shape.codecs,
    nullColumns: nullColumns(job),
    keyIndexes: shape.keyIndexes,
    mode: initial ? 'load' : 'upsert',
    loadId: job.loadId,
    timeoutMs: job.queryTimeoutMs,
    profile: result.profile,
  }
  const cap = cursor.capped ? capBound(job.cap, cursor.columns) : undefined
  result.cap = cap ?? null
  if (cap === null) result.positionsHeld = true
  if (cursor.capped && job.cap.warning) result.warnings.push(job.cap.warning)
  if (initial && cap === null) return
  const snap = await openSnapshot(job.source)
  let failed = true
  let writer: BatchWriter | undefined
  try {
    let lastCursor = job.state?.lastCursor ?? null
    let lastKey = job.state?.lastKey ?? null
    writer = new BatchWriter(w, (counts, rowCount) => {
      result.rowsRead += rowCount
      result.inserted += counts.inserted
      result.updated += counts.updated
      result.unchanged += counts.unchanged
      job.progress(rowCount)
    })
    // The state is taken at push time: the position of the batch's own last row.
    const write = (rows: RawRow[], phase: Phase) =>
      writer!.push(rows, {
        pipeline: job.pipeline,
        table: config.name,
        strategy: 'incremental',
        phase,
        cursorColumns: config.cursor,
        loadId: job.loadId,
        status: 'running',
        error: null,
        lastCursor,
        lastKey,
        rowsDelta: rows.length,
      })
    const read = (q: Omit<KeysetQuery, 'from' | 'select' | 'batchSize' | 'timeoutMs'>) =>
      prefetch(
        readKeyset(snap.conn, {
          ...q,
          from: quoteId(job.sourceDef.name),
          select: shape.codecs.map((c) => c.select),
          batchSize: config.batchSize,
          timeoutMs: job.queryTimeoutMs,
        }),
        result.profile,
      )
    const keyTerms = codecTerms(shape.keyCodecs)
    const n = shape.codecs.length

    if (initial) {
      // The bound is fixed once: a resumed first load keeps the one it started with.
      const resuming = job.state?.phase === 'initial' && job.state.lastCursor !== null
      lastCursor = resuming ? job.state!.lastCursor : await initialBound(snap, shape, job, cap ?? undefined)
      lastKey = resuming ? job.state!.lastKey : null
      // Rows already in the target that this load did not write (a table switched from full refresh, a
      // copy made before dbsync) are merged row by row: the upsert counts what it really changed.
      const foreign = !resuming && job.targetDef !== undefined && (await hasRows(job))
      if (!foreign && (await loadDataAccepted(w))) {
        // A table created by this run holds no rows yet: its batches can load two at a time.
        await bulkFirstLoad(job, shape, w, snap, result, {
          lastCursor,
          lastKey,
          parallel: job.targetDef === undefined && !resuming ? 2 : 1,
        })
      } else {
        w.mode = 'upsert'
        for await (const rows of read({ where: [], order: keyTerms, after: lastKey })) {
          lastKey = rows[rows.length - 1]!.slice(n) as Buffer[]
          await write(rows, 'initial')
          if (job.signal.aborted) break
        }
        await writer.flush()
      }
      if (job.signal.aborted) return
      const indexStart = performance.now()
      await finishInitialLoad(job)
      result.profile.indexMs += performance.now() - indexStart
      // The position: after the last row at the bound. Every row up to it was in the copy; an empty
      // table (or one whose cursors are all NULL) keeps no position and is copied whole again next run.
      lastKey = lastCursor === null ? null : await lastKeyAt(snap, shape, job, lastCursor)
      w.mode = 'upsert'
      await writeBatch(w, [], { ...stateOf(job, lastCursor, lastKey), rowsDelta: 0 })
      result.lastCursor = lastCursor
      failed = false
      return
    }
    const outside = await copyOutsideRows(job, shape, result, {
      read,
      write: (rows) => write(rows, 'incremental'),
      flush: () => writer!.flush(),
      keyTerms,
    })
    if (!outside || cap === null) {
      // Held: the lag counts from the oldest change after the position that stays where it is.
      if (outside && job.measureLag && cursor.capped && lastCursor !== null) {
        const from = cursor.literal(Buffer.from(lastCursor, 'utf8'))
        result.lag = {
          oldestPendingMs: await oldestPendingMs(snap.conn, job, shape, from),
          caughtUpToMs: null,
        }
      }
      failed = false
      return
    }

    // Rows after the saved position and below the cap, in (cursor, key) order.
    const where = [`${cursor.expr} IS NOT NULL`]
    if (cap !== undefined) where.push(`${cursor.expr} < ${cap}`)
    let after: Buffer[] | null = null
    const lagMode = lastCursor !== null && config.lagMs > 0 && cursor.temporal
    if (lastCursor !== null) {
      const lastLit = cursor.literal(Buffer.from(lastCursor, 'utf8'))
      if (lagMode) {
        // Re-read the lag window behind the saved position: rows stamped late by their writers.
        where.push(
          `${cursor.expr} >= (CAST(${lastLit} AS DATETIME(6)) - INTERVAL ${config.lagMs * 1000} MICROSECOND)`,
        )
      } else if (lastKey) {
        after = [Buffer.from(lastCursor, 'utf8'), ...lastKey]
      } else {
        where.push(`${cursor.expr} >= ${lastLit}`)
      }
    }
    for await (const rows of read({ where, order: [cursor, ...keyTerms], after })) {
      const last = rows[rows.length - 1]!
      const c = last[n]
      // Never move the saved position backwards: a lag re-read starts behind it. Temporal text of one
      // column type has a fixed width, so it compares as it sorts.
      if (c && (!lagMode || lastCursor === null || c.toString('utf8') > lastCursor)) {
        lastCursor = c.toString('utf8')
        lastKey = last.slice(n + 1) as Buffer[]
      }
      await write(rows, 'incremental')
      if (job.signal.aborted) break
    }
    await writer.flush()
    result.lastCursor = lastCursor
    if (job.measureLag && cap !== undefined && !job.signal.aborted) {
      result.lag = {
        oldestPendingMs: await oldestPendingMs(snap.conn, job, shape, cap),
        caughtUpToMs: Date.parse(`${job.cap.utc!.replace(' ', 'T')}Z`),
      }
    }
    failed = false
  } finally {
    // A failed run must not leave a commit running behind a retry that re-reads the position.
    if (failed) await writer?.flush().catch(() => undefined)
    await snap.close(failed)
  }
}

/**
 * The first load's copy in primary-key order, streamed through LOAD DATA (bulk.ts), each batch committed
 * with the key position it reaches.
 */
async function bulkFirstLoad(
  job: TableJob,
  shape: RowShape,
  w: WriteTarget,
  snap: Snapshot,
  result: TableResult,
  from: { lastCursor: string | null; lastKey: Buffer[] | null; parallel: number },
): Promise<void> {
  const keyTerms = codecTerms(shape.keyCodecs)
  const where = from.lastKey ? ` WHERE ${keysAfter(keyTerms, from.lastKey)}` : ''
  const text =
    `SELECT ${shape.codecs.map((c) => c.select).join(', ')} FROM ${quoteId(job.sourceDef.name)}${where} ` +
    `ORDER BY ${keyTerms.map((t) => t.expr).join(', ')}`
  await bulkCopy(job, w, snap.conn, text, {
    parallel: from.parallel,
    committed: (rows) => {
      result.rowsRead += rows
      result.inserted += rows
      job.progress(rows)
    },
    stateFor: (batch) => ({
      ...stateOf(job, from.lastCursor, batch.lastKey),
      phase: 'initial',
      rowsDelta: batch.rows,
    }),
  })
}

function stateOf(
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

/**
 * The cursor bound B of a first load: the largest cursor value in the snapshot, below the late-commit cap
 * for a temporal cursor. Rows changed after the load began are stamped at or above the cap (or, for a
 * version-number cursor, above the largest value: writers only ever raise it), so they are at or above B.
 * Taking the largest existing value rather than the cap itself keeps a quiet table's position at its
 * newest row, so rows later written with a back-dated cursor between the two are still read.
 */
async function initialBound(
  snap: Snapshot,
  shape: RowShape,
  job: TableJob,
  cap: string | undefined,
): Promise<string | null> {
  const cursor = shape.cursor!
  const below = cap !== undefined ? ` WHERE ${cursor.expr} < ${cap}` : ''
  const [rows] = await snap.conn.query({
    sql: `SELECT MAX(${cursor.expr}) FROM ${quoteId(job.sourceDef.name)}${below}`,
    typeCast: false,
    rowsAsArray: true,
  })
  const v = (rows as unknown as RawRow[])[0]?.[0]
  return v ? v.toString('utf8') : null
}

/** The largest primary key among the rows whose cursor equals `bound`. */
export async function lastKeyAt(
  snap: Snapshot,
  shape: RowShape,
  job: TableJob,
  bound: string,
): Promise<Buffer[] | null> {
  const cursor = shape.cursor!
  const keys = shape.keyCodecs
  const [rows] = await snap.conn.query({
    sql:
      `SELECT ${keys.map((k) => k.select).join(', ')} FROM ${quoteId(job.sourceDef.name)} ` +
      `WHERE ${cursor.expr} = ${cursor.literal(Buffer.from(bound, 'utf8'))} ` +
      `ORDER BY ${keys.map((k) => `${quoteId(k.name)} DESC`).join(', ')} LIMIT 1`,
    typeCast: false,
    rowsAsArray: true,
  })
  const row = (rows as unknown as RawRow[])[0]
  return row ? (row as Buffer[]) : null
}

/** Add the indexes a first load deferred. */
async function finishInitialLoad(job: TableJob): Promise<void> {
  const defs = await introspect(job.target, [job.config.name])
  const current = defs.get(job.config.name)
  const existing = new Set(current?.indexes.map((i) => i.name) ?? [])
  const alter = firstLoadDdl(job.sourceDef, job.target.flavor).afterLoad(existing)
  if (alter) await executeDdl(job.target, job.config.name, alter)
}

async function hasRows(job: TableJob): Promise<boolean> {
  const [rows] = await job.target.pool.query(`SELECT 1 FROM ${quoteId(job.config.name)} LIMIT 1`)
  return (rows as unknown[]).length > 0
}
