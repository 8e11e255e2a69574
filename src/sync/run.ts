import pLimit from 'p-limit'
import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { connectPair } from '../db/identity.js'
import { acquireRunLock } from '../db/lock.js'
import { openSession } from '../plan/session.js'
import { listTablesStarting } from '../schema/introspect.js'
import { REFRESH_PREFIXES } from '../schema/load-ddl.js'
import type { TableDef } from '../schema/table-def.js'
import { tablesWithRangePlans } from '../state/ranges.js'
import { ensureRunsTable, recordRunEnd, recordRunStart } from '../state/sync-runs.js'
import { ensureStateTable, otherPipelines } from '../state/sync-state.js'
import type { Issue } from '../validate/rules.js'
import { type CapOptions, readRunCap } from './cap.js'
import { blankResult, runGated, runLockGate, sharedGate, type TableGate } from './claims.js'
import type { SyncEvents } from './events.js'
import type { TableResult } from './job.js'
import { joinRangeLoad } from './range-load.js'
import { bestEffort, otherPipelineWarning, type RunContext, syncTableWithRetry } from './table-run.js'
import { type Verifier, verifyAfterRun } from './verify.js'

export type { SyncEvents } from './events.js'

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
  // Before the lock and before anything is written: a name the source lacks is refused (exit 2).
  const session = await openSession(pipeline, {
    only: opts.only,
    missingTables: opts.missingTables === 'fail' ? 'keep' : 'refuse',
    pair: opts.pair,
  })
  const { pair, tables, sourceDefs, missing } = session
  try {
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
        const [{ targetDefs, states }, cap, others, staging, rangePlans] = await Promise.all([
          session.readTarget(),
          readRunCap(pair.source, opts.capOptions),
          otherPipelines(pair.target, pipeline.name, names),
          listTablesStarting(pair.target, Object.values(REFRESH_PREFIXES)).catch(() => null),
          tablesWithRangePlans(pair.target, pipeline.name),
          recordRunStart(pair.target, loadId, pipeline.name),
        ])
        await opts.capOptions?.afterRead?.(cap)
        const run: RunContext = {
          pipeline,
          pair,
          loadId,
          mode: { fullRefresh: Boolean(opts.fullRefresh), repair: Boolean(opts.repair) },
          signal,
          events: opts.events ?? {},
          targetDefs,
          states,
          cap,
          others,
          measureLag: opts.measureLag === true,
          staging,
          rangePlans,
        }
        const results = await runTables(run, gate, tables, sourceDefs, missing, opts.concurrency)
        const status = runStatus(results, signal)
        // The scheduled verification repairs under the pipeline lock, or (shared) under each table's claim.
        if (opts.verifier) {
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
        await bestEffort(pipeline, recordRunEnd(pair.target, loadId, runRecord(status, results)))
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
    await session.close()
  }
}

// Every command connects through connectPair (db/identity.ts); re-exported for the commands.
export { connectPair, otherPipelineWarning }

/** What a shared instance needs to join another's ranged load of a table (range-load.ts). */
function rangeJob(run: RunContext, t: TableConfig, sourceDef: TableDef): Parameters<typeof joinRangeLoad>[0] {
  return {
    pipeline: run.pipeline.name,
    config: t,
    source: run.pair.source,
    target: run.pair.target,
    sourceDef,
    loadId: run.loadId,
    signal: run.signal,
    cap: run.cap,
    queryTimeoutMs: run.pipeline.queryTimeoutMs,
    progress: (rows) => run.events.progress?.(t.name, rows),
  }
}

/** Sync the tables concurrently through the gate; a table the source lost is failed without a sync. */
async function runTables(
  run: RunContext,
  gate: TableGate,
  tables: TableConfig[],
  sourceDefs: Map<string, TableDef>,
  missing: Issue[],
  concurrency: number | undefined,
): Promise<TableResult[]> {
  const { pipeline } = run
  const limit = pLimit(Math.max(1, Math.min(concurrency ?? pipeline.concurrency, pipeline.source.poolMax)))
  const gone = missing.filter((m) => !tables.some((t) => t.name === m.table))
  return Promise.all([
    ...gone.map((m) => missingTableResult(m, run.events)),
    ...tables.map((t) =>
      limit(() =>
        runGated(
          gate,
          t,
          run.events,
          // A claimed table may have moved on under another instance since the run began.
          (tableLock, reread) =>
            syncTableWithRetry(run, t, sourceDefs.get(t.name)!, reread ?? false, tableLock),
          (skipped) => joinRangeLoad(rangeJob(run, t, sourceDefs.get(t.name)!), skipped),
        ),
      ),
    ),
  ])
}

function runStatus(results: TableResult[], signal: AbortSignal): RunResult['status'] {
  if (results.some((r) => r.status === 'failed')) return 'failed'
  return results.some((r) => r.status === 'interrupted') || signal.aborted ? 'interrupted' : 'ok'
}

/** The run's `_sync_runs` row: each table's outcome, the schema changes, the failures. */
function runRecord(status: RunResult['status'], results: TableResult[]): Parameters<typeof recordRunEnd>[2] {
  const failedTables = results.filter((r) => r.status === 'failed')
  return {
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
  }
}

/** A table the pipeline names that is gone from the source: failed, so the run and /readyz say so. */
async function missingTableResult(issue: Issue, events: SyncEvents): Promise<TableResult> {
  const result = blankResult(issue.table, 'incremental', 'failed')
  result.error = issue.hint ? `${issue.message}; ${issue.hint}` : issue.message
  events.tableEnd?.(result)
  return result
}
