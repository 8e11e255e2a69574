import { knownLagSeconds, nextBacklog, type PendingLag } from '../observe/lag.js'
import type { RunResult } from '../sync/run.js'
import type { VerifyStatus } from '../sync/verify.js'

/** One table as the last run that touched it left it. */
export interface TableStatus {
  run: string
  status: 'ok' | 'failed' | 'interrupted' | 'skipped'
  rows: number
  inserted: number
  updated: number
  deleted: number
  unchanged: number
  seconds: number
  schemaChanges: string[]
  warnings: string[]
  error: string | null
  lastCursor: string | null
  /** The run kept the table's position (late-commit cap): nothing new was taken. */
  positionsHeld: boolean
  /** The backlog the table's runs measured, for its lag (observe/lag.ts); null when none was measured. */
  backlog?: PendingLag | null
  finishedAt: string
  lastSuccessAt: string | null
}

export interface RunSummary {
  /** The load id (a run that could not connect has one too, but no _sync_runs row). */
  run: string
  status: 'ok' | 'failed' | 'interrupted'
  startedAt: string
  finishedAt: string
  seconds: number
  error: string | null
}

/** A table of the running run, still going. */
export interface LiveTable {
  strategy: string
  startedAt: string
  rows: number
  /** The source's row estimate when the whole table is copied (first load, full refresh). */
  expectedRows?: number
}

/** One finished run of this process: the largest table lag right after it, and its throughput. */
export interface RunPoint {
  run: string
  finishedAt: string
  lagSeconds: number | null
  rowsPerSecond: number
}

/** What /status returns and /readyz judges. */
export interface StatusSnapshot {
  pipeline: string
  schedule: { every?: string; cron?: string; intervalSeconds: number }
  state: 'waiting' | 'running' | 'stopping'
  running: { run: string; startedAt: string } | null
  nextRunAt: string | null
  consecutiveFailures: number
  /** Ticks still to be skipped after failures (see backoffTicks in loop.ts). */
  ticksToSkip: number
  lastRun: RunSummary | null
  lastSuccessAt: string | null
  tables: Record<string, TableStatus>
  /** Scheduled verification per table (`verify:`), keyed by table; absent or empty when none is set. */
  verify?: Record<string, VerifyStatus>
  live: Record<string, LiveTable>
  history: RunPoint[]
}

/** Runs kept for the lag chart. */
const HISTORY = 50

type TableResult = RunResult['tables'][number]

/**
 * What the scheduler's runs left behind, per table and per run, for /status, /readyz and the status page.
 * The Scheduler decides when runs start; this only records what they did.
 */
export class RunRecord {
  lastRun: RunSummary | null = null
  lastSuccessAt: string | null = null
  private readonly tables: Record<string, TableStatus> = {}
  /** Tables of the current run still going: rows read so far and since when (the status page's rows/s). */
  private readonly live: Record<string, LiveTable> = {}
  /** The finished runs of this process, oldest first, for the status page's lag chart. */
  private readonly history: RunPoint[] = []

  tableStarted(name: string, strategy: string, expectedRows: number | undefined): void {
    this.live[name] = {
      strategy,
      startedAt: new Date().toISOString(),
      rows: 0,
      ...(expectedRows ? { expectedRows } : {}),
    }
  }

  progress(table: string, rows: number): void {
    const l = this.live[table]
    if (l) l.rows += rows
  }

  tableEnded(run: string, r: TableResult): void {
    delete this.live[r.table]
    const finishedAt = new Date().toISOString()
    const lastSuccessAt = r.status === 'ok' ? finishedAt : (this.tables[r.table]?.lastSuccessAt ?? null)
    this.tables[r.table] = { ...this.tableBase(run, r, finishedAt), lastSuccessAt }
  }

  private tableBase(run: string, r: TableResult, finishedAt: string): Omit<TableStatus, 'lastSuccessAt'> {
    return {
      run,
      status: r.status,
      rows: r.rowsRead,
      inserted: r.inserted,
      updated: r.updated,
      deleted: r.deleted,
      unchanged: r.unchanged,
      seconds: r.seconds,
      schemaChanges: r.schemaChanges,
      warnings: r.warnings,
      error: r.error ?? null,
      lastCursor: r.lastCursor ?? null,
      positionsHeld: Boolean(r.positionsHeld),
      backlog: nextBacklog(this.tables[r.table]?.backlog, r),
      finishedAt,
    }
  }

  /** A run that returned a result; `error` names its failed tables. */
  runFinished(r: RunResult, error: string | null): void {
    this.lastRun = {
      run: r.loadId,
      status: r.status,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      seconds: r.seconds,
      error,
    }
    if (r.status === 'ok') this.lastSuccessAt = r.finishedAt
    const lags = Object.values(this.tables)
      .map((t) => knownLagSeconds(t.lastCursor, t.backlog, Date.now()))
      .filter((x): x is number => x !== null)
    const rows = r.tables.reduce((n, t) => n + t.rowsRead, 0)
    this.history.push({
      run: r.loadId,
      finishedAt: r.finishedAt,
      lagSeconds: lags.length ? Math.max(...lags) : null,
      rowsPerSecond: r.seconds > 0 ? rows / r.seconds : 0,
    })
    if (this.history.length > HISTORY) this.history.shift()
  }

  /** A run that threw before it had a result (could not connect, say). */
  runThrew(loadId: string, startedAt: number, seconds: number, error: string): void {
    this.lastRun = {
      run: loadId,
      status: 'failed',
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date().toISOString(),
      seconds,
      error,
    }
  }

  /** Copies of what the snapshot reports, so a reader never sees a later run's changes. */
  view(): Pick<StatusSnapshot, 'lastRun' | 'lastSuccessAt' | 'tables' | 'live' | 'history'> {
    return {
      lastRun: this.lastRun,
      lastSuccessAt: this.lastSuccessAt,
      tables: { ...this.tables },
      live: structuredClone(this.live),
      history: [...this.history],
    }
  }
}
