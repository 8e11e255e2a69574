import { knownLagSeconds } from '../observe/lag.js'
import type { PoolSample } from '../observe/metrics.js'
import type { PipelineReport, ReportStatus } from '../state/report.js'
import type { RunPoint, StatusSnapshot, TableStatus } from './status.js'

/**
 * What the status page shows (page.ts draws it): the scheduler's live view, the target's history, the
 * pools and the process's memory. snake_case, as /status and every JSON dbsync writes.
 */

export type PageTableState = ReportStatus | 'interrupted' | 'held'

/** Why a table shows `held`. */
export const HELD_REASON =
  "position held: the source's open transactions could not be read fresh (something polls INNODB_TRX constantly), so nothing new was taken"

export interface PageTable {
  table: string
  strategy: string | null
  state: PageTableState
  /** Rows read by the running run so far, or by the table's last run. */
  rows: number | null
  rows_per_second: number | null
  /** Running tables copied whole: seconds left at the current rate, from the source's row estimate. */
  eta_seconds: number | null
  seconds: number | null
  error: string | null
  lag_seconds: number | null
  last_success_at: string | null
  rows_synced: string | null
  /** `workers: shared`: the instance working on the table now, as the target's claims say. */
  held_by: string | null
}

export interface PagePool {
  side: 'source' | 'target'
  in_use: number
  idle: number
  waiting: number
  max: number
}

export interface PageModel {
  pipeline: string
  generated_at: string
  state: StatusSnapshot['state']
  schedule: string
  next_run_at: string | null
  running: { run: string; started_at: string } | null
  consecutive_failures: number
  tables: PageTable[]
  /** From `_sync_runs`, newest first; null when the target could not be read. */
  runs: PipelineReport['runs'] | null
  /** Why runs is null. */
  runs_error: string | null
  pools: PagePool[]
  memory: { rss_bytes: number; heap_used_bytes: number }
  charts: { lag_seconds: Array<number | null>; rows_per_second: number[] }
}

export interface PageInputs {
  snapshot: StatusSnapshot
  report: PipelineReport | null
  reportError: string | null
  pools: PoolSample[]
  memory: NodeJS.MemoryUsage
  now: number
}

/** Combine what the process knows (live progress, last results) with what the target recorded. */
export function pageModel(i: PageInputs): PageModel {
  const s = i.snapshot
  const names = new Set([
    ...(i.report?.tables.map((t) => t.table) ?? []),
    ...Object.keys(s.tables),
    ...Object.keys(s.live),
  ])
  const tables = [...names].sort().map((name) => pageTable(name, s, i.report, i.now))
  const runs = i.report?.runs ?? null
  return {
    pipeline: s.pipeline,
    generated_at: new Date(i.now).toISOString(),
    state: s.state,
    schedule: s.schedule.every ? `every ${s.schedule.every}` : `cron "${s.schedule.cron ?? ''}"`,
    next_run_at: s.nextRunAt,
    running: s.running ? { run: s.running.run, started_at: s.running.startedAt } : null,
    consecutive_failures: s.consecutiveFailures,
    tables,
    runs,
    runs_error: i.reportError,
    pools: i.pools.map((p) => ({
      side: p.side,
      in_use: p.inUse,
      idle: p.idle,
      waiting: p.waiting,
      max: p.max,
    })),
    memory: { rss_bytes: i.memory.rss, heap_used_bytes: i.memory.heapUsed },
    charts: {
      lag_seconds: s.history.map((h) => h.lagSeconds),
      // The target's history outlives the process; oldest first.
      rows_per_second: runs
        ? runs
            .filter((r) => r.seconds !== null)
            .map((r) => r.rows / Math.max(0.001, r.seconds as number))
            .reverse()
        : s.history.map((h) => h.rowsPerSecond),
    },
  }
}

