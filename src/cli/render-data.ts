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
      : `pipeline ${r.pipeline}: data differs in ${bad.length} of ${plural(r.tables.length, 'table')}: ${bad
          .map((t) => t.table)
          .join(', ')}`,
  )
  if (r.repair_command) lines.push(`to repair: ${r.repair_command}`)
  return lines.join('\n')
}

function renderTable(t: TableDataReport): string[] {
  const out = [
    `${t.table}: ${t.status === 'mismatch' ? 'MISMATCH' : t.status === 'error' ? 'ERROR' : 'consistent'}`,
  ]
  if (t.error) {
    out.push(`  error: ${t.error}`)
    return out
  }
  out.push(`  rule: ${t.ruleDetail}`)
  out.push(
    `  rows: source ${t.sourceRows}, target ${t.targetRows}; ${plural(t.chunks, 'chunk')} checked, ` +
      `${t.differingChunks} differing; ${t.pending} pending`,
  )
  const section = (label: string, count: number, items: string[]) => {
    if (count === 0) return
    out.push(`  ${label}: ${count}`)
    for (const i of items) out.push(`    ${i}`)
    if (items.length < count) out.push(`    ... ${count - items.length} more not listed`)
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

function keyText(k: RowKey): string {
  return Object.entries(k)
    .map(([name, v]) => `${name}=${v}`)
    .join(', ')
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`
}
