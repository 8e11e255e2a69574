import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import type { RunLock } from '../db/lock.js'
import { assertNever, DbsyncError, errorMessage, InterruptedError } from '../errors.js'
import { withDeadline } from '../observe/deadline.js'
import { redact } from '../observe/redact.js'
import { crossFlavorWarnings, planTable, type TablePlan } from '../plan/plan.js'
import { refusalError } from '../plan/refusal.js'
import { introspect } from '../schema/introspect.js'
import { refreshNames } from '../schema/load-ddl.js'
import type { TableDef } from '../schema/table-def.js'
import { readState, recordTableEnd, recordTableStart, type SyncState } from '../state/sync-state.js'
import type { RunCap } from './cap.js'
import { blankResult } from './claims.js'
import { detectDeletes } from './deletes.js'
import type { SyncEvents } from './events.js'
import { dropStaleStaging, syncFullRefresh } from './full-refresh.js'
import { syncIncremental } from './incremental.js'
import { rowShape, type TableJob, type TableResult } from './job.js'
import { rangedLoad } from './range-load.js'
import { recopyRows } from './recopy.js'
import { emptyRepair, refreshRepair, repairTable } from './repair.js'
import { backoffDelay, isTransient, sleep } from './retry.js'
import { applySchemaChanges, carryAutoIncrement, executeDdl } from './schema-sync.js'

/** What the run read once for all its tables, and how it runs them. */
export interface RunContext {
  pipeline: Pipeline
  pair: { source: Db; target: Db }
  loadId: string
  mode: { fullRefresh: boolean; repair: boolean }
  signal: AbortSignal
  events: SyncEvents
  targetDefs: Map<string, TableDef>
  states: Map<string, SyncState>
  cap: RunCap
  measureLag: boolean
  others: Map<string, string[]>
  /**
   * The target's staging and retired tables (load-ddl.ts) when the run began, or null if unknown: a table
   * none of whose names is there skips its own catalog look-up for leftovers (dropStaleStaging).
   */
  staging: ReadonlySet<string> | null
  /** The tables with a range plan under way when the run began (state/ranges.ts), or null if unknown. */
  rangePlans: ReadonlySet<string> | null
}

/** The warning for a target table another pipeline's state rows also claim. */
export function otherPipelineWarning(others: string[] | undefined): string[] {
  if (!others?.length) return []
  const names = others.map((p) => `"${p}"`).join(', ')
  return [
    `the target's _sync_state also tracks this table for pipeline ${names}: two pipelines writing one target table overwrite each other's rows`,
  ]
}

/** The plan `sync` executes for a table, from the definitions and state as they are now. */
function tablePlan(
  run: RunContext,
  config: TableConfig,
  sourceDef: TableDef,
  targetDef: TableDef | undefined,
  state: SyncState | undefined,
): TablePlan {
  const env = { lateCommitCap: true, targetFlavor: run.pair.target.flavor, fullRefresh: run.mode.fullRefresh }
  return planTable(config, sourceDef, targetDef, run.mode.fullRefresh ? undefined : state, null, env)
}

/**
 * Sync one table, retrying transient failures: each attempt plans the table again from what is committed
 * (its definition and state read anew), then executes that plan.
 */
export async function syncTableWithRetry(
  run: RunContext,
  config: TableConfig,
  sourceDef: TableDef,
  /** Read the table's definition and state again before the first attempt (workers: shared). */
  reread: boolean,
  lock: Pick<RunLock, 'held'>,
): Promise<TableResult> {
  const { pipeline, pair, signal, events } = run
  const started = Date.now()
  const result: TableResult = {
    ...blankResult(config.name, run.mode.fullRefresh ? 'full_refresh' : config.strategy, 'ok'),
    warnings: [
      ...sourceDef.skippedIndexes.map((i) => `index ${i} has functional key parts and is not copied`),
      ...otherPipelineWarning(run.others.get(config.name)),
    ],
  }
  // Without a state row (a first load) there is nothing to stamp: the row is written with the first rows,
  // started then. Skipped only when the run's own read says so (a shared worker asks again anyway).
  if (reread || run.states.has(config.name)) {
    await bestEffort(pipeline, recordTableStart(pair.target, pipeline.name, config.name))
  }
  const first = tablePlan(
    run,
    config,
    sourceDef,
    run.targetDefs.get(config.name),
    run.states.get(config.name),
  )
  const wholeTable = first.kind === 'full-refresh' || first.kind === 'first-load'
  // A table created or rebuilt on a server of the other flavor: say which columns were mapped.
  if (wholeTable) result.warnings.push(...crossFlavorWarnings(sourceDef, pair.target.flavor))
  events.tableStart?.(config, wholeTable ? sourceDef.estimatedRows : undefined)
  for (let attempt = 1; ; attempt++) {
    try {
      if (signal.aborted) {
        result.status = 'interrupted'
        break
      }
      // Only the run holding the lock writes (a cut connection frees it for another run). A retry follows a
      // failure, perhaps a cut of that very connection: it asks the server again.
      await lock.held(attempt > 1)
      // A retry reads both again: it resumes from what was committed, not from what we believed.
      const fresh = attempt === 1 && !reread
      const [targetDefs, states] = fresh
        ? [run.targetDefs, run.states]
        : await Promise.all([
            introspect(pair.target, [config.name]),
            readState(pair.target, pipeline.name, config.name),
          ])
      const targetDef = targetDefs.get(config.name)
      const state = run.mode.fullRefresh ? undefined : states.get(config.name)
      const job = tableJob(run, config, sourceDef, targetDef, state, lock)
      // What the run read once for all tables holds for a first attempt under the run lock; a retry, or
      // a table claimed under workers: shared, asks again.
      job.staleStaging = !fresh || mayHaveStaging(run.staging, config.name)
      job.rangePlan = !fresh || run.rangePlans === null || run.rangePlans.has(config.name)
      await executePlan(job, tablePlan(run, config, sourceDef, targetDef, state), run.mode, result)
      result.status = signal.aborted ? 'interrupted' : 'ok'
      break
    } catch (err) {
      if (isTransient(err) && attempt < pipeline.retry.attempts && !signal.aborted) {
        const delay = backoffDelay(pipeline.retry, attempt)
        events.tableRetry?.(config.name, attempt, delay, err)
        await sleep(delay, signal)
        continue
      }
      const stopped = err instanceof InterruptedError || (signal.aborted && isTransient(err))
      result.status = stopped ? 'interrupted' : 'failed'
      // A transient error that outlasted the retries says so: "read ECONNRESET" alone reads like a bug.
      const gaveUp =
        isTransient(err) && !signal.aborted && attempt > 1 ? `gave up after ${attempt} attempts: ` : ''
      result.error = redact(gaveUp + describeError(err))
      break
    }
  }
  result.seconds = (Date.now() - started) / 1000
  await bestEffort(
    pipeline,
    recordTableEnd(pair.target, {
      pipeline: pipeline.name,
      table: config.name,
      strategy: result.strategy,
      cursorColumns: config.cursor,
      loadId: run.loadId,
      status: result.status,
      error: result.error ?? null,
    }),
  )
  events.tableEnd?.(result)
  return result
}

