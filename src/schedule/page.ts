import { duration } from '../state/report.js'
import type { PageModel, PageTable } from './page-model.js'

/**
 * The status page at `/`: one server-rendered HTML document with no script and no external asset (the
 * CSP in health.ts allows only the inline stylesheet carrying this response's nonce), that reloads itself,
 * fits a phone and follows prefers-color-scheme. Charts are inline SVG polylines.
 */

/** Seconds between the page's reloads. */
export const PAGE_REFRESH_SECONDS = 10

export function renderPage(m: PageModel, nonce: string): string {
  const failed = m.tables.filter((t) => t.state === 'failed' || t.state === 'abandoned').length
  const title = `dbsync ${m.pipeline}: ${failed ? `${failed} failing` : m.state}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${PAGE_REFRESH_SECONDS}">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
<h1>dbsync <span class="pipeline">${esc(m.pipeline)}</span></h1>
<p class="summary">${esc(summary(m))}</p>
</header>
<main>
<section aria-labelledby="h-tables"><h2 id="h-tables">Tables</h2>
${tablesHtml(m)}
</section>
<section class="charts" aria-labelledby="h-charts"><h2 id="h-charts">Recent runs</h2>
${chart('Lag, largest table, per run of this process', 'lag', m.charts.lag_seconds, duration)}
${chart('Rows per second, per run', 'rps', m.charts.rows_per_second, (n) => `${fmt(n)} rows/s`)}
</section>
<section aria-labelledby="h-pools"><h2 id="h-pools">Connections and memory</h2>
${poolsHtml(m)}
</section>
<section aria-labelledby="h-runs"><h2 id="h-runs">Last runs</h2>
${runsHtml(m)}
</section>
</main>
<footer>Generated ${esc(m.generated_at)}; reloads every ${PAGE_REFRESH_SECONDS} s. Read-only: nothing here changes anything.</footer>
</body>
</html>
`
}

function summary(m: PageModel): string {
  const parts = [m.schedule, m.state === 'running' && m.running ? `running ${m.running.run}` : m.state]
  if (m.next_run_at)
    parts.push(
      `next run in ${duration(Math.max(0, (Date.parse(m.next_run_at) - Date.parse(m.generated_at)) / 1000))}`,
    )
  if (m.consecutive_failures) parts.push(`${m.consecutive_failures} failed run(s) in a row`)
  return parts.join(' · ')
}

function tablesHtml(m: PageModel): string {
  if (m.tables.length === 0) return '<p class="empty">No table has run yet.</p>'
  const rows = m.tables.map(
    (t) => `<tr class="table-row" data-table="${esc(t.table)}" data-state="${t.state}">
<th scope="row">${esc(t.table)}</th><td class="opt">${esc(t.strategy ?? '-')}</td>
<td><span class="state state-${t.state}">${t.state}</span>${detail(t)}</td>
<td class="num">${t.lag_seconds === null ? '-' : esc(duration(t.lag_seconds))}</td>
<td>${when(t.last_success_at, m.generated_at)}</td><td class="num">${esc(t.rows_synced ?? '-')}</td></tr>${errorRow(t.error, 6, t.table)}`,
  )
  return `<div class="scroll"><table class="tables"><thead><tr><th scope="col">table</th><th scope="col" class="opt">strategy</th>
<th scope="col">state</th><th scope="col">lag</th><th scope="col">last success</th><th scope="col">rows copied</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`
}

function detail(t: PageTable): string {
  const bits: string[] = []
  if (t.rows !== null) bits.push(`${t.rows} rows`)
  if (t.rows_per_second !== null) bits.push(`${Math.round(t.rows_per_second)} rows/s`)
  if (t.seconds !== null && t.state !== 'running') bits.push(`${t.seconds.toFixed(1)} s`)
  if (t.state === 'running')
    bits.push(
      `for ${duration(t.seconds ?? 0)}, ${t.eta_seconds === null ? 'ETA unknown' : `ETA ${duration(t.eta_seconds)}`}`,
    )
  if (t.held_by) bits.push(`by ${t.held_by}`)
  return bits.length ? `<div class="detail">${esc(bits.join(' · '))}</div>` : ''
}

/** An error on a row of its own, full width, so a long message stays readable on a phone. */
function errorRow(error: string | null, columns: number, table?: string): string {
  if (!error) return ''
  const attr = table === undefined ? '' : ` data-table="${esc(table)}"`
  return `<tr class="error-row"${attr}><td colspan="${columns}"><div class="error">${esc(error)}</div></td></tr>`
}

