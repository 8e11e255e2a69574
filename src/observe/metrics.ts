import { collectDefaultMetrics, Registry } from 'prom-client'
import { cursorEpochMs, knownLagSeconds, nextBacklog, type PendingLag } from './lag.js'
import { type PoolSample, register } from './metric-defs.js'

export { METRIC_NAMES, type PoolSample } from './metric-defs.js'
export { cursorEpochMs }

/**
 * Prometheus metrics of a scheduled dbsync process. Names are part of what users alert on
 * (examples/prometheus/alerts.yml), so treat them as a contract. observe/ is the floor every folder may
 * import, so the shapes below are structural and owe nothing to sync/.
 */

export type RunStatusLabel = 'ok' | 'failed' | 'interrupted' | 'locked'
export type SkipReason = 'running' | 'backoff'

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

/** A registry of its own (not prom-client's global one), so tests and library users can hold several. */
export function createMetrics(opts: MetricsOptions): Metrics {
  const now = opts.now ?? Date.now
  const registry = new Registry()
  // Pipeline names are [A-Za-z0-9_-]+ and never secret; the label tells apart several dbsync processes.
  registry.setDefaultLabels({ pipeline: opts.pipeline })
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry })
  // Newest synced temporal cursor per table; the gauge turns it into an age at scrape time (observe/lag.ts), so the lag
  // keeps growing between runs (and while runs fail) instead of freezing at the last run's value.
  const newestCursor = new Map<string, string>()
  // The backlog each table's runs reported: the age of the oldest change not yet copied wins over the
  // newest cursor's age, which makes an idle, fully synced table look behind.
  const backlog = new Map<string, PendingLag>()
  let poolSource: () => PoolSample[] = () => []
  const m = register(registry, now, {
    lags(at) {
      const out = new Map<string, number>()
      for (const table of new Set([...newestCursor.keys(), ...backlog.keys()])) {
        const lag = knownLagSeconds(newestCursor.get(table), backlog.get(table), at)
        if (lag !== null) out.set(table, lag)
      }
      return out
    },
    pools: () => poolSource(),
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
      m.runs.inc({ status })
      if (status !== 'locked') m.duration.observe(seconds)
    },
    rowsRead(table, n) {
      if (n <= 0) return
      m.rows.inc({ table, operation: 'read' }, n)
      readSeen.set(table, (readSeen.get(table) ?? 0) + n)
    },
    tableFinished(r, at = now()) {
      m.held.inc({ table: r.table }, r.positionsHeld ? 1 : 0)
      if (r.aboveClock) m.aboveClock.set({ table: r.table }, r.aboveClock.rows)
      const missing = r.rowsRead - (readSeen.get(r.table) ?? 0)
      if (missing > 0) m.rows.inc({ table: r.table, operation: 'read' }, missing)
      readSeen.set(r.table, Math.max(r.rowsRead, readSeen.get(r.table) ?? 0))
      // Zero increments still create the series, so dashboards see every table from its first run.
      m.rows.inc({ table: r.table, operation: 'inserted' }, r.inserted)
      m.rows.inc({ table: r.table, operation: 'updated' }, r.updated)
      m.rows.inc({ table: r.table, operation: 'unchanged' }, r.unchanged)
      m.rows.inc({ table: r.table, operation: 'deleted' }, r.deleted)
      if (r.status === 'ok') m.lastSuccess.set({ table: r.table }, Math.floor(at / 1000))
      if (r.status === 'ok') m.tableFailures.set({ table: r.table }, 0)
      else if (r.status === 'failed') m.tableFailures.inc({ table: r.table })
      if (r.lastCursor && cursorEpochMs(r.lastCursor) !== undefined) newestCursor.set(r.table, r.lastCursor)
      const next = nextBacklog(backlog.get(r.table), r)
      if (next) backlog.set(r.table, next)
    },
    tickSkipped: (reason) => m.skipped.inc({ reason }),
    setConsecutiveFailures: (n) => m.failures.set(n),
    setPoolSource(source) {
      poolSource = source
    },
    poolAcquired: (side, seconds) => m.acquire.observe({ side }, seconds),
    poolError: (side, kind) => m.poolErrors.inc({ side, kind }),
    verifyChunk: (table, result) => m.verifyChunks.inc({ table, result }),
    verifyFull: (table, atMs) => m.verifyFull.set({ table }, Math.floor(atMs / 1000)),
  }
}
