import { describe, expect, it } from 'vitest'
import {
  createMetrics,
  cursorEpochMs,
  METRIC_NAMES,
  type TableOutcome,
} from '../../../src/observe/metrics.js'

const NOW = Date.parse('2025-06-01T12:00:00Z')

function outcome(over: Partial<TableOutcome> = {}): TableOutcome {
  return {
    table: 'orders',
    status: 'ok',
    rowsRead: 10,
    inserted: 6,
    updated: 4,
    deleted: 0,
    unchanged: 0,
    ...over,
  }
}

describe('metrics', () => {
  it('reports an idle, fully synced table as not lagging, and a backlog by its oldest change', async () => {
    let now = NOW
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false, now: () => now })
    const lag = (t: string, text: string) =>
      Number(
        new RegExp(`dbsync_replication_lag_seconds\\{table="${t}",pipeline="shop"\\} (\\S+)`).exec(text)?.[1],
      )
    // Its newest row is a year old, but nothing waits: caught up.
    m.tableFinished(
      outcome({
        lastCursor: '2024-06-01 00:00:00',
        lag: { oldestPendingMs: null, caughtUpToMs: NOW - 1000 },
      }),
    )
    m.tableFinished(
      outcome({ table: 'busy', lag: { oldestPendingMs: NOW - 5000, caughtUpToMs: NOW - 1000 } }),
    )
    let text = await m.registry.metrics()
    expect(lag('orders', text)).toBe(0)
    expect(lag('busy', text)).toBe(5)
    // A failed run: what may be missing ages from the last cap.
    m.tableFinished(outcome({ status: 'failed' }))
    now += 60_000
    text = await m.registry.metrics()
    expect(lag('orders', text)).toBe(61)
  })

  it('registers every documented metric, plus the default process metrics', async () => {
    const m = createMetrics({ pipeline: 'shop' })
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name)
    for (const n of METRIC_NAMES) expect(names).toContain(n)
    // And the list is complete: the dashboard and alert checks trust it.
    expect(names.filter((n) => n.startsWith('dbsync_')).sort()).toEqual([...METRIC_NAMES].sort())
    expect(names).toContain('process_cpu_user_seconds_total')
  })

  it('counts rows by table and operation, without counting progress twice', async () => {
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false, now: () => NOW })
    m.runStarted()
    m.rowsRead('orders', 6)
    m.tableFinished(outcome())
    const text = await m.registry.metrics()
    expect(text).toContain('dbsync_rows_total{table="orders",operation="read",pipeline="shop"} 10')
    expect(text).toContain('dbsync_rows_total{table="orders",operation="inserted",pipeline="shop"} 6')
    expect(text).toContain('dbsync_rows_total{table="orders",operation="updated",pipeline="shop"} 4')
    expect(text).toContain(
      `dbsync_last_success_timestamp_seconds{table="orders",pipeline="shop"} ${NOW / 1000}`,
    )
  })

  it('keeps the last success time of a table that failed since', async () => {
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false })
    m.tableFinished(outcome(), NOW)
    m.tableFinished(outcome({ status: 'failed' }), NOW + 60_000)
    expect(await m.registry.metrics()).toContain(
      `dbsync_last_success_timestamp_seconds{table="orders",pipeline="shop"} ${NOW / 1000}`,
    )
  })

  it('reports lag as now minus the newest synced cursor, growing between runs', async () => {
    let now = NOW
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false, now: () => now })
    m.tableFinished(outcome({ lastCursor: '2025-06-01 11:59:30.000000' }))
    m.tableFinished(outcome({ table: 'counters', lastCursor: '12345' }))
    expect(await m.registry.metrics()).toContain(
      'dbsync_replication_lag_seconds{table="orders",pipeline="shop"} 30',
    )
    now += 60_000
    const text = await m.registry.metrics()
    expect(text).toContain('dbsync_replication_lag_seconds{table="orders",pipeline="shop"} 90')
    expect(text).not.toContain('dbsync_replication_lag_seconds{table="counters"')
  })

  it('reads pool gauges on each scrape', async () => {
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false })
    let waiting = 0
    m.setPoolSource(() => [
      { side: 'source', inUse: 2, idle: 1, waiting, max: 4 },
      { side: 'target', inUse: 0, idle: 3, waiting: 0, max: 10 },
    ])
    expect(await m.registry.metrics()).toContain(
      'dbsync_pool_connections{side="source",state="waiting",pipeline="shop"} 0',
    )
    waiting = 5
    const text = await m.registry.metrics()
    expect(text).toContain('dbsync_pool_connections{side="source",state="in_use",pipeline="shop"} 2')
    expect(text).toContain('dbsync_pool_connections{side="source",state="waiting",pipeline="shop"} 5')
    expect(text).toContain('dbsync_pool_connections{side="target",state="idle",pipeline="shop"} 3')
    expect(text).toContain('dbsync_pool_max_connections{side="source",pipeline="shop"} 4')
  })

  it('counts pool errors by kind, acquire times, and failures in a row per table', async () => {
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false })
    m.poolError('target', 'refused')
    m.poolError('target', 'refused')
    m.poolAcquired('target', 0.3)
    const failed = { table: 'orders', rowsRead: 0, inserted: 0, updated: 0, deleted: 0, unchanged: 0 }
    m.tableFinished({ ...failed, status: 'failed' })
    m.tableFinished({ ...failed, status: 'failed' })
    let text = await m.registry.metrics()
    expect(text).toContain('dbsync_pool_errors_total{side="target",kind="refused",pipeline="shop"} 2')
    expect(text).toContain('dbsync_pool_errors_total{side="source",kind="timeout",pipeline="shop"} 0')
    expect(text).toContain('dbsync_pool_acquire_seconds_bucket{le="0.5",pipeline="shop",side="target"} 1')
    expect(text).toContain('dbsync_table_consecutive_failures{table="orders",pipeline="shop"} 2')
    m.tableFinished({ ...failed, status: 'ok' })
    text = await m.registry.metrics()
    expect(text).toContain('dbsync_table_consecutive_failures{table="orders",pipeline="shop"} 0')
  })

  it('counts runs by status and observes their duration', async () => {
    const m = createMetrics({ pipeline: 'shop', defaultMetrics: false })
    m.runFinished('ok', 3)
    m.runFinished('failed', 1)
    m.runFinished('locked', 0)
    const text = await m.registry.metrics()
    expect(text).toContain('dbsync_runs_total{status="ok",pipeline="shop"} 1')
    expect(text).toContain('dbsync_runs_total{status="interrupted",pipeline="shop"} 0')
    expect(text).toContain('dbsync_run_duration_seconds_count{pipeline="shop"} 2')
  })
})

describe('cursorEpochMs', () => {
  it.each([
    ['2025-06-01 12:00:00', Date.parse('2025-06-01T12:00:00Z')],
    ['2025-06-01 12:00:00.250000', Date.parse('2025-06-01T12:00:00.250Z')],
    ['2025-06-01', Date.parse('2025-06-01T00:00:00Z')],
  ])('reads %s as UTC', (text, ms) => {
    expect(cursorEpochMs(text)).toBe(ms)
  })

  it.each(['12345', '0000-00-00 00:00:00', 'abc', '2025-13-01'])('ignores %s', (text) => {
    expect(cursorEpochMs(text)).toBeUndefined()
  })
})
