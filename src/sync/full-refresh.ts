import { sql } from 'kysely'
import type { Db } from '../db/connect.js'
import { quoteId } from '../db/quote.js'
import { InterruptedError, SyncError } from '../errors.js'
import { describeChange, diffTable } from '../schema/diff.js'
import { refreshDdl, refreshNames } from '../schema/load-ddl.js'
import { stateQuery } from '../state/sync-state.js'
import { prefetch, streamBatches } from './batches.js'
import { bulkCopy, loadDataAccepted } from './bulk.js'
import { capBound } from './cap.js'
import { lastKeyAt } from './first-load.js'
import { nullColumns, type RowShape, type TableJob, type TableResult } from './job.js'
import { executeDdl } from './schema-sync.js'
import { openSnapshot, type Snapshot } from './snapshot.js'
import { BatchWriter, type WriteTarget } from './write.js'

/**
 * Rebuild a table: load every source row into a staging table, then swap it in with one RENAME TABLE.
 * Readers see the old table or the new one, never an empty or half-loaded one; a failure or a kill before
 * the RENAME leaves the old table untouched, and the next refresh drops the stale staging table first.
 * For a table with a cursor, the saved position becomes the newest cursor value below the late-commit cap,
 * so an incremental run can carry on from it.
 */
export async function syncFullRefresh(job: TableJob, shape: RowShape, result: TableResult): Promise<void> {
  const { config, target } = job
  const names = refreshNames(config.name)
  const exists = job.targetDef !== undefined || (await tableExists(target, config.name))
  const ddl = refreshDdl(config.name, job.sourceDef, job.targetDef, exists, target.flavor)
  // The rebuild applies the source's definition: say what that changed, as an incremental run does (once,
  // however many attempts the table takes).
  if (result.schemaChanges.length === 0) {
    result.schemaChanges.push(
      ...(job.targetDef
        ? diffTable(job.sourceDef, job.targetDef).map(describeChange)
        : exists
          ? []
          : ['create table']),
    )
  }
  for (const statement of ddl.prepare) await executeDdl(target, config.name, statement)
  const before = { rowsRead: result.rowsRead, inserted: result.inserted }
  try {
    await loadAndSwap(job, shape, result, ddl)
  } catch (err) {
    // The summary counts what was committed: rows of a staging table that was never swapped in are not.
    Object.assign(result, before)
    // A staging table never outlives its run: a failed refresh leaves the old table and nothing else.
    await sql
      .raw(`DROP TABLE IF EXISTS ${quoteId(names.stage)}`)
      .execute(target.kysely)
      .catch(() => undefined)
    throw err
  }
}

