import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { cursorEpochMs, knownLagSeconds, nextBacklog, type PendingLag } from './lag.js'

export { cursorEpochMs }

/**
 * Prometheus metrics of a scheduled dbsync process. Names are part of what users alert on
 * (examples/prometheus/alerts.yml), so treat them as a contract. observe/ is the floor every folder may
 * import, so the shapes below are structural and owe nothing to sync/.
 */

/** Every metric this module registers besides prom-client's default process metrics. */
export const METRIC_NAMES = [
  'dbsync_runs_total',
  'dbsync_run_duration_seconds',
  'dbsync_rows_total',
  'dbsync_last_success_timestamp_seconds',
  'dbsync_replication_lag_seconds',
  'dbsync_pool_connections',
  'dbsync_pool_max_connections',
  'dbsync_pool_acquire_seconds',
  'dbsync_pool_errors_total',
  'dbsync_table_consecutive_failures',
  'dbsync_consecutive_failures',
  'dbsync_ticks_skipped_total',
  'dbsync_positions_held_total',
  'dbsync_cursor_rows_above_clock',
  'dbsync_verify_chunks_total',
  'dbsync_verify_last_full_timestamp_seconds',
] as const

export type RunStatusLabel = 'ok' | 'failed' | 'interrupted' | 'locked'
export type SkipReason = 'running' | 'backoff'

/** One side's pool, sampled at scrape time. */
export interface PoolSample {
  side: 'source' | 'target'
  inUse: number
  idle: number
  waiting: number
  /** pool.max */
  max: number
}

/** What metrics need from a table's result (a subset of sync/job.ts TableResult). */
export interface TableOutcome {
  table: string
  status: 'ok' | 'failed' | 'interrupted' | 'skipped'
  rowsRead: number
  inserted: number
  updated: number
  deleted: number
  unchanged: number
  lastCursor?: string | null
  /** Set when the run held the table's position: its list of open transactions was not shown fresh. */
  positionsHeld?: boolean
  /** Rows whose cursor is ahead of the source clock (re-read by key on every run). */
  aboveClock?: { rows: number }
  /** The backlog the run left (temporal cursors): see observe/lag.ts pendingLagSeconds. */
  lag?: { oldestPendingMs: number | null; caughtUpToMs: number | null }
}

export interface Metrics {
  registry: Registry
  runStarted(): void
  runFinished(status: RunStatusLabel, seconds: number): void
  /** Rows of one committed batch, as the run goes (operation="read"). */
  rowsRead(table: string, rows: number): void
  tableFinished(result: TableOutcome, now?: number): void
  tickSkipped(reason: SkipReason): void
  setConsecutiveFailures(n: number): void
  /** Where pool gauges come from; read on each scrape so they are live. */
  setPoolSource(source: () => PoolSample[]): void
  /** A connection was handed out after waiting this long (db/pool-guard.ts). */
  poolAcquired(side: PoolSample['side'], seconds: number): void
  /** refused (server at max_connections), timeout (acquire_timeout passed) or connect (other). */
  poolError(side: PoolSample['side'], kind: 'refused' | 'timeout' | 'connect'): void
  /** One chunk of a scheduled verification, by outcome: equal, repaired, pending, differing. */
  verifyChunk(table: string, result: string): void
  /** A verification pass over the whole table ended at `atMs`. */
  verifyFull(table: string, atMs: number): void
}

export interface MetricsOptions {
  pipeline: string
  /** process_* and nodejs_* metrics; off in unit tests that create many registries. */
  defaultMetrics?: boolean
  now?: () => number
}

// Runs take from seconds (a few changed rows) to hours (a first full copy).
const DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800]
// Getting a pooled connection takes microseconds when one is free, a round trip to open one, and up to
// pool.acquire_timeout when the pool is full or the server refuses.
const ACQUIRE_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300]

