import { tableLagSeconds } from '../observe/lag.js'

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
  /** A whole-table load in key ranges under way (sync/range-load.ts): ranges done of all; else null. */
  key_ranges: KeyRangesProgress | null
}

export interface KeyRangesProgress {
  done: number
  total: number
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

/** A `_sync_state` row as read (DATETIME(6) as strings). */
export interface RawState {
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

/** A `_sync_runs` row as read. */
export interface RawRun {
  load_id: string
  status: string
  started_at: string
  finished_at: string | null
  tables_json: string | null
  error: string | null
}

/** Who is working right now, when no process holds the pipeline lock. */
export interface Live {
  /** Table -> the instance holding its claim. */
  holders: Map<string, string>
  /** Load ids of runs whose own lock is held. */
  runs: Set<string>
}

/** What readReport read, before it is judged. */
export interface ReportInput {
  pipeline: string
  /** `_sync_state` rows of the pipeline, by table name. */
  states: RawState[]
  /** `_sync_runs` rows of the pipeline, newest first. */
  runs: RawRun[]
  lockHeld: boolean
  live: Live
  now: number
  expected?: string[]
  /** How many runs to report (50 by default). */
  shownRuns?: number
  /** Table -> progress of its load in key ranges, for the tables with one under way. */
  ranges?: Map<string, KeyRangesProgress>
}

/**
 * The report from the rows read. Pure. A row recorded as running with neither the pipeline lock nor its own
 * lock held is `abandoned`: its process was killed or its host died.
 */
export function assembleReport(input: ReportInput): PipelineReport {
  const { states, lockHeld, live, now } = input
  const parsed = input.runs.map((r) => ({ raw: r, tables: runTables(r.tables_json) }))
  const judge = (status: string, alive: boolean): ReportStatus =>
    status === 'running' && !lockHeld && !alive ? 'abandoned' : (status as ReportStatus)
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
      status: judge(s.status, live.holders.has(s.table_name)),
      last_run: s.last_load_id,
      last_run_at: iso(s.finished_at ?? s.updated_at),
      last_success_at: lastSuccessAt,
      rows_synced: String(s.rows_synced),
      last_cursor: s.last_cursor,
      lag_seconds: round(tableLagSeconds(s.last_cursor, now)),
      age_seconds: lastSuccessAt ? round(Math.max(0, (now - Date.parse(lastSuccessAt)) / 1000)) : null,
      error: s.error,
      held_by: live.holders.get(s.table_name) ?? null,
      key_ranges: input.ranges?.get(s.table_name) ?? null,
    }
  })
  for (const name of input.expected ?? []) {
    if (!tables.some((t) => t.table === name)) tables.push(neverSynced(name, input.ranges?.get(name)))
  }
  return {
    pipeline: input.pipeline,
    checked_at: new Date(now).toISOString(),
    lock_held: lockHeld,
    tables,
    runs: parsed.slice(0, input.shownRuns ?? 50).map(({ raw, tables: t }) => {
      const started = iso(raw.started_at)
      const finished = raw.finished_at ? iso(raw.finished_at) : null
      return {
        load_id: raw.load_id,
        status: judge(raw.status, live.runs.has(raw.load_id)),
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

function neverSynced(table: string, ranges: KeyRangesProgress | undefined): TableReport {
  return {
    table,
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
    key_ranges: ranges ?? null,
  }
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
