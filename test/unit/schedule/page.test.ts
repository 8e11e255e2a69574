import { describe, expect, it } from 'vitest'
import type { StatusSnapshot, TableStatus } from '../../../src/schedule/health.js'
import { chart, renderPage } from '../../../src/schedule/page.js'
import { HELD_REASON, pageModel } from '../../../src/schedule/page-model.js'

const NOW = Date.parse('2025-06-01T12:00:00Z')

function result(over: Partial<TableStatus>): TableStatus {
  return {
    run: 'r1',
    status: 'ok',
    rows: 100,
    inserted: 100,
    updated: 0,
    deleted: 0,
    unchanged: 0,
    seconds: 2,
    schemaChanges: [],
    warnings: [],
    error: null,
    lastCursor: '2025-06-01 11:59:00',
    positionsHeld: false,
    finishedAt: new Date(NOW - 5_000).toISOString(),
    lastSuccessAt: new Date(NOW - 5_000).toISOString(),
    ...over,
  }
}

function snapshot(): StatusSnapshot {
  return {
    pipeline: 'shop',
    schedule: { every: '60s', intervalSeconds: 60 },
    state: 'running',
    running: { run: 'r2', startedAt: new Date(NOW - 10_000).toISOString() },
    nextRunAt: null,
    consecutiveFailures: 1,
    ticksToSkip: 0,
    lastRun: null,
    lastSuccessAt: null,
    tables: {
      customers: result({}),
      orders: result({ positionsHeld: true }),
      '<b>evil</b>': result({ status: 'failed', error: 'bad value <img src=x onerror=alert(1)> "q"' }),
    },
    live: {
      items: {
        strategy: 'incremental',
        startedAt: new Date(NOW - 4_000).toISOString(),
        rows: 2000,
        expectedRows: 12_000,
      },
    },
    history: [
      { run: 'a', finishedAt: '', lagSeconds: 30, rowsPerSecond: 10 },
      { run: 'b', finishedAt: '', lagSeconds: null, rowsPerSecond: 20 },
      { run: 'c', finishedAt: '', lagSeconds: 60, rowsPerSecond: 5 },
    ],
  }
}

function model() {
  return pageModel({
    snapshot: snapshot(),
    report: null,
    reportError: 'not connected to the target yet',
    pools: [{ side: 'source', inUse: 2, idle: 1, waiting: 3, max: 4 }],
    memory: process.memoryUsage(),
    now: NOW,
  })
}

describe('the status page model', () => {
  it('shows running tables with rows/s, held tables with the reason, failed ones with the error', () => {
    const byName = Object.fromEntries(model().tables.map((t) => [t.table, t]))
    expect(byName.items).toMatchObject({
      state: 'running',
      rows: 2000,
      rows_per_second: 500,
      eta_seconds: 20,
    })
    expect(byName.orders).toMatchObject({ state: 'held', error: HELD_REASON })
    expect(byName.customers).toMatchObject({ state: 'ok', error: null, lag_seconds: 60 })
    expect(byName['<b>evil</b>']?.state).toBe('failed')
    expect(model().charts.lag_seconds).toEqual([30, null, 60])
    expect(model().pools).toEqual([{ side: 'source', in_use: 2, idle: 1, waiting: 3, max: 4 }])
  })
})

describe('renderPage', () => {
  const html = renderPage(model(), 'n0nce')

  it('escapes table names and errors: text from the databases never becomes markup', () => {
    expect(html).not.toContain('<img')
    expect(html).not.toContain('<b>evil')
    expect(html).toContain('bad value &lt;img src=x onerror=alert(1)&gt; &quot;q&quot;')
    expect(html).toContain('data-table="&lt;b&gt;evil&lt;/b&gt;"')
  })

  it('shows a running table with its rows, rate and ETA', () => {
    expect(html).toContain('2000 rows · 500 rows/s · for 4s, ETA 20s')
  })

  it('has no script, loads nothing, styles only through the nonce, and reloads itself', () => {
    expect(html).not.toMatch(/<(script|link|img|iframe|object)\b/i)
    expect(html).not.toMatch(/<[^>]+\s(src|href|action)=/i)
    expect(html).toContain('<style nonce="n0nce">')
    expect(html).not.toMatch(/ style="/)
    expect(html).toMatch(/<meta http-equiv="refresh" content="\d+">/)
    expect(html).toContain('prefers-color-scheme: dark')
    expect(html).toContain('Run history unavailable: not connected to the target yet')
  })

  it('draws a point per known value and a line through them', () => {
    const svg = chart('lag', 'lag', [30, null, 60, 90])
    expect(svg.match(/<circle/g)).toHaveLength(3)
    expect(svg).toContain('<polyline points="0.0,')
    expect(chart('lag', 'lag', [])).toContain('no data yet')
  })
})
