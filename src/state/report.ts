import type { Db } from '../db/connect.js'
import { claimName, liveRunName, lockInUse, lockName } from '../db/lock.js'
import { claimHolder } from './claims.js'
import { RANGES_TABLE } from './ranges.js'
import {
  assembleReport,
  type KeyRangesProgress,
  type Live,
  type PipelineReport,
  type RawRun,
  type RawState,
} from './report-model.js'
import { RUNS_TABLE } from './sync-runs.js'
import { STATE_TABLE } from './sync-state.js'

// The report's shapes and its pure assembly live in report-model.ts; readers of the report import them here.
export type { PipelineReport, ReportStatus, RunReport, TableReport } from './report-model.js'

/** How many runs are scanned for each table's last success. */
const RUN_SCAN = 500

/**
 * Read a pipeline's report. `expected` names tables the pipeline file selects by name: one with no state
 * row is reported `never`. Missing state tables read as empty (nothing synced yet); nothing is created.
 */
export async function readReport(
  target: Db,
  pipeline: string,
  opts: { expected?: string[]; runs?: number; now?: number } = {},
): Promise<PipelineReport> {
  const now = opts.now ?? Date.now()
  const [states, runs, lockHeld, ranges] = await Promise.all([
    selectOrEmpty<RawState>(
      target,
      `SELECT table_name, strategy, status, error, last_cursor, last_load_id, rows_synced, updated_at,
              finished_at FROM \`${STATE_TABLE}\` WHERE pipeline = ? ORDER BY table_name`,
      [pipeline],
    ),
    selectOrEmpty<RawRun>(
      target,
      `SELECT load_id, status, started_at, finished_at, tables_json, error FROM \`${RUNS_TABLE}\`
        WHERE pipeline = ? ORDER BY started_at DESC LIMIT ${RUN_SCAN}`,
      [pipeline],
    ),
    isLockHeld(target, pipeline),
    readRangeProgress(target, pipeline),
  ])
  const live = lockHeld
    ? { holders: new Map(), runs: new Set<string>() }
    : await findLive(target, pipeline, states, runs)
  return assembleReport({
    pipeline,
    states,
    runs,
    lockHeld,
    live,
    now,
    expected: opts.expected,
    shownRuns: opts.runs,
    ranges,
  })
}

/** Loads in key ranges under way: ranges done of all, per table. No _sync_ranges (or no grant on it): none. */
async function readRangeProgress(target: Db, pipeline: string): Promise<Map<string, KeyRangesProgress>> {
  const rows = await selectOrEmpty<{ table_name: string; done: string | number; total: string | number }>(
    target,
    `SELECT table_name, SUM(status = 'done') AS done, COUNT(*) AS total FROM \`${RANGES_TABLE}\`
      WHERE pipeline = ? GROUP BY table_name`,
    [pipeline],
  ).catch(() => [])
  return new Map(rows.map((r) => [r.table_name, { done: Number(r.done), total: Number(r.total) }]))
}

// workers: shared holds no pipeline lock: a table is live while its claim is held, a run while its own lock
// is (db/lock.ts). Only rows recorded as running are asked about.
async function findLive(target: Db, pipeline: string, states: RawState[], runs: RawRun[]): Promise<Live> {
  const live: Live = { holders: new Map(), runs: new Set() }
  await Promise.all([
    ...states
      .filter((s) => s.status === 'running')
      .map(async (s) => {
        if (!(await lockInUse(target, claimName(pipeline, s.table_name)))) return
        live.holders.set(
          s.table_name,
          (await claimHolder(target, pipeline, s.table_name)) ?? 'another instance',
        )
      }),
    ...runs
      .filter((r) => r.status === 'running')
      .map(async (r) => {
        if (await lockInUse(target, liveRunName(pipeline, r.load_id))) live.runs.add(r.load_id)
      }),
  ])
  return live
}

/** What is wrong, one sentence each: failed, abandoned or never-synced tables, and lag over `maxLagMs`. */
export function reportProblems(r: PipelineReport, maxLagMs?: number): string[] {
  const out: string[] = []
  if (r.tables.length === 0) out.push(`nothing has been synced for pipeline ${r.pipeline} yet`)
  for (const t of r.tables) {
    if (t.status === 'failed') out.push(`${t.table}: last run failed: ${t.error ?? 'no error recorded'}`)
    else if (t.status === 'abandoned')
      out.push(`${t.table}: run ${t.last_run} is recorded as running, but no process holds the lock`)
    else if (t.status === 'never') out.push(`${t.table}: never synced`)
    if (maxLagMs === undefined || t.status === 'never') continue
    const lag = t.lag_seconds ?? t.age_seconds
    if (lag === null) out.push(`${t.table}: no successful sync recorded`)
    else if (lag * 1000 > maxLagMs) {
      const what = t.lag_seconds !== null ? 'lags' : 'last synced'
      out.push(
        `${t.table}: ${what} ${duration(lag)}${t.lag_seconds === null ? ' ago' : ''}, over ${duration(maxLagMs / 1000)}`,
      )
    }
  }
  return out
}

/** `90` -> `1m 30s`; for messages and the terminal table. */
export function duration(seconds: number): string {
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  const parts: string[] = []
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d) parts.push(`${d}d`)
  if (h) parts.push(`${h}h`)
  if (m && !d) parts.push(`${m}m`)
  if (!d && !h && s % 60) parts.push(`${s % 60}s`)
  return parts.join(' ')
}

async function selectOrEmpty<T>(target: Db, text: string, params: unknown[]): Promise<T[]> {
  try {
    const [rows] = await target.pool.query(text, params)
    return rows as T[]
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return []
    throw err
  }
}

// IS_USED_LOCK is NULL when nobody holds the lock (MySQL and MariaDB alike); it takes nothing.
function isLockHeld(target: Db, pipeline: string): Promise<boolean> {
  return lockInUse(target, lockName(pipeline))
}
