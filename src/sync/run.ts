import pLimit from 'p-limit'
import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { connectPair } from '../db/identity.js'
import { acquireRunLock, type RunLock } from '../db/lock.js'
import { DbsyncError, errorMessage, InterruptedError } from '../errors.js'
import { withDeadline } from '../observe/deadline.js'
import { redact } from '../observe/redact.js'
import { crossFlavorWarnings } from '../plan/plan.js'
import { introspect } from '../schema/introspect.js'
import { firstLoadDdl } from '../schema/load-ddl.js'
import type { TableDef } from '../schema/table-def.js'
import { ensureRunsTable, recordRunEnd, recordRunStart } from '../state/sync-runs.js'
import {
  ensureStateTable,
  otherPipelines,
  readState,
  recordTableEnd,
  recordTableStart,
  type SyncState,
} from '../state/sync-state.js'
import { resolveSelected } from '../validate/resolve.js'
import type { Issue } from '../validate/rules.js'
import { type CapOptions, type RunCap, readRunCap } from './cap.js'
import { blankResult, runGated, runLockGate, sharedGate } from './claims.js'
import { detectDeletes } from './deletes.js'
import { dropStaleStaging, syncFullRefresh } from './full-refresh.js'
import { syncIncremental } from './incremental.js'
import { rowShape, type TableJob, type TableResult } from './job.js'
import { joinRangeLoad, rangedLoad } from './range-load.js'
import { recopyRows } from './recopy.js'
import { emptyRepair, refreshRepair, repairTable } from './repair.js'
import { backoffDelay, isTransient, sleep } from './retry.js'
import { applySchemaChanges, carryAutoIncrement, executeDdl } from './schema-sync.js'
import { type Verifier, verifyAfterRun } from './verify.js'

/** How the caller hears about progress (the CLI draws spinners or logs lines). */
export interface SyncEvents {
  /** `expectedRows`: the source's row estimate when the whole table is copied (first load, full refresh). */
  tableStart?(table: TableConfig, expectedRows?: number): void
  progress?(table: string, rows: number): void
  tableRetry?(table: string, attempt: number, delayMs: number, err: unknown): void
  tableEnd?(result: TableResult): void
}

export interface SyncOptions {
  pipeline: Pipeline
  /** The --tables list. */
  only?: string[]
  /** --full-refresh: rebuild every selected table (incremental ones too) and reset its position. */
  fullRefresh?: boolean
  /** --repair: after each table's sync, compare it chunk by chunk and re-copy the chunks that differ. */
  repair?: boolean
  /** Scheduled mode: verify the due tables after the sync, under the same lock (verify.ts). */
  verifier?: Verifier
  concurrency?: number
  signal?: AbortSignal
  events?: SyncEvents
  /** Connected pools to reuse (the scheduler keeps them open between runs). */
  pair?: { source: Db; target: Db }
  /** The run's load id, when the caller needs it before the run starts (log fields); else a new one. */
  loadId?: string
  /**
   * A table (or column) the pipeline names and the source lacks: `refuse` the run (ConfigError, exit 2;
   * the default), or `fail` that table and sync the others (scheduled mode, where a table may disappear
   * between runs).
   */
  missingTables?: 'refuse' | 'fail'
  /** How long to wait for a fresh list of open transactions (tests shorten it). */
  capOptions?: CapOptions
  /** Measure each table's backlog for the lag metric (one more query per table; scheduled mode). */
  measureLag?: boolean
}

export interface RunResult {
  loadId: string
  pipeline: string
  status: 'ok' | 'failed' | 'interrupted'
  startedAt: string
  finishedAt: string
  seconds: number
  tables: TableResult[]
}

/** A dlt-style load id: the start time in seconds with six decimals, unique per run. */
export function newLoadId(now = Date.now()): string {
  const micros = String(Math.floor(Math.random() * 1000)).padStart(3, '0')
  return `${(now / 1000).toFixed(3)}${micros}`
}

/**
 * Run a pipeline once: take the run lock, sync the selected tables concurrently (a failing table does not
 * stop the others), record the run in `_sync_runs`. Connection and lock failures throw (exit 3 / 4); table
 * failures are reported in the result.
 */
