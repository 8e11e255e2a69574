import { relative } from 'node:path'
import { closeMatch } from '../config/close-match.js'
import { type ResolvedTables, resolveTables } from '../config/select.js'
import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { ConfigError } from '../errors.js'
import { introspect, listViews } from '../schema/introspect.js'
import { column, type TableDef } from '../schema/table-def.js'
import type { Issue } from './issue.js'

/**
 * The names a pipeline gives that the source lacks: a table (or a view named as one), a primary_key
 * column, an incremental table's cursor column. Pure. One check, shared by `validate` (which lists them)
 * and `sync`, `plan`, `diff-schema` (which refuse them, exit 2), so the commands cannot drift apart and
 * no named table is ever skipped silently.
 */
export function missingNames(
  resolved: ResolvedTables,
  sourceDefs: ReadonlyMap<string, TableDef>,
  views: ReadonlySet<string> = new Set(),
): Issue[] {
  const issues: Issue[] = []
  const sourceNames = [...sourceDefs.keys()]
  for (const s of resolved.unmatched) {
    if (s.exclude) continue
    if (views.has(s.pattern)) {
      issues.push({
        table: s.pattern,
        line: s.line,
        message: `"${s.pattern}" is a view in the source database; dbsync copies base tables only`,
        hint: 'name the base tables the view reads instead',
      })
      continue
    }
    const match = closeMatch(s.pattern, sourceNames)
    issues.push({
      table: s.pattern,
      line: s.line,
      message: `table "${s.pattern}" does not exist in the source database`,
      ...(match !== undefined ? { hint: `did you mean "${match}"?` } : {}),
    })
  }
  for (const table of resolved.tables) {
    const def = sourceDefs.get(table.name)
    if (def !== undefined) issues.push(...missingColumns(table, def))
  }
  return issues.sort((a, b) => a.line - b.line)
}

function missingColumns(table: TableConfig, def: TableDef): Issue[] {
  const names = def.columns.map((c) => c.name)
  const missing = (what: string, name: string): Issue => {
    const match = closeMatch(name, names)
    return {
      table: table.name,
      line: table.line,
      column: name,
      message: `table "${table.name}": ${what} column "${name}" does not exist`,
      ...(match !== undefined ? { hint: `did you mean "${match}"?` } : {}),
    }
  }
  const cursors = table.strategy === 'incremental' ? table.cursor : []
  return [
    ...(table.primaryKey ?? [])
      .filter((n) => column(def, n) === undefined)
      .map((n) => missing('primary_key', n)),
    ...cursors.filter((n) => column(def, n) === undefined).map((n) => missing('cursor', n)),
  ]
}

/** The selected tables, the source's definitions, and (when not refused) what the source lacks. */
export interface Selected {
  tables: TableConfig[]
  sourceDefs: Map<string, TableDef>
  missing: Issue[]
  /** The selectors' resolution over the source's tables (unmatched and shadowed entries too). */
  resolved: ResolvedTables
  /** The source's views, read when an entry matched no table (a view named as one is refused). */
  views: ReadonlySet<string>
}

/**
 * Introspect the source and resolve the selected tables, refusing (ConfigError, exit 2) a pipeline that
 * names a table, column or cursor the source lacks, before anything is written. With `refuse: false`
 * (a scheduled run, where a table may disappear between runs) the findings are returned instead, so the
 * caller fails those tables and syncs the others.
 */
export async function resolveSelected(
  pipeline: Pipeline,
  source: Db,
  only?: string[],
  opts: { refuse: boolean } = { refuse: true },
): Promise<Selected> {
  const sourceDefs = await introspect(source)
  const resolved = resolveTables(pipeline, [...sourceDefs.keys()], only)
  const views = resolved.unmatched.length > 0 ? await listViews(source) : new Set<string>()
  const missing = missingNames(resolved, sourceDefs, views)
  if (missing.length > 0 && opts.refuse) throw refusal(pipeline.file, missing)
  return { tables: resolved.tables, sourceDefs, missing, resolved, views }
}

/** One error for all the issues, each as `file:line: message (hint)`. */
export function refusal(file: string, issues: Issue[]): ConfigError {
  const rel = relative(process.cwd(), file)
  const shown = rel && !rel.startsWith('..') ? rel : file
  const [first] = issues
  if (issues.length === 1 && first)
    return new ConfigError(`${shown}:${first.line}: ${first.message}`, first.hint)
  const lines = issues.map((i) => `  ${shown}:${i.line}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`)
  return new ConfigError(
    `the pipeline names ${issues.length} things the source lacks:\n${lines.join('\n')}`,
    'fix the names in the pipeline file; dbsync validate lists every problem',
  )
}
