import { closeMatch } from '../config/close-match.js'
import { matchGlob, type ResolvedTables } from '../config/select.js'
import type { Pipeline, TableConfig, TableSelector } from '../config/types.js'
import { missedCursorWarning } from '../plan/init-pipeline.js'
import type { Issue } from '../plan/issue.js'
import { refusalWords, tableRefusals } from '../plan/refusal.js'
import { missingNames } from '../plan/resolve.js'
import { cursorFindings } from '../schema/cursor-risks.js'
import type { TableDef } from '../schema/table-def.js'

export type { Issue } from '../plan/issue.js'

/** Errors make the pipeline invalid (exit 2); warnings are printed and the exit stays 0. */
export interface CheckResult {
  errors: Issue[]
  warnings: Issue[]
}

/**
 * Checks that need only the file: an incremental entry without a cursor column cannot run (the plan
 * refuses it, plan/refusal.ts), so `validate --offline` reports it as well, in the same words.
 */
export function checkSelectors(pipeline: Pipeline): CheckResult {
  const errors: Issue[] = []
  for (const s of pipeline.tables) {
    if (s.exclude || s.strategy !== 'incremental' || s.cursor.length > 0) continue
    const { message, hint } = refusalWords(s.pattern, { reason: 'no-cursor' })
    errors.push({ table: s.pattern, line: s.line, message: `table "${s.pattern}": ${message}`, hint })
  }
  return { errors, warnings: [] }
}

/**
 * Check the resolved tables against the source's definitions: the selectors name tables, cursor and key
 * columns the source has, incremental tables have a key, and cursors can be read efficiently and
 * completely. Pure: no database, so every rule is unit-testable.
 */
export function checkTables(
  pipeline: Pipeline,
  resolved: ResolvedTables,
  sourceDefs: ReadonlyMap<string, TableDef>,
  views: ReadonlySet<string> = new Set(),
): CheckResult {
  const { errors, warnings } = checkSelectors(pipeline)
  const sourceNames = [...sourceDefs.keys()]
  // The same check sync, plan and diff-schema refuse with (resolve.ts).
  errors.push(...missingNames(resolved, sourceDefs, views))

  for (const s of resolved.unmatched) {
    if (!s.exclude) continue
    // Excluding a table that is not there harms nothing, but it is probably a typo.
    const match = closeMatch(s.pattern, sourceNames)
    warnings.push({
      table: s.pattern,
      line: s.line,
      message: `table "${s.pattern}" does not exist in the source database; the exclude has no effect`,
      ...(match !== undefined ? { hint: `did you mean "${match}"?` } : {}),
    })
  }
  for (const s of resolved.shadowed) {
    const owner = pipeline.tables.find((o) => matches(o, s.pattern))
    warnings.push({
      table: s.pattern,
      line: s.line,
      message:
        `table "${s.pattern}" is already selected by the entry on line ${owner?.line ?? '?'}` +
        `${owner?.exclude ? ' (which excludes it)' : ''}, so this entry's settings never apply`,
      hint: 'a table belongs to the first entry that matches it: move this entry above the other',
    })
  }
  // A glob that matches nothing is likely a typo; an exclude glob that matches nothing may be a safeguard.
  for (const s of pipeline.tables) {
    if (!s.isGlob || s.exclude || sourceNames.some((name) => matchGlob(s.pattern, name))) continue
    warnings.push({
      table: s.pattern,
      line: s.line,
      message: `"${s.pattern}" matches no table in the source database`,
    })
  }

  for (const table of resolved.tables) {
    const def = sourceDefs.get(table.name)
    if (def === undefined) continue // resolveTables only returns source tables
    checkTable(table, def, errors, warnings)
  }
  // In file order, as a reader goes through the file fixing them (sort is stable within a line).
  const byLine = (a: Issue, b: Issue) => a.line - b.line
  return { errors: errors.sort(byLine), warnings: warnings.sort(byLine) }
}

function checkTable(table: TableConfig, def: TableDef, errors: Issue[], warnings: Issue[]): void {
  // Missing primary_key and cursor columns are missingNames()'s (resolve.ts).
  const at = { table: table.name, line: table.line }
  const missed = missedCursorWarning(table, def)
  if (missed) warnings.push({ ...at, message: `table "${table.name}": ${missed}` })
  if (table.strategy !== 'incremental') return

  // The planner's refusals (plan/refusal.ts): a missing cursor is the selector's issue (checkSelectors) and
  // a missing column missingNames()'s, both with their line; schema changes need the target (not read here).
  for (const r of tableRefusals(table, def, [])) {
    if (r.reason !== 'no-key') continue
    const { message, hint } = refusalWords(table.name, r)
    errors.push({ ...at, message: `table "${table.name}": ${message}`, hint })
  }

  // The same findings plan prints, in the same words (schema/cursor-risks.ts).
  for (const f of cursorFindings(table.cursor, def))
    warnings.push({ ...at, ...f, message: `table "${table.name}": ${f.message}` })
}

function matches(selector: TableSelector, name: string): boolean {
  return selector.isGlob ? matchGlob(selector.pattern, name) : selector.pattern === name
}
