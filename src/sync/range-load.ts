import { DEFAULT_PARALLEL } from '../config/types.js'
import { quoteId } from '../db/quote.js'
import { errorMessage, InterruptedError, SyncError } from '../errors.js'
import { log } from '../observe/log.js'
import { renderAddIndexes } from '../schema/ddl.js'
import { describeChange, diffTable } from '../schema/diff.js'
import { introspect } from '../schema/introspect.js'
import { refreshDdl, refreshNames, withKeptColumns } from '../schema/load-ddl.js'
import {
  dropRangePlan,
  ensureRangesTable,
  type RangeKind,
  type RangePlan,
  readRangePlan,
  writeRangePlan,
} from '../state/ranges.js'
import { stateQuery } from '../state/sync-state.js'
import { loadDataAccepted } from './bulk.js'
import { capBound } from './cap.js'
import { lastKeyAt } from './first-load.js'
import { type RowShape, rowShape, type TableJob, type TableResult } from './job.js'
import { keyBoundaries, loadRanges, stageTarget } from './range-copy.js'
import { rangeStep, rangesBetween } from './ranges.js'
import { carryAutoIncrement, executeDdl } from './schema-sync.js'
import { openSnapshot } from './snapshot.js'

/*
 * One big table's first load or full refresh in primary-key ranges, loaded at once by this instance's
 * workers and by any other instance of a `workers: shared` pipeline (joinRangeLoad), each range committed
 * and marked done on its own (range-copy.ts), so a killed worker costs only its range.
 *
 * Visibility: the ranges load into the staging table of the full refresh (full-refresh.ts), also for a
 * first load, and one RENAME swaps it in once every range is done. Readers see no table (first load) or
 * the old one (refresh) until then, never a half-loaded one; the staging table and the plan in
 * _sync_ranges outlive a killed run, so the next run carries on with the ranges that are not done.
 *
 * Consistency: each range is read in its own snapshot, at a different time. The position saved at the
 * end is fixed once, in a snapshot opened before the first range's, below the run's late-commit cap read
 * before that (cap.ts): the largest cursor value then, as a single-snapshot first load takes it. A row
 * changed after that snapshot is stamped at or above the cap (a version cursor: above the largest value),
 * so the next incremental run reads it again, whichever version its range copied. A row's key never
 * leaves its range, so no row is copied twice or missed: every row is in exactly one range.
 */

/**
 * Run the table's whole-table load in key ranges when it should be: a plan is under way for it, or the
 * source estimates it at `parallel.above_rows` rows or more. Returns false when the caller loads it the
 * usual way.
 */
export async function rangedLoad(
  job: TableJob,
  shape: RowShape,
  result: TableResult,
  kind: RangeKind,
): Promise<boolean> {
  if (shape.keyIndexes.length === 0 || (kind === 'first_load' && !shape.cursor)) return false
  const step = rangeStep(job.sourceDef.estimatedRows, job.config.parallel ?? DEFAULT_PARALLEL)
  // A small table with no plan when the run began (run.ts read them all at once) has none to resume.
  if (step === null && job.rangePlan === false) return false
  const found = await readRangePlan(job.target, job.pipeline, job.config.name)
  if (!found && step === null) return false
  const { stage } = refreshNames(job.config.name)
  const ddl = refreshDdl(
    job.config.name,
    job.sourceDef,
    job.targetDef,
    job.targetDef !== undefined,
    job.target.flavor,
  )
  let plan = found && found.kind === kind && (await stageMatches(job, stage)) ? found : null
  if (found && !plan) await dropRangePlan(job.target, job.pipeline, job.config.name)
  if (!plan) {
    if (step === null) return false
    await ensureRangesTable(job.target)
    for (const statement of ddl.prepare) await executeDdl(job.target, job.config.name, statement)
    // A target refusing LOAD DATA LOCAL gets the one-connection INSERT path of the usual load.
    if (!(await loadDataAccepted(stageTarget(job, shape, stage)))) return false
    plan = await newPlan(job, shape, result, kind, step)
    if (!plan) return true
  }
  if (result.schemaChanges.length === 0) {
    result.schemaChanges.push(
      ...(job.targetDef ? diffTable(job.sourceDef, job.targetDef).map(describeChange) : ['create table']),
    )
  }
  const total = plan.ranges.length
  const left = plan.ranges.filter((r) => !r.done).length
  log().info(
    { event: 'range_load', table: job.config.name, kind, ranges: total, pending: left, plan: plan.planId },
    `${job.config.name}: loading ${left} of ${total} key ranges into the staging table`,
  )
  await loadRanges(job, shape, plan, stage, result, { wait: true })
  if (job.signal.aborted) {
    throw new InterruptedError(`interrupted before the swap: the finished key ranges (of ${total}) are kept`)
  }
  await swapIn(job, plan, stage, result, ddl.swap)
  return true
}

/**
 * Plan the ranges: fix the saved position first, then walk the key for the boundaries, in one snapshot
 * opened after the run's cap was read. Null when the position cannot be fixed this run (a first load
 * whose list of open transactions could not be shown fresh waits for the next run, as incremental.ts).
 */
