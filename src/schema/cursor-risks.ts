import { type ColumnDef, column, type TableDef } from './table-def.js'

/** Something to know about a table's cursor: one wording for `plan` (its message) and `validate` (all). */
export interface CursorFinding {
  /** The cursor column it is about, when it is about one. */
  column?: string
  message: string
  /** The fix, when there is one to name. */
  hint?: string
}

/**
 * What `plan` and `validate` say about an incremental table's cursor, in this order: cursor columns no
 * index starts with (rows are read in (cursor, key) order from the saved position, so without one the
 * server sorts the whole table for every batch), the risks of its types (cursorRisks), and a cursor that
 * can be NULL (with a list, the first non-NULL value counts, so only when every column can be NULL). Cursor
 * columns the source lacks are left out: that is a refusal, said elsewhere.
 */
export function cursorFindings(cursor: readonly string[], table: TableDef): CursorFinding[] {
  const findings: CursorFinding[] = []
  const columns = cursor.map((name) => column(table, name))
  const leading = [table.primaryKey[0], ...table.indexes.map((i) => i.columns[0]?.name)]
  cursor.forEach((name, i) => {
    if (columns[i] === undefined || leading.includes(name)) return
    findings.push({
      column: name,
      message: `cursor column "${name}" has no index that starts with it, so each run scans the whole table`,
      hint: `CREATE INDEX ... ON ${table.name} (${name})`,
    })
  })
  for (const message of cursorRisks(columns)) findings.push({ message })
  if (columns.length > 0 && columns.every((c) => c?.nullable === true)) {
    const one = cursor.length === 1
    const list = cursor.map((n) => `"${n}"`).join(', ')
    findings.push({
      ...(one ? { column: cursor[0] } : {}),
      message: `cursor ${one ? 'column' : 'columns'} ${list} ${one ? 'is' : 'are all'} nullable, so rows with NULL cursor are re-read on every run`,
      hint: 'make the column NOT NULL, or add a NOT NULL column to the cursor list',
    })
  }
  return findings
}

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
