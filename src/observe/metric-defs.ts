import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

// The metric definitions of observe/metrics.ts: names, help texts, labels, buckets. Names are part of what
// users alert on (examples/prometheus/alerts.yml), so treat them as a contract.

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

/** One side's pool, sampled at scrape time. */
export interface PoolSample {
  side: 'source' | 'target'
  inUse: number
  idle: number
  waiting: number
  /** pool.max */
  max: number
}

// Runs take from seconds (a few changed rows) to hours (a first full copy).
const DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800]
// Getting a pooled connection takes microseconds when one is free, a round trip to open one, and up to
// pool.acquire_timeout when the pool is full or the server refuses.
const ACQUIRE_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300]

type MetricName = (typeof METRIC_NAMES)[number]

/** Where the gauges read at scrape time get their values. */
export interface ScrapeSources {
  /** Table -> replication lag in seconds, at `at` (epoch ms); tables without a known lag are absent. */
  lags(at: number): Map<string, number>
  pools(): PoolSample[]
}

/** Metric constructors bound to one registry, with names checked against METRIC_NAMES. */
function makers(registry: Registry) {
  const counter = <L extends string>(name: MetricName, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  // A gauge with `collect` is recomputed from scratch on every scrape.
  const gauge = <L extends string>(
    name: MetricName,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (g: Gauge<L>) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      ...(collect
        ? {
            collect(this: Gauge<L>) {
              this.reset()
              collect(this)
            },
          }
        : {}),
    })
  const histogram = (name: MetricName, help: string, buckets: number[], labelNames: string[] = []) =>
    new Histogram({ name, help, buckets, labelNames, registers: [registry] })
  return { counter, gauge, histogram }
}

/**
 * Every dbsync metric, registered in METRIC_NAMES order (the order /metrics lists them). Zero increments
 * create the series up front, so dashboards and alerts see every label value before it first happens.
 */
export function register(registry: Registry, now: () => number, sources: ScrapeSources) {
  const make = makers(registry)
  const run = registerRunMetrics(make)
  registerScrapeGauges(make, now, sources)
  return { ...run, ...registerPoolMetrics(make), ...registerTableMetrics(make) }
}

type Makers = ReturnType<typeof makers>

function registerRunMetrics({ counter, gauge, histogram }: Makers) {
  const runs = counter(
    'dbsync_runs_total',
    'Runs by outcome: ok, failed (a table failed or the run could not start), interrupted, locked (another process held the pipeline lock)',
    ['status'],
  )
  for (const s of ['ok', 'failed', 'interrupted', 'locked']) runs.inc({ status: s }, 0)
  const duration = histogram('dbsync_run_duration_seconds', 'Duration of finished runs', DURATION_BUCKETS)
  const rows = counter(
    'dbsync_rows_total',
    'Rows synced by table and operation (read, inserted, updated, unchanged, deleted)',
    ['table', 'operation'],
  )
  const lastSuccess = gauge(
    'dbsync_last_success_timestamp_seconds',
    'Unix time at which the table last synced successfully',
    ['table'],
  )
  return { runs, duration, rows, lastSuccess }
}

function registerScrapeGauges({ gauge }: Makers, now: () => number, sources: ScrapeSources): void {
  gauge(
    'dbsync_replication_lag_seconds',
    'Age of the oldest change not yet copied, for tables with a date/time cursor (0 when caught up)',
    ['table'],
    (g) => {
      for (const [table, lag] of sources.lags(now())) g.set({ table }, lag)
    },
  )
  gauge(
    'dbsync_pool_connections',
    'Connections of each side pool: in_use (checked out), idle (open, free), waiting (requests queued for a connection)',
    ['side', 'state'],
    (g) => {
      for (const p of sources.pools()) {
        g.set({ side: p.side, state: 'in_use' }, p.inUse)
        g.set({ side: p.side, state: 'idle' }, p.idle)
        g.set({ side: p.side, state: 'waiting' }, p.waiting)
      }
    },
  )
  gauge(
    'dbsync_pool_max_connections',
    'pool.max of each side: the most connections dbsync opens to that server',
    ['side'],
    (g) => {
      for (const p of sources.pools()) g.set({ side: p.side }, p.max)
    },
  )
}

function registerPoolMetrics({ counter, histogram }: Makers) {
  const acquire = histogram(
    'dbsync_pool_acquire_seconds',
    'Time to get a pooled connection, by side (waits for a full pool or a refusing server included)',
    ACQUIRE_BUCKETS,
    ['side'],
  )
  const poolErrors = counter(
    'dbsync_pool_errors_total',
    'Failures to get a connection: refused (server at max_connections; retried), timeout (pool.acquire_timeout passed; the table fails), connect (other errors)',
    ['side', 'kind'],
  )
  for (const side of ['source', 'target'])
    for (const kind of ['refused', 'timeout', 'connect']) poolErrors.inc({ side, kind }, 0)
  return { acquire, poolErrors }
}

function registerTableMetrics({ counter, gauge }: Makers) {
  const tableFailures = gauge(
    'dbsync_table_consecutive_failures',
    'Runs in a row in which the table failed; 0 after a success',
    ['table'],
  )
  const failures = gauge('dbsync_consecutive_failures', 'Failed runs since the last successful one')
  failures.set(0)
  const skipped = counter(
    'dbsync_ticks_skipped_total',
    'Schedule ticks that started no run: running (the previous run was still going) or backoff (after failures)',
    ['reason'],
  )
  for (const r of ['running', 'backoff']) skipped.inc({ reason: r }, 0)
  const held = counter(
    'dbsync_positions_held_total',
    'Table runs that kept their position because the source could not show a fresh list of open transactions (INNODB_TRX polled constantly by something else)',
    ['table'],
  )
  const aboveClock = gauge(
    'dbsync_cursor_rows_above_clock',
    "Rows whose cursor is ahead of the source's clock, at the table's last run: copied again on every run",
    ['table'],
  )
  const verifyChunks = counter(
    'dbsync_verify_chunks_total',
    'Chunks compared by scheduled verification: equal, repaired (rows re-copied), pending (differed only in rows the next sync copies), differing (left as they are: repair off, or extra rows under deletes: ignore)',
    ['table', 'result'],
  )
  const verifyFull = gauge(
    'dbsync_verify_last_full_timestamp_seconds',
    'Unix time at which the last scheduled verification pass over the whole table ended',
    ['table'],
  )
  return { tableFailures, failures, skipped, held, aboveClock, verifyChunks, verifyFull }
}