function tableJob(
  run: RunContext,
  config: TableConfig,
  sourceDef: TableDef,
  targetDef: TableDef | undefined,
  state: SyncState | undefined,
  lock: Pick<RunLock, 'held'>,
): TableJob {
  return {
    pipeline: run.pipeline.name,
    config,
    source: run.pair.source,
    target: run.pair.target,
    sourceDef,
    targetDef,
    state,
    loadId: run.loadId,
    queryTimeoutMs: run.pipeline.queryTimeoutMs,
    progress: (rows) => run.events.progress?.(config.name, rows),
    signal: run.signal,
    lock,
    cap: run.cap,
    measureLag: run.measureLag,
  }
}

/** Whether the run's list of staging tables (null: none read) may hold one of this table's. */
function mayHaveStaging(staging: ReadonlySet<string> | null, table: string): boolean {
  return staging === null || Object.values(refreshNames(table)).some((n) => staging.has(n))
}

/** Execute exactly the table's plan. */
async function executePlan(
  job: TableJob,
  plan: TablePlan,
  mode: { repair: boolean },
  result: TableResult,
): Promise<void> {
  switch (plan.kind) {
    case 'refused':
      throw refusalError(plan.table, plan.refusals[0])
    case 'full-refresh': {
      const shape = rowShape(job)
      const refreshStarted = Date.now()
      if (!(await rangedLoad(job, shape, result, 'full_refresh'))) await syncFullRefresh(job, shape, result)
      // A full refresh rebuilds the whole table from one snapshot: it is the repair (keyless tables too).
      if (mode.repair) result.repair = refreshRepair((Date.now() - refreshStarted) / 1000)
      return
    }
    case 'first-load':
    case 'incremental':
      return syncIncrementalPlan(job, plan, mode, result)
    default:
      return assertNever(plan)
  }
}

async function syncIncrementalPlan(
  job: TableJob,
  plan: Extract<TablePlan, { kind: 'first-load' | 'incremental' }>,
  mode: { repair: boolean },
  result: TableResult,
): Promise<void> {
  const shape = rowShape(job)
  // A big table's first load goes in key ranges, through the staging table (range-load.ts).
  if (!plan.targetExists && (await rangedLoad(job, shape, result, 'first_load'))) return
  if (job.staleStaging !== false) await dropStaleStaging(job)
  if (!plan.targetExists) {
    // The first load adds the indexes once it is done (incremental.ts).
    for (const text of plan.ddl.before) await executeDdl(job.target, job.config.name, text)
    result.schemaChanges.push('create table')
  } else {
    result.schemaChanges.push(...(await applySchemaChanges(job, plan)))
    // Existing rows the target filled with its own values for a new column (saved before the ALTER).
    await recopyRows(job, shape, result)
    if (job.signal.aborted) return
  }
  await syncIncremental(job, shape, result)
  if (!job.signal.aborted) await carryAutoIncrement(job)
  // Timestamp cursors never see a hard delete: compare key ranges once the table is up to date.
  if (job.config.deletes === 'detect' && !job.signal.aborted) {
    await detectDeletes(job, shape, (rows) => {
      result.deleted += rows
    })
  }
  if (mode.repair && !job.signal.aborted) {
    // Kept across attempts: a retry adds to what the failed attempt already repaired.
    result.repair ??= emptyRepair('chunks')
    await repairTable(job, shape, { repair: true, into: result.repair })
  }
}

/** The message of an error, with the server's code when there is one. */
function describeError(err: unknown): string {
  const e = err as { code?: string; sqlMessage?: string }
  const msg = errorMessage(err)
  // Our own errors carry the way out as a hint; a table's error is all the user sees of it.
  if (err instanceof DbsyncError && err.hint && !msg.includes(err.hint)) return `${msg}; ${err.hint}`
  return e?.code && !msg.includes(e.code) && e.sqlMessage ? `${msg} (${e.code})` : msg
}

/**
 * Bookkeeping after the rows are safe (a run's or a table's end): its failure must not fail the run, and a
 * target that stopped answering must not hang it past query_timeout.
 */
export async function bestEffort(pipeline: Pipeline, work: Promise<unknown>): Promise<void> {
  await withDeadline(work.then(noop, noop), pipeline.queryTimeoutMs, noop)
}

function noop(): void {}