export async function runSync(opts: SyncOptions): Promise<RunResult> {
  const { pipeline } = opts
  const started = Date.now()
  const startedAt = new Date(started).toISOString()
  const loadId = opts.loadId ?? newLoadId(started)
  const signal = opts.signal ?? new AbortController().signal
  const pair = opts.pair ?? (await connectPair(pipeline))
  try {
    // Before the lock and before anything is written: a name the source lacks is refused (exit 2).
    const { tables, sourceDefs, missing } = await resolveSelected(pipeline, pair.source, opts.only, {
      refuse: opts.missingTables !== 'fail',
    })
    // workers: shared splits the tables between instances by per-table claims; a full refresh of every
    // table still takes the pipeline lock, so it runs alone (claims.ts).
    const shared = pipeline.workers === 'shared'
    const exclusive = !shared || (Boolean(opts.fullRefresh) && !opts.only?.length)
    const lock = exclusive ? await acquireRunLock(pair.target, pipeline.name) : null
    try {
      await ensureStateTable(pair.target)
      await ensureRunsTable(pair.target)
      const gate = shared
        ? await sharedGate(pair.target, pipeline, loadId, {
            exclusive,
            skipSynced: !opts.fullRefresh && !opts.repair,
          })
        : runLockGate(lock!)
      try {
        // Read once for all tables: a run over a thousand tables costs a handful of catalog round trips.
        const names = tables.map((t) => t.name)
        // The cap is read once for the whole run (cap.ts): every table's snapshot opens after it.
        const [targetDefs, states, cap, others] = await Promise.all([
          introspect(pair.target, names),
          readState(pair.target, pipeline.name),
          readRunCap(pair.source, opts.capOptions),
          otherPipelines(pair.target, pipeline.name, names),
          recordRunStart(pair.target, loadId, pipeline.name),
        ])
        await opts.capOptions?.afterRead?.(cap)
        const known = { targetDefs, states, cap, others, measureLag: opts.measureLag === true }
        const concurrency = Math.max(
          1,
          Math.min(opts.concurrency ?? pipeline.concurrency, pipeline.source.poolMax),
        )
        const limit = pLimit(concurrency)
        const gone = missing.filter((m) => !tables.some((t) => t.name === m.table))
        const results = await Promise.all([
          ...gone.map((m) => missingTableResult(m, opts.events ?? {})),
          ...tables.map((t) =>
            limit(() =>
              runGated(
                gate,
                t,
                opts.events ?? {},
                (tableLock, reread) =>
                  syncTableWithRetry(
                    pipeline,
                    pair,
                    t,
                    sourceDefs.get(t.name)!,
                    loadId,
                    { fullRefresh: Boolean(opts.fullRefresh), repair: Boolean(opts.repair) },
                    signal,
                    opts.events ?? {},
                    // A claimed table may have moved on under another instance since the run began.
                    { ...known, reread },
                    tableLock,
                  ),
                (skipped) =>
                  joinRangeLoad(
                    {
                      pipeline: pipeline.name,
                      config: t,
                      source: pair.source,
                      target: pair.target,
                      sourceDef: sourceDefs.get(t.name)!,
                      loadId,
                      signal,
                      cap,
                      queryTimeoutMs: pipeline.queryTimeoutMs,
                      progress: (rows) => opts.events?.progress?.(t.name, rows),
                    },
                    skipped,
                  ),
              ),
            ),
          ),
        ])
        const status = results.some((r) => r.status === 'failed')
          ? 'failed'
          : results.some((r) => r.status === 'interrupted') || signal.aborted
            ? 'interrupted'
            : 'ok'
        // The scheduled verification repairs under the pipeline lock; shared instances hold none.
        if (opts.verifier && lock) {
          await verifyAfterRun(opts.verifier, {
            pipeline,
            pair,
            tables,
            sourceDefs,
            results,
            loadId,
            signal,
            lock,
            cap,
            startedAt: started,
          })
        }
        const failedTables = results.filter((r) => r.status === 'failed')
        await bestEffort(
          pipeline,
          recordRunEnd(pair.target, loadId, {
            status,
            tables: Object.fromEntries(
              results.map((r) => [
                r.table,
                {
                  status: r.status,
                  rows: r.rowsRead,
                  inserted: r.inserted,
                  updated: r.updated,
                  deleted: r.deleted,
                  ...(r.repair ? { repair: r.repair } : {}),
                  ...(r.held_by ? { held_by: r.held_by } : {}),
                },
              ]),
            ),
            schemaChanges: Object.fromEntries(
              results.filter((r) => r.schemaChanges.length).map((r) => [r.table, r.schemaChanges]),
            ),
            error: failedTables.length ? failedTables.map((r) => `${r.table}: ${r.error}`).join('; ') : null,
          }),
        )
        const finished = Date.now()
        return {
          loadId,
          pipeline: pipeline.name,
          status,
          startedAt,
          finishedAt: new Date(finished).toISOString(),
          seconds: (finished - started) / 1000,
          tables: results,
        }
      } finally {
        await gate.close()
      }
    } finally {
      await lock?.release()
    }
  } finally {
    if (!opts.pair) await Promise.all([pair.source.close(), pair.target.close()])
  }
}