function pageTable(name: string, s: StatusSnapshot, report: PipelineReport | null, now: number): PageTable {
  const live = s.live[name]
  const last = s.tables[name]
  const stored = report?.tables.find((t) => t.table === name)
  const lastCursor = last?.lastCursor ?? stored?.last_cursor ?? null
  const base = {
    table: name,
    lag_seconds: knownLagSeconds(lastCursor, last?.backlog, now),
    last_success_at: last?.lastSuccessAt ?? stored?.last_success_at ?? null,
    rows_synced: stored?.rows_synced ?? null,
    held_by: stored?.held_by ?? null,
  }
  if (live) {
    const seconds = Math.max(0.001, (now - Date.parse(live.startedAt)) / 1000)
    const rate = live.rows / seconds
    return {
      ...base,
      strategy: live.strategy,
      state: 'running',
      rows: live.rows,
      rows_per_second: rate,
      eta_seconds: live.expectedRows && rate > 0 ? Math.max(0, live.expectedRows - live.rows) / rate : null,
      seconds,
      error: null,
    }
  }
  // A table this instance skipped (workers: shared) is shown as the target has it: another instance's work.
  if (last && last.status !== 'skipped') {
    return {
      ...base,
      strategy: stored?.strategy ?? null,
      state: last.status === 'ok' && last.positionsHeld ? 'held' : last.status,
      rows: last.rows,
      rows_per_second: last.seconds > 0 ? last.rows / last.seconds : null,
      eta_seconds: null,
      seconds: last.seconds,
      error: last.error ?? (last.positionsHeld ? HELD_REASON : null),
    }
  }
  return {
    ...base,
    strategy: stored?.strategy ?? null,
    state: stored?.status ?? 'never',
    rows: null,
    rows_per_second: null,
    eta_seconds: null,
    seconds: null,
    error: stored?.error ?? null,
  }
}

/** /status: the scheduler's snapshot with snake_case keys (CONTRACT: snake_case everywhere). */
export function statusDocument(s: StatusSnapshot): Record<string, unknown> {
  return {
    pipeline: s.pipeline,
    schedule: {
      ...(s.schedule.every ? { every: s.schedule.every } : {}),
      ...(s.schedule.cron ? { cron: s.schedule.cron } : {}),
      interval_seconds: s.schedule.intervalSeconds,
    },
    state: s.state,
    running: s.running ? { run: s.running.run, started_at: s.running.startedAt } : null,
    next_run_at: s.nextRunAt,
    consecutive_failures: s.consecutiveFailures,
    ticks_to_skip: s.ticksToSkip,
    last_run: s.lastRun && {
      run: s.lastRun.run,
      status: s.lastRun.status,
      started_at: s.lastRun.startedAt,
      finished_at: s.lastRun.finishedAt,
      seconds: s.lastRun.seconds,
      error: s.lastRun.error,
    },
    last_success_at: s.lastSuccessAt,
    tables: Object.fromEntries(Object.entries(s.tables).map(([name, t]) => [name, tableDocument(t)])),
    // Already snake_case (sync/verify.ts).
    ...(s.verify ? { verify: s.verify } : {}),
    running_tables: Object.fromEntries(
      Object.entries(s.live).map(([name, l]) => [
        name,
        {
          strategy: l.strategy,
          started_at: l.startedAt,
          rows: l.rows,
          expected_rows: l.expectedRows ?? null,
        },
      ]),
    ),
  }
}

function tableDocument(t: TableStatus): Record<string, unknown> {
  return {
    run: t.run,
    status: t.status,
    rows: t.rows,
    inserted: t.inserted,
    updated: t.updated,
    deleted: t.deleted,
    unchanged: t.unchanged,
    seconds: t.seconds,
    schema_changes: t.schemaChanges,
    warnings: t.warnings,
    error: t.error,
    last_cursor: t.lastCursor,
    positions_held: t.positionsHeld,
    finished_at: t.finishedAt,
    last_success_at: t.lastSuccessAt,
  }
}

export type { RunPoint }