async function newPlan(
  job: TableJob,
  shape: RowShape,
  result: TableResult,
  kind: RangeKind,
  step: number,
): Promise<RangePlan | null> {
  const cursor = shape.cursor
  const cap = cursor?.capped ? capBound(job.cap, cursor.columns) : undefined
  if (kind === 'first_load') {
    result.cap = cap ?? null
    if (cap === null) {
      result.positionsHeld = true
      return null
    }
  } else if (cap === null && job.config.strategy === 'incremental') {
    throw new SyncError(`table ${job.config.name}: ${job.cap.warning}`, 'run the full refresh again')
  }
  if (cursor?.capped && job.cap.warning) result.warnings.push(job.cap.warning)
  const snap = await openSnapshot(job.source)
  let failed = true
  try {
    let lastCursor: string | null = null
    let lastKey: Buffer[] | null = null
    if (cursor && cap !== null) {
      const below = cap !== undefined ? ` WHERE ${cursor.expr} < ${cap}` : ''
      const [rows] = await snap.conn.query({
        sql: `SELECT MAX(${cursor.expr}) FROM ${quoteId(job.sourceDef.name)}${below}`,
        typeCast: false,
        rowsAsArray: true,
      })
      const v = (rows as unknown as Array<Array<Buffer | null>>)[0]?.[0]
      lastCursor = v ? v.toString('utf8') : null
      if (lastCursor !== null) lastKey = await lastKeyAt(snap, shape, job, lastCursor)
    }
    const bounds = await keyBoundaries(snap, shape, job, step)
    failed = false
    const plan: RangePlan = {
      pipeline: job.pipeline,
      table: job.config.name,
      planId: job.loadId,
      kind,
      lastCursor,
      lastKey,
      ranges: rangesBetween(bounds),
    }
    await writeRangePlan(job.target, plan)
    return plan
  } finally {
    await snap.close(failed)
  }
}

/** Whether the staging table a plan loads into is there, with the columns this run would give it. */
async function stageMatches(job: TableJob, stage: string): Promise<boolean> {
  const def = (await introspect(job.target, [stage])).get(stage)
  if (!def) return false
  const wanted = withKeptColumns(job.sourceDef, job.targetDef).columns.map((c) => c.name)
  const have = def.columns.map((c) => c.name).filter((n) => !n.startsWith('_dlt_'))
  return wanted.length === have.length && wanted.every((n, i) => n === have[i])
}

/** Every range is in: build the indexes, swap the staging table in, save the planned position. */
async function swapIn(
  job: TableJob,
  plan: RangePlan,
  stage: string,
  result: TableResult,
  swap: string[],
): Promise<void> {
  const { config, target } = job
  const indexStart = performance.now()
  // Indexes a run killed after building them already has are not built twice.
  const existing = new Set((await introspect(target, [stage])).get(stage)?.indexes.map((i) => i.name) ?? [])
  const alter = renderAddIndexes(withKeptColumns(job.sourceDef, job.targetDef), stage, existing)
  if (alter) await executeDdl(target, config.name, alter)
  result.profile.indexMs += performance.now() - indexStart
  await job.lock.held(true)
  for (const statement of swap) await executeDdl(target, config.name, statement)
  // As a full refresh: RENAME commits by itself, so a kill before the state write redoes the load.
  await stateQuery(target.kysely, {
    pipeline: job.pipeline,
    table: config.name,
    strategy: config.strategy,
    cursorColumns: config.cursor,
    lastCursor: plan.lastCursor,
    lastKey: plan.lastKey,
    loadId: job.loadId,
    rowsDelta: result.rowsRead,
    status: 'running',
    error: null,
    phase: config.strategy === 'full_refresh' ? 'full_refresh' : 'incremental',
  }).execute()
  await dropRangePlan(target, job.pipeline, config.name)
  result.lastCursor = plan.lastCursor
  if (plan.kind === 'first_load') await carryAutoIncrement(job)
}

/**
 * `workers: shared`, a table another instance holds: when that instance is loading it in key ranges,
 * load pending ranges alongside it (without waiting for ranges held elsewhere, and leaving the swap to the
 * holder). Says in the result how many ranges this instance loaded; never fails the table.
 */
export async function joinRangeLoad(
  run: Pick<
    TableJob,
    'pipeline' | 'config' | 'source' | 'target' | 'sourceDef' | 'loadId' | 'signal' | 'cap'
  > & {
    queryTimeoutMs: number
    progress(rows: number): void
  },
  result: TableResult,
): Promise<void> {
  try {
    const plan = await readRangePlan(run.target, run.pipeline, run.config.name)
    if (!plan || plan.ranges.every((r) => r.done) || run.signal.aborted) return
    const [targetDef] = (await introspect(run.target, [run.config.name])).values()
    // Held by the table's claim holder, not by this run: the range locks keep the workers apart.
    const job: TableJob = { ...run, targetDef, state: undefined, lock: { held: async () => {} } }
    const { stage } = refreshNames(run.config.name)
    if (!(await stageMatches(job, stage))) return
    const loaded = await loadRanges(job, rowShape(job), plan, stage, result, { wait: false })
    if (loaded > 0) {
      result.warnings.push(`loaded ${loaded} of its ${plan.ranges.length} key ranges alongside the holder`)
    }
  } catch (err) {
    result.warnings.push(`could not help load its key ranges: ${errorMessage(err)}`)
  }
}