// Every command connects through connectPair (db/identity.ts); re-exported for the commands.
export { connectPair }

/** The warning for a target table another pipeline's state rows also claim. */
export function otherPipelineWarning(others: string[] | undefined): string[] {
  if (!others?.length) return []
  const names = others.map((p) => `"${p}"`).join(', ')
  return [
    `the target's _sync_state also tracks this table for pipeline ${names}: two pipelines writing one target table overwrite each other's rows`,
  ]
}

/** A table the pipeline names that is gone from the source: failed, so the run and /readyz say so. */
async function missingTableResult(issue: Issue, events: SyncEvents): Promise<TableResult> {
  const result = blankResult(issue.table, 'incremental', 'failed')
  result.error = issue.hint ? `${issue.message}; ${issue.hint}` : issue.message
  events.tableEnd?.(result)
  return result
}

async function syncTableWithRetry(
  pipeline: Pipeline,
  pair: { source: Db; target: Db },
  config: TableConfig,
  sourceDef: TableDef,
  loadId: string,
  mode: { fullRefresh: boolean; repair: boolean },
  signal: AbortSignal,
  events: SyncEvents,
  known: {
    targetDefs: Map<string, TableDef>
    states: Map<string, SyncState>
    cap: RunCap
    measureLag: boolean
    others: Map<string, string[]>
    /** Read the table's definition and state again before the first attempt (workers: shared). */
    reread?: boolean
  },
  lock: Pick<RunLock, 'held'>,
): Promise<TableResult> {
  const started = Date.now()
  const { fullRefresh } = mode
  const result: TableResult = {
    ...blankResult(config.name, fullRefresh ? 'full_refresh' : config.strategy, 'ok'),
    warnings: [
      ...sourceDef.skippedIndexes.map((i) => `index ${i} has functional key parts and is not copied`),
      ...otherPipelineWarning(known.others.get(config.name)),
    ],
  }
  await bestEffort(pipeline, recordTableStart(pair.target, pipeline.name, config.name))
  const state = known.states.get(config.name)
  const wholeTable =
    fullRefresh ||
    config.strategy === 'full_refresh' ||
    !known.targetDefs.has(config.name) ||
    !state ||
    state.phase === 'initial'
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
      const [targetDefs, states] =
        attempt === 1 && !known.reread
          ? [known.targetDefs, known.states]
          : await Promise.all([
              introspect(pair.target, [config.name]),
              readState(pair.target, pipeline.name, config.name),
            ])
      const job: TableJob = {
        pipeline: pipeline.name,
        config,
        source: pair.source,
        target: pair.target,
        sourceDef,
        targetDef: targetDefs.get(config.name),
        state: fullRefresh ? undefined : states.get(config.name),
        loadId,
        queryTimeoutMs: pipeline.queryTimeoutMs,
        progress: (rows) => events.progress?.(config.name, rows),
        signal,
        lock,
        cap: known.cap,
        measureLag: known.measureLag,
      }
      await syncTable(job, mode, result)
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
      loadId,
      status: result.status,
      error: result.error ?? null,
    }),
  )
  events.tableEnd?.(result)
  return result
}

async function syncTable(
  job: TableJob,
  mode: { fullRefresh: boolean; repair: boolean },
  result: TableResult,
) {
  const shape = rowShape(job)
  if (mode.fullRefresh || job.config.strategy === 'full_refresh') {
    const refreshStarted = Date.now()
    if (!(await rangedLoad(job, shape, result, 'full_refresh'))) await syncFullRefresh(job, shape, result)
    // A full refresh rebuilds the whole table from one snapshot: it is the repair (keyless tables too).
    if (mode.repair) result.repair = refreshRepair((Date.now() - refreshStarted) / 1000)
    return
  }
  // A big table's first load goes in key ranges, through the staging table (range-load.ts).
  if (!job.targetDef && (await rangedLoad(job, shape, result, 'first_load'))) return
  await dropStaleStaging(job)
  if (!job.targetDef) {
    // The first load adds the indexes once it is done (incremental.ts).
    await executeDdl(job.target, job.config.name, firstLoadDdl(job.sourceDef, job.target.flavor).create)
    result.schemaChanges.push('create table')
  } else {
    result.schemaChanges.push(...(await applySchemaChanges(job)))
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
async function bestEffort(pipeline: Pipeline, work: Promise<unknown>): Promise<void> {
  await withDeadline(work.then(noop, noop), pipeline.queryTimeoutMs, noop)
}

function noop(): void {}