async function loadAndSwap(
  job: TableJob,
  shape: RowShape,
  result: TableResult,
  ddl: ReturnType<typeof refreshDdl>,
): Promise<void> {
  const { config, target } = job
  const names = refreshNames(config.name)
  const w: WriteTarget = {
    target,
    table: names.stage,
    label: config.name,
    codecs: shape.codecs,
    nullColumns: nullColumns(job),
    keyIndexes: shape.keyIndexes,
    mode: 'load',
    loadId: job.loadId,
    timeoutMs: job.queryTimeoutMs,
    profile: result.profile,
  }
  const cursor = shape.cursor
  const cap = cursor?.capped ? capBound(job.cap, cursor.columns) : undefined
  if (cap === null && config.strategy === 'incremental') {
    // The saved position would be a guess; the next run, with a fresh list, rebuilds it.
    throw new SyncError(`table ${config.name}: ${job.cap.warning}`, 'run the full refresh again')
  }
  if (cursor?.capped && job.cap.warning) result.warnings.push(job.cap.warning)
  const snap = await openSnapshot(job.source)
  let failed = true
  let position: string | null = null
  let positionKey: Buffer[] | null = null
  try {
    const from = quoteId(job.sourceDef.name)
    if (cursor && cap !== null) {
      const bound = cap !== undefined ? ` WHERE ${cursor.expr} < ${cap}` : ''
      const [rows] = await snap.conn.query({
        sql: `SELECT ${cursor.select} FROM ${from}${bound} ORDER BY ${cursor.expr} DESC LIMIT 1`,
        typeCast: false,
        rowsAsArray: true,
      })
      const v = (rows as unknown as Array<Array<Buffer | null>>)[0]?.[0]
      position = v ? v.toString('utf8') : null
      // The exact position: after the last row at it, every one of which is in this copy (no re-read,
      // nothing "pending" right after a refresh).
      if (position !== null && shape.keyIndexes.length > 0) {
        positionKey = await lastKeyAt(snap, shape, job, position)
      }
    }
    const text = `SELECT ${shape.codecs.map((c) => c.select).join(', ')} FROM ${from}`
    const counted = (rows: number) => {
      result.rowsRead += rows
      result.inserted += rows
      job.progress(rows)
    }
    if (await loadDataAccepted(w)) {
      await bulkRefresh(job, w, snap, text, counted)
    } else {
      await insertRefresh(job, w, snap, text, counted)
    }
    failed = false
  } finally {
    await snap.close(failed)
  }
  const indexStart = performance.now()
  for (const statement of ddl.afterLoad) await executeDdl(target, config.name, statement)
  result.profile.indexMs += performance.now() - indexStart

  // Swap, then record the state. RENAME TABLE is atomic but commits implicitly, so the state write
  // cannot share its transaction; if we die between the two, the next run refreshes again (or, for an
  // incremental table, re-reads from the older position, which upserts harmlessly).
  // The staging table is named after the table: another run writing it would have been swapped in too.
  await job.lock.held(true)
  for (const statement of ddl.swap) await executeDdl(target, config.name, statement)
  await stateQuery(target.kysely, {
    pipeline: job.pipeline,
    table: config.name,
    strategy: config.strategy,
    cursorColumns: config.cursor,
    lastCursor: position,
    lastKey: positionKey,
    loadId: job.loadId,
    rowsDelta: result.rowsRead,
    status: 'running',
    error: null,
    // Said as it is: a full_refresh table is rebuilt every run. (--full-refresh of an incremental table
    // leaves it ready for its next incremental run.)
    phase: config.strategy === 'full_refresh' ? 'full_refresh' : 'incremental',
  }).execute()
  result.lastCursor = position
}

/** Stream the source into the empty staging table through LOAD DATA, two batches loading at once. */
async function bulkRefresh(
  job: TableJob,
  w: WriteTarget,
  snap: Snapshot,
  text: string,
  counted: (rows: number) => void,
): Promise<void> {
  const { stopped } = await bulkCopy(job, w, snap.conn, text, {
    parallel: 2,
    committed: counted,
    stateFor: () => null,
  })
  if (stopped) throw new InterruptedError('interrupted before the swap: the old table is untouched')
}

/** The same with multi-row INSERTs, for a target that refuses LOAD DATA LOCAL. */
async function insertRefresh(
  job: TableJob,
  w: WriteTarget,
  snap: Snapshot,
  text: string,
  counted: (rows: number) => void,
): Promise<void> {
  w.mode = 'upsert'
  let ordinal = 0
  const writer = new BatchWriter(w, (_counts, rowCount) => counted(rowCount))
  try {
    for await (const rows of prefetch(
      streamBatches(snap.conn, text, job.config.batchSize, job.queryTimeoutMs),
      w.profile,
    )) {
      if (job.signal.aborted)
        throw new InterruptedError('interrupted before the swap: the old table is untouched')
      await writer.push(rows, null, ordinal)
      ordinal += rows.length
    }
    await writer.flush()
  } catch (err) {
    await writer.flush().catch(() => undefined)
    throw err
  }
}

async function tableExists(target: Db, name: string): Promise<boolean> {
  const [rows] = await target.pool.query(
    `SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [name],
  )
  return (rows as unknown[]).length > 0
}

/**
 * A refresh of this table killed before its cleanup (the table since switched to incremental) left its
 * staging tables: they go at the table's next start. Looked up first: an incremental pipeline's account
 * may lack the DROP privilege it otherwise never needs.
 */
export async function dropStaleStaging(job: TableJob): Promise<void> {
  const stale = Object.values(refreshNames(job.config.name))
  const [found] = await job.target.pool.query(
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?)`,
    stale,
  )
  const names = (found as Array<{ t: string }>).map((r) => quoteId(r.t))
  if (names.length) await executeDdl(job.target, job.config.name, `DROP TABLE IF EXISTS ${names.join(', ')}`)
}