function poolsHtml(m: PageModel): string {
  const rows = m.pools.map(
    (p) =>
      `<tr data-side="${p.side}"><th scope="row">${p.side}</th><td class="num">${p.in_use}</td><td class="num">${p.idle}</td><td class="num">${p.waiting}</td><td class="num">${p.max}</td></tr>`,
  )
  const pools = rows.length
    ? `<table class="pools"><thead><tr><th scope="col">pool</th><th scope="col">in use</th><th scope="col">idle</th><th scope="col">waiting</th><th scope="col">max</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p class="empty">Not connected (the next run connects).</p>'
  const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`
  return `${pools}<p class="memory">Memory: ${mb(m.memory.rss_bytes)} resident, ${mb(m.memory.heap_used_bytes)} heap in use</p>`
}

function runsHtml(m: PageModel): string {
  if (m.runs === null)
    return `<p class="error">Run history unavailable: ${esc(m.runs_error ?? 'no connection')}</p>`
  if (m.runs.length === 0) return '<p class="empty">No run recorded yet.</p>'
  const rows = m.runs.map(
    (
      r,
    ) => `<tr class="run-row" data-status="${r.status}"><td>${esc(r.load_id)}</td><td>${when(r.started_at, m.generated_at)}</td>
<td class="num">${r.seconds === null ? '-' : r.seconds.toFixed(1)}</td><td class="num">${r.rows}</td>
<td><span class="state state-${r.status}">${r.status}</span></td></tr>${errorRow(r.error, 5)}`,
  )
  return `<div class="scroll"><table class="runs"><thead><tr><th scope="col">run</th><th scope="col">started</th>
<th scope="col">seconds</th><th scope="col">rows</th><th scope="col">outcome</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`
}

const W = 300
const H = 80

/** A polyline over the values (nulls skipped), scaled to the largest; an empty frame without data. */
export function chart(
  label: string,
  id: string,
  values: Array<number | null>,
  format: (n: number) => string = fmt,
): string {
  const known = values
    .map((v, i) => [i, v] as const)
    .filter((p): p is readonly [number, number] => p[1] !== null)
  const max = Math.max(1e-9, ...known.map(([, v]) => v))
  const step = values.length > 1 ? W / (values.length - 1) : 0
  const points = known.map(([i, v]) => `${(i * step).toFixed(1)},${(H - (v / max) * (H - 4) - 2).toFixed(1)}`)
  const last = known.at(-1)?.[1]
  const caption = last === undefined ? 'no data yet' : `latest ${format(last)}, peak ${format(max)}`
  const dots = points.map((p) => {
    const [x, y] = p.split(',')
    return `<circle cx="${x}" cy="${y}" r="2"/>`
  })
  return `<figure class="chart" id="chart-${id}">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}: ${esc(caption)}" preserveAspectRatio="none">
<rect class="frame" x="0" y="0" width="${W}" height="${H}"/>
${points.length > 1 ? `<polyline points="${points.join(' ')}"/>` : ''}${dots.join('')}
</svg>
<figcaption>${esc(label)}: ${esc(caption)}</figcaption>
</figure>`
}

/** "3m 2s ago", with the exact time as a tooltip. */
function when(at: string | null, now: string): string {
  if (!at) return '-'
  const ago = duration(Math.max(0, (Date.parse(now) - Date.parse(at)) / 1000))
  return `<time datetime="${esc(at)}" title="${esc(at)}">${esc(ago)} ago</time>`
}

function fmt(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1)
}

/** HTML text and attribute escaping. */
export function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

const STYLE = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--ok:#1a7f37;--bad:#c62828;--run:#0b5cad;--warn:#9a6700}
@media (prefers-color-scheme: dark){:root{--bg:#0f1216;--fg:#e6e9ed;--muted:#9aa4af;--line:#2c333b;--ok:#4cc56a;--bad:#ff6b6b;--run:#5aa9ff;--warn:#e3b341}}
*{box-sizing:border-box}
body{margin:0;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
h1{font-size:1.3rem;margin:0}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.pipeline{color:var(--run)}.summary,.memory,footer,.detail,figcaption{color:var(--muted);font-size:.85rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}table.pools{width:auto;min-width:50%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums}
.state{font-weight:600}.state-ok{color:var(--ok)}.state-failed,.state-abandoned{color:var(--bad)}
.state-running{color:var(--run)}.state-interrupted,.state-never,.state-held{color:var(--warn)}
.error{color:var(--bad);font-size:.85rem;white-space:pre-wrap;overflow-wrap:anywhere;max-width:90ch}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts h2{flex-basis:100%}
.chart{margin:0;flex:1 1 280px;max-width:480px}
.chart svg{width:100%;height:90px;display:block}
.chart .frame{fill:none;stroke:var(--line)}.chart polyline{fill:none;stroke:var(--run);stroke-width:1.5}
.chart circle{fill:var(--run)}
footer{margin-top:2rem}
.error-row td{border-top:0;padding-top:0}tr:has(+ .error-row) > *{border-bottom:0}
@media (max-width:600px){body{padding:.6rem}th,td{padding:.3rem}.opt{display:none}}
`