/** A registry of its own (not prom-client's global one), so tests and library users can hold several. */
export function createMetrics(opts: MetricsOptions): Metrics {
  const now = opts.now ?? Date.now
  const registry = new Registry()
  // Pipeline names are [A-Za-z0-9_-]+ and never secret; the label tells apart several dbsync processes.
  registry.setDefaultLabels({ pipeline: opts.pipeline })
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry })

  const runs = new Counter({
    name: 'dbsync_runs_total',
    help: 'Runs by outcome: ok, failed (a table failed or the run could not start), interrupted, locked (another process held the pipeline lock)',
    labelNames: ['status'],
    registers: [registry],
  })
  for (const s of ['ok', 'failed', 'interrupted', 'locked']) runs.inc({ status: s }, 0)
  const duration = new Histogram({
    name: 'dbsync_run_duration_seconds',
    help: 'Duration of finished runs',
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  const rows = new Counter({
    name: 'dbsync_rows_total',
    help: 'Rows synced by table and operation (read, inserted, updated, unchanged, deleted)',
    labelNames: ['table', 'operation'],
    registers: [registry],
  })
  const lastSuccess = new Gauge({
    name: 'dbsync_last_success_timestamp_seconds',
    help: 'Unix time at which the table last synced successfully',
    labelNames: ['table'],
    registers: [registry],
  })
  // Newest synced temporal cursor per table; the gauge turns it into an age at scrape time (observe/lag.ts), so the lag
  // keeps growing between runs (and while runs fail) instead of freezing at the last run's value.
  const newestCursor = new Map<string, string>()
  // The backlog each table's runs reported: the age of the oldest change not yet copied wins over the
  // newest cursor's age, which makes an idle, fully synced table look behind.
  const backlog = new Map<string, PendingLag>()
  new Gauge({
    name: 'dbsync_replication_lag_seconds',
    help: 'Age of the oldest change not yet copied, for tables with a date/time cursor (0 when caught up)',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset()
      const at = now()
      for (const table of new Set([...newestCursor.keys(), ...backlog.keys()])) {
        const lag = knownLagSeconds(newestCursor.get(table), backlog.get(table), at)
        if (lag !== null) this.set({ table }, lag)
      }
    },
  })
  let poolSource: () => PoolSample[] = () => []
  new Gauge({
    name: 'dbsync_pool_connections',
    help: 'Connections of each side pool: in_use (checked out), idle (open, free), waiting (requests queued for a connection)',
    labelNames: ['side', 'state'],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of poolSource()) {
        this.set({ side: p.side, state: 'in_use' }, p.inUse)
        this.set({ side: p.side, state: 'idle' }, p.idle)
        this.set({ side: p.side, state: 'waiting' }, p.waiting)
      }
    },
  })
  new Gauge({
    name: 'dbsync_pool_max_connections',
    help: 'pool.max of each side: the most connections dbsync opens to that server',
    labelNames: ['side'],
    registers: [registry],
    collect() {
      this.reset()
      for (const p of poolSource()) this.set({ side: p.side }, p.max)
    },
  })
  const acquire = new Histogram({
    name: 'dbsync_pool_acquire_seconds',
    help: 'Time to get a pooled connection, by side (waits for a full pool or a refusing server included)',
    labelNames: ['side'],
    buckets: ACQUIRE_BUCKETS,
    registers: [registry],
  })
  const poolErrors = new Counter({
    name: 'dbsync_pool_errors_total',
    help: 'Failures to get a connection: refused (server at max_connections; retried), timeout (pool.acquire_timeout passed; the table fails), connect (other errors)',
    labelNames: ['side', 'kind'],
    registers: [registry],
  })
  for (const side of ['source', 'target'])
    for (const kind of ['refused', 'timeout', 'connect']) poolErrors.inc({ side, kind }, 0)
  const tableFailures = new Gauge({
    name: 'dbsync_table_consecutive_failures',
    help: 'Runs in a row in which the table failed; 0 after a success',
    labelNames: ['table'],
    registers: [registry],
  })
  const failures = new Gauge({
    name: 'dbsync_consecutive_failures',
    help: 'Failed runs since the last successful one',
    registers: [registry],
  })
  failures.set(0)
  const skipped = new Counter({
    name: 'dbsync_ticks_skipped_total',
    help: 'Schedule ticks that started no run: running (the previous run was still going) or backoff (after failures)',
    labelNames: ['reason'],
    registers: [registry],
  })
  for (const r of ['running', 'backoff']) skipped.inc({ reason: r }, 0)

  const held = new Counter({
    name: 'dbsync_positions_held_total',
    help: 'Table runs that kept their position because the source could not show a fresh list of open transactions (INNODB_TRX polled constantly by something else)',
    labelNames: ['table'],
    registers: [registry],
  })
  const aboveClock = new Gauge({
    name: 'dbsync_cursor_rows_above_clock',
    help: "Rows whose cursor is ahead of the source's clock, at the table's last run: copied again on every run",
    labelNames: ['table'],
    registers: [registry],
  })
  const verifyChunks = new Counter({
    name: 'dbsync_verify_chunks_total',
    help: 'Chunks compared by scheduled verification: equal, repaired (rows re-copied), pending (differed only in rows the next sync copies), differing (left as they are: repair off, or extra rows under deletes: ignore)',
    labelNames: ['table', 'result'],
    registers: [registry],
  })
  const verifyFull = new Gauge({
    name: 'dbsync_verify_last_full_timestamp_seconds',
    help: 'Unix time at which the last scheduled verification pass over the whole table ended',
    labelNames: ['table'],
    registers: [registry],
  })

  // Rows already counted from progress events in the current run, so the table's final count only adds
  // what progress did not report (e.g. rows of an interrupted batch path).
  let readSeen = new Map<string, number>()

  return {
    registry,
    runStarted() {
      readSeen = new Map()
    },
    runFinished(status, seconds) {
      runs.inc({ status })
      if (status !== 'locked') duration.observe(seconds)
    },
    rowsRead(table, n) {
      if (n <= 0) return
      rows.inc({ table, operation: 'read' }, n)
      readSeen.set(table, (readSeen.get(table) ?? 0) + n)
    },
    tableFinished(r, at = now()) {
      held.inc({ table: r.table }, r.positionsHeld ? 1 : 0)
      if (r.aboveClock) aboveClock.set({ table: r.table }, r.aboveClock.rows)
      const missing = r.rowsRead - (readSeen.get(r.table) ?? 0)
      if (missing > 0) rows.inc({ table: r.table, operation: 'read' }, missing)
      readSeen.set(r.table, Math.max(r.rowsRead, readSeen.get(r.table) ?? 0))
      // Zero increments still create the series, so dashboards see every table from its first run.
      rows.inc({ table: r.table, operation: 'inserted' }, r.inserted)
      rows.inc({ table: r.table, operation: 'updated' }, r.updated)
      rows.inc({ table: r.table, operation: 'unchanged' }, r.unchanged)
      rows.inc({ table: r.table, operation: 'deleted' }, r.deleted)
      if (r.status === 'ok') lastSuccess.set({ table: r.table }, Math.floor(at / 1000))
      if (r.status === 'ok') tableFailures.set({ table: r.table }, 0)
      else if (r.status === 'failed') tableFailures.inc({ table: r.table })
      if (r.lastCursor && cursorEpochMs(r.lastCursor) !== undefined) newestCursor.set(r.table, r.lastCursor)
      const next = nextBacklog(backlog.get(r.table), r)
      if (next) backlog.set(r.table, next)
    },
    tickSkipped(reason) {
      skipped.inc({ reason })
    },
    setConsecutiveFailures(n) {
      failures.set(n)
    },
    setPoolSource(source) {
      poolSource = source
    },
    poolAcquired(side, seconds) {
      acquire.observe({ side }, seconds)
    },
    poolError(side, kind) {
      poolErrors.inc({ side, kind })
    },
    verifyChunk(table, result) {
      verifyChunks.inc({ table, result })
    },
    verifyFull(table, atMs) {
      verifyFull.set({ table }, Math.floor(atMs / 1000))
    },
  }
}
