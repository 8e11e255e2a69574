import type { SchemaChange } from './change.js'
import type { CheckDef, TableDef } from './table-def.js'

/**
 * The differences beyond columns and types: table and column comments, CHECK constraints. Pure; called by
 * diffTable after the column changes (a column both widened and re-commented is modified once, by the
 * first change, which carries the source's comment).
 * CHECK constraints compare by clause, not name: MySQL targets get generated names (see Flavor.namesChecks).
 */
export function diffDefinition(source: TableDef, target: TableDef): SchemaChange[] {
  const changes: SchemaChange[] = []
  if (source.comment !== target.comment) {
    changes.push({ kind: 'table_comment', from: target.comment, to: source.comment })
  }
  const targetCols = new Map(target.columns.map((c) => [c.name.toLowerCase(), c]))
  for (const s of source.columns) {
    const t = targetCols.get(s.name.toLowerCase())
    if (!t || s.comment === t.comment) continue
    changes.push({
      kind: 'column_comment',
      column: { ...t, comment: s.comment },
      from: t.comment,
      to: s.comment,
    })
  }
  const targetChecks = new Map(target.checks.map((c) => [checkKey(c), c]))
  const sourceChecks = new Map(source.checks.map((c) => [checkKey(c), c]))
  for (const [key, c] of sourceChecks) {
    if (!targetChecks.has(key)) changes.push({ kind: 'add_check', check: c })
  }
  const jsonColumns = new Set(
    source.columns.filter((c) => c.dataType === 'json').map((c) => c.name.toLowerCase()),
  )
  for (const [key, c] of targetChecks) {
    if (sourceChecks.has(key)) continue
    // MariaDB adds json_valid(col) to a JSON column of its own accord: that is the source's type, not drift.
    const auto = /^json_valid\((\w+)\)$/.exec(normalizeClause(c.clause))
    if (auto && jsonColumns.has(auto[1]!)) continue
    changes.push({ kind: 'drop_check', check: c })
  }
  return changes
}

function checkKey(c: CheckDef): string {
  return `${normalizeClause(c.clause)}\u0000${c.enforced}`
}

/** Servers print one clause with different quoting, spacing and outer parentheses: compare what is left. */
export function normalizeClause(clause: string): string {
  let s = clause.replace(/[`\s]/g, '').toLowerCase()
  while (/^\(.*\)$/.test(s) && balanced(s.slice(1, -1))) s = s.slice(1, -1)
  return s
}

function balanced(s: string): boolean {
  let depth = 0
  for (const ch of s) {
    if (ch === '(') depth++
    else if (ch === ')' && --depth < 0) return false
  }
  return depth === 0
}

/**
 * The added columns whose existing values the target cannot compute as the source did: an expression
 * default (CURRENT_TIMESTAMP, UUID(), …) or AUTO_INCREMENT. Existing rows are copied again for them
 * (sync/recopy.ts).
 */
export function recopiedColumns(changes: readonly SchemaChange[]): string[] {
  return changes.flatMap((c) =>
    c.kind === 'add_column' &&
    c.column.generated === null &&
    (c.column.default.kind === 'expression' || c.column.autoIncrement)
      ? [c.column.name]
      : [],
  )
}
