import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/observe/metrics.js'
import { repoRoot } from '../support/cli.js'

// examples/grafana/dbsync.json must import as is and show data: every metric and label its queries name
// has to be one dbsync's /metrics really serves.

interface Panel {
  title: string
  type: string
  targets?: Array<{ expr: string }>
}

const dashboard = JSON.parse(readFileSync(join(repoRoot, 'examples/grafana/dbsync.json'), 'utf8')) as {
  panels: Panel[]
  templating: { list: Array<{ name: string; query: { query: string } }> }
}

// PromQL functions, aggregations and keywords, and Grafana's label_values(); anything else is a metric.
const PROMQL = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'by',
  'without',
  'rate',
  'increase',
  'time',
  'histogram_quantile',
  'label_values',
])

/** Metric name -> the label names its samples carry, from a registry every metric has been used in. */
async function served(): Promise<Map<string, Set<string>>> {
  const m = createMetrics({ pipeline: 'shop' })
  m.runStarted()
  m.rowsRead('orders', 10)
  m.tableFinished({
    table: 'orders',
    status: 'ok',
    rowsRead: 10,
    inserted: 10,
    updated: 0,
    deleted: 0,
    unchanged: 0,
    lastCursor: '2025-01-01 00:00:00',
    positionsHeld: true,
    aboveClock: { rows: 1 },
  })
  m.runFinished('ok', 2)
  m.tickSkipped('running')
  m.setConsecutiveFailures(0)
  m.setPoolSource(() => [{ side: 'source', inUse: 1, idle: 1, waiting: 0, max: 4 }])
  m.poolAcquired('source', 0.01)
  m.poolError('source', 'refused')
  m.verifyChunk('orders', 'equal')
  m.verifyFull('orders', Date.now())
  const out = new Map<string, Set<string>>()
  for (const line of (await m.registry.metrics()).split('\n')) {
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line)
    if (!s) continue
    const labels = out.get(s[1]!) ?? new Set<string>()
    for (const l of (s[2] ?? '').matchAll(/(\w+)="/g)) labels.add(l[1]!)
    out.set(s[1]!, labels)
  }
  return out
}

function queries(): Array<{ where: string; expr: string }> {
  return [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
    ...dashboard.templating.list.map((v) => ({ where: `$${v.name}`, expr: v.query.query })),
  ]
}

describe('examples/grafana/dbsync.json', () => {
  it('has pipeline and table variables and panels for lag, throughput, failures, pools and memory', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['pipeline', 'table'])
    const exprs = queries()
      .map((q) => q.expr)
      .join('\n')
    for (const metric of [
      'dbsync_replication_lag_seconds',
      'dbsync_rows_total',
      'dbsync_runs_total',
      'dbsync_table_consecutive_failures',
      'dbsync_pool_connections',
      'dbsync_pool_acquire_seconds_bucket',
      'dbsync_pool_errors_total',
      'process_resident_memory_bytes',
    ])
      expect(exprs).toContain(metric)
  })

  it('queries only metrics and labels that /metrics serves', async () => {
    const metrics = await served()
    for (const { where, expr: raw } of queries()) {
      // Range durations ([5m]) and numbers are no names.
      const expr = raw.replace(/\[[^\]]*\]/g, '')
      // Selectors: a metric, then its label matchers.
      const named = new Set<string>()
      for (const sel of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?/g)) {
        const name = sel[1]!
        if (PROMQL.has(name) || /^\d/.test(name)) continue
        // Label names inside by (...) and the arguments of label_values are checked below.
        const before = expr.slice(0, sel.index)
        if (/(by|without)\s*\([^)]*$/.test(before) || /label_values\([^)]*,\s*$/.test(before)) continue
        expect(metrics.has(name), `${where}: ${name} is not served on /metrics`).toBe(true)
        named.add(name)
        for (const m of (sel[3] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)/g)) {
          expect(metrics.get(name)?.has(m[1]!), `${where}: ${name} has no label ${m[1]}`).toBe(true)
        }
      }
      const labels = [...expr.matchAll(/(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
        m[1]!.split(',').map((l) => l.trim()),
      )
      const valuesOf = /label_values\([^,]*,\s*(\w+)\)/.exec(expr)?.[1]
      for (const label of [...labels, ...(valuesOf ? [valuesOf] : [])]) {
        const carrier = [...named].some((n) => metrics.get(n)?.has(label))
        expect(carrier, `${where}: no metric of "${expr}" has the label ${label}`).toBe(true)
      }
    }
  })
})
