import type { Db } from '../db/connect.js'
import { claimName, liveRunName, lockInUse, lockName } from '../db/lock.js'
import { tableLagSeconds } from '../observe/lag.js'
import { claimHolder } from './claims.js'
import { RUNS_TABLE } from './sync-runs.js'
import { STATE_TABLE } from './sync-state.js'

/**
 * What `dbsync status` and the status page tell about a pipeline, read from the target alone
 * (`_sync_state`, `_sync_runs` and the run lock): a cron deployment has no process to ask.
 */

/** `abandoned`: recorded as running, but no process holds the pipeline lock (killed, or its host died). */
export type ReportStatus = 'ok' | 'failed' | 'running' | 'interrupted' | 'abandoned' | 'never'

export interface TableReport {
  table: string
  strategy: string | null
  status: ReportStatus
  /** The load id of the run that last touched the table. */
  last_run: string | null
  /** When the table's last run ended (or, while running, last wrote). ISO 8601 UTC. */
  last_run_at: string | null
  last_success_at: string | null
  rows_synced: string
  last_cursor: string | null
  /** observe/lag.ts: now minus the newest date/time cursor synced; null for other cursors. */
  lag_seconds: number | null
  /** Seconds since the last success; what --max-lag judges where lag_seconds is null. */
  age_seconds: number | null
  error: string | null
  /** `workers: shared`: the instance working on the table right now, when one is. */
  held_by: string | null
}

export interface RunReport {
  load_id: string
  status: ReportStatus
  started_at: string
  finished_at: string | null
  seconds: number | null
  rows: number
  /** Per table: status and rows read, as the run recorded them. */
  tables: Record<string, { status: string; rows: number }>
  error: string | null
}

export interface PipelineReport {
  pipeline: string
  checked_at: string
  /** Whether a process holds the pipeline's run lock on the target right now. */
  lock_held: boolean
  tables: TableReport[]
  /** Newest first. */
  runs: RunReport[]
}

interface RawState {
  table_name: string
  strategy: string
  status: string
  error: string | null
  last_cursor: string | null
  last_load_id: string | null
  rows_synced: string | number
  updated_at: string
  finished_at: string | null
}

interface RawRun {
  load_id: string
  status: string
  started_at: string
  finished_at: string | null
  tables_json: string | null
  error: string | null
}

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
  const [states, runs, lockHeld] = await Promise.all([
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
  ])
  const parsed = runs.map((r) => ({ raw: r, tables: runTables(r.tables_json) }))
  // workers: shared holds no pipeline lock: a table is live while its claim is held, a run while its own
  // lock is (db/lock.ts). Only rows recorded as running are asked about.
  const holders = new Map<string, string>()
  const liveRuns = new Set<string>()
  if (!lockHeld) {
    await Promise.all([
      ...states
        .filter((s) => s.status === 'running')
        .map(async (s) => {
          if (!(await lockInUse(target, claimName(pipeline, s.table_name)))) return
          holders.set(s.table_name, (await claimHolder(target, pipeline, s.table_name)) ?? 'another instance')
        }),
      ...runs
        .filter((r) => r.status === 'running')
        .map(async (r) => {
          if (await lockInUse(target, liveRunName(pipeline, r.load_id))) liveRuns.add(r.load_id)
        }),
    ])
  }
  const judge = (status: string, live: boolean): ReportStatus =>
    status === 'running' && !lockHeld && !live ? 'abandoned' : (status as ReportStatus)
  const tables = states.map((s): TableReport => {
    const success = parsed.find((r) => r.tables[s.table_name]?.status === 'ok')
    const lastSuccessAt =
      s.status === 'ok' && s.finished_at
        ? iso(s.finished_at)
        : success?.raw.finished_at
          ? iso(success.raw.finished_at)
          : null
    return {
      table: s.table_name,
      strategy: s.strategy,
      status: judge(s.status, holders.has(s.table_name)),
      last_run: s.last_load_id,
      last_run_at: iso(s.finished_at ?? s.updated_at),
      last_success_at: lastSuccessAt,
      rows_synced: String(s.rows_synced),
      last_cursor: s.last_cursor,
      lag_seconds: round(tableLagSeconds(s.last_cursor, now)),
      age_seconds: lastSuccessAt ? round(Math.max(0, (now - Date.parse(lastSuccessAt)) / 1000)) : null,
      error: s.error,
      held_by: holders.get(s.table_name) ?? null,
    }
  })
  for (const name of opts.expected ?? []) {
    if (tables.some((t) => t.table === name)) continue
    tables.push({
      table: name,
      strategy: null,
      status: 'never',
      last_run: null,
      last_run_at: null,
      last_success_at: null,
      rows_synced: '0',
      last_cursor: null,
      lag_seconds: null,
      age_seconds: null,
      error: null,
      held_by: null,
    })
  }
  return {
    pipeline,
    checked_at: new Date(now).toISOString(),
    lock_held: lockHeld,
    tables,
    runs: parsed.slice(0, opts.runs ?? 50).map(({ raw, tables: t }) => {
      const started = iso(raw.started_at)
      const finished = raw.finished_at ? iso(raw.finished_at) : null
      return {
        load_id: raw.load_id,
        status: judge(raw.status, liveRuns.has(raw.load_id)),
        started_at: started,
        finished_at: finished,
        seconds: finished ? round((Date.parse(finished) - Date.parse(started)) / 1000) : null,
        rows: Object.values(t).reduce((n, x) => n + x.rows, 0),
        tables: t,
        error: raw.error,
      }
    }),
  }
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

function runTables(json: string | null): Record<string, { status: string; rows: number }> {
  if (!json) return {}
  try {
    const parsed = JSON.parse(json) as Record<string, { status?: unknown; rows?: unknown }>
    const out: Record<string, { status: string; rows: number }> = {}
    for (const [name, t] of Object.entries(parsed)) {
      out[name] = { status: String(t?.status ?? 'unknown'), rows: Number(t?.rows ?? 0) || 0 }
    }
    return out
  } catch {
    return {}
  }
}

// DATETIME(6) columns, read with dateStrings in UTC sessions: '2026-01-02 03:04:05.678901'.
function iso(value: string): string {
  return `${value.replace(' ', 'T').slice(0, 23)}Z`
}

function round(n: number | null): number | null {
  return n === null ? null : Math.round(n * 10) / 10
}
