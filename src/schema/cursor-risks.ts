import type { ColumnDef } from './table-def.js'

/**
 * What can go wrong with a cursor column, for `validate`, `plan` and `init` to say before a run does
 * (issue 12). Nothing here is lost by sync itself: zero dates are re-read by key on every run
 * (sync/outside.ts); but number and time-of-day cursors have no late-commit cap (sync/cap.ts), and a
 * DATE cursor holds back the current day.
 */
export function cursorRisks(columns: Array<ColumnDef | undefined>): string[] {
  const risks: string[] = []
  for (const c of columns) {
    if (!c) continue
    if (hasZeroDateDefault(c)) {
      risks.push(
        `cursor column "${c.name}" defaults to a zero date: rows that keep it sort below every saved position, so they are re-read by key on every run (cheap only while few)`,
      )
    }
  }
  const first = columns[0]
  if (!first) return risks
  if (NUMBER_TYPES.has(first.dataType)) {
    risks.push(
      `cursor column "${first.name}" is a number: it has no late-commit cap, so a transaction that takes a lower value and commits after a higher one has been synced is passed by; set lag, or use a DATETIME/TIMESTAMP cursor`,
    )
  } else if (first.dataType === 'time' || first.dataType === 'year') {
    risks.push(
      `cursor column "${first.name}" is a ${first.dataType.toUpperCase()}, not an instant: it has no late-commit cap and wraps around; use a DATETIME/TIMESTAMP cursor`,
    )
  } else if (first.dataType === 'date') {
    risks.push(
      `cursor column "${first.name}" is a DATE: runs read up to the day before the source's today, so today's changes arrive tomorrow`,
    )
  }
  return risks
}

/** Whether a column's default is a zero date ('0000-00-00...'): lax sql_mode applications write it. */
export function hasZeroDateDefault(c: Pick<ColumnDef, 'default'>): boolean {
  return c.default.kind === 'literal' && /^0000-00-00/.test(c.default.value)
}

const NUMBER_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
])
