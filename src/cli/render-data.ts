import { plural } from '../observe/text.js'
import type { DataReport, RowKey, TableDataReport } from '../validate/data.js'

/**
 * The text of a `validate --data` (or `sync --verify`) report: per table its status, the rule that chose
 * the judged rows, counts, then the mismatching keys; a summary line last.
 */
export function renderDataReport(r: DataReport): string {
  const lines: string[] = []
  for (const t of r.tables) lines.push(...renderTable(t), '')
  const bad = r.tables.filter((t) => t.status !== 'consistent')
  lines.push(
    bad.length === 0
      ? `pipeline ${r.pipeline}: data consistent (${plural(r.tables.length, 'table')}, ${r.seconds.toFixed(1)} s)`
      : `pipeline ${r.pipeline}: data not consistent in ${bad.length} of ${plural(r.tables.length, 'table')}: ${bad
          .map((t) => `${t.table} (${t.status.replaceAll('_', ' ')})`)
          .join(', ')}`,
  )
  if (r.repair_command) lines.push(`to repair: ${r.repair_command}`)
  return lines.join('\n')
}

function renderTable(t: TableDataReport): string[] {
  const out = [`${t.table}: ${STATUS_TEXT[t.status]}`]
  if (t.error && t.status !== 'not_loaded' && t.status !== 'last_run_failed') {
    out.push(`  error: ${t.error}`)
    return out
  }
  if (t.error) out.push(`  ${t.error}`)
  out.push(`  rule: ${t.ruleDetail}`)
  out.push(
    `  rows: source ${t.sourceRows}, target ${t.targetRows}; ${plural(t.chunks, 'chunk')} checked, ` +
      `${t.differingChunks} differing; ${t.pending} pending`,
  )
  // A comparison that stopped early counted only what it examined.
  const atLeast = t.counts_complete ? '' : 'at least '
  const section = (label: string, count: number, items: string[]) => {
    if (count === 0) return
    out.push(`  ${label}: ${atLeast}${count}`)
    for (const i of items) out.push(`    ${i}`)
    if (items.length < count) out.push(`    ... ${atLeast}${count - items.length} more not listed`)
  }
  section('missing in target', t.counts.missing, t.missing.map(keyText))
  section('extra in target', t.counts.extra, t.extra.map(keyText))
  if (t.counts.extra > 0 && t.rule === 'incremental') {
    out.push('  hint: rows deleted in the source stay in the target unless the table sets deletes: detect')
  }
  section(
    'differing',
    t.counts.differing,
    t.differing.map((d) => `${keyText(d.key)}: ${d.columns.join(', ')}`),
  )
  if (t.undrilledChunks > 0) {
    out.push(`  ${plural(t.undrilledChunks, 'more differing chunk')} not examined (report cap reached)`)
  }
  if (t.rule === 'no_key' && t.status === 'mismatch')
    out.push('  count or checksum differs (no key: rows not named)')
  return out
}

const STATUS_TEXT: Record<TableDataReport['status'], string> = {
  consistent: 'consistent',
  mismatch: 'MISMATCH',
  error: 'ERROR',
  not_loaded: 'NOT LOADED',
  last_run_failed: 'LAST RUN FAILED',
}

function keyText(k: RowKey): string {
  return Object.entries(k)
    .map(([name, v]) => `${name}=${v}`)
    .join(', ')
}
