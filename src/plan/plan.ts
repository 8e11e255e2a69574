import type { Pipeline, Strategy, TableConfig } from '../config/types.js'
import type { Flavor } from '../db/flavor.js'
import { cursorRisks } from '../schema/cursor-risks.js'
import { describeChange, diffTable } from '../schema/diff.js'
import { recopiedColumns } from '../schema/diff-definition.js'
import type { TableDef } from '../schema/table-def.js'
import type { SyncState } from '../state/sync-state.js'
import { missedCursorWarning } from './init-pipeline.js'

/** Rows the next sync would read: counted exactly, or estimated from the optimizer's statistics. */
export interface PendingRows {
  rows: number
  estimated: boolean
}

/**
 * What the next `sync` does to a table, most significant first: `fails` (it would refuse the table),
 * `create_table`, `full_reload` (every run of a full_refresh table), `schema_changes` (then the pending
 * rows), `rows_pending`, `up_to_date`.
 */
export type PlanAction =
  | 'fails'
  | 'create_table'
  | 'full_reload'
  | 'schema_changes'
  | 'rows_pending'
  | 'up_to_date'

export interface TablePlan {
  table: string
  strategy: Strategy
  cursor: string[]
  /** The saved position: the newest cursor value already synced. */
  lastCursor: string | null
  action: PlanAction
  /** The action in words, with the counts; the schema changes themselves are in `schemaChanges`. */
  summary: string
  /** The schema changes the sync would apply (a full reload rebuilds from the source's definition). */
  schemaChanges: string[]
  /** Null when not known (the table would fail, or nothing was counted). */
  pending: PendingRows | null
  /** `deletes: detect`: target rows whose key left the source are removed. */
  deletes: boolean
  warnings: string[]
}

/** Facts about the servers the command found out (the pure planner asks no server). */
export interface PlanEnvironment {
  /** Whether information_schema.INNODB_TRX is readable on the source (the late-commit cap needs it). */
  lateCommitCap: boolean
  /** The target server's flavor: collations it lacks are mapped (and named in the warnings). */
  targetFlavor?: Flavor
}

/**
 * Decide, for each selected table, what the next sync would do. Pure: the definitions, saved states and
 * pending row counts are read by the caller; nothing here touches a database.
 */
export function planTables(
  _pipeline: Pipeline,
  tables: readonly TableConfig[],
  sourceDefs: ReadonlyMap<string, TableDef>,
  targetDefs: ReadonlyMap<string, TableDef>,
  states: ReadonlyMap<string, SyncState>,
  pending: ReadonlyMap<string, PendingRows>,
  env: PlanEnvironment = { lateCommitCap: true },
): TablePlan[] {
  return tables.flatMap((config) => {
    const source = sourceDefs.get(config.name)
    return source
      ? [
          planTable(
            config,
            source,
            targetDefs.get(config.name),
            states.get(config.name),
            pending.get(config.name) ?? null,
            env,
          ),
        ]
      : []
  })
}

function planTable(
  config: TableConfig,
  source: TableDef,
  target: TableDef | undefined,
  state: SyncState | undefined,
  pending: PendingRows | null,
  env: PlanEnvironment,
): TablePlan {
  const incremental = config.strategy === 'incremental'
  const warnings = [...tableWarnings(config, source, env), ...crossFlavorWarnings(source, env.targetFlavor)]
  const changes = target ? diffTable(source, target, env.targetFlavor) : []
  const plan: TablePlan = {
    table: config.name,
    strategy: config.strategy,
    cursor: config.cursor,
    lastCursor: state?.lastCursor ?? null,
    action: 'up_to_date',
    summary: '',
    schemaChanges: [],
    pending,
    deletes: config.deletes === 'detect',
    warnings,
  }
  const failure = incremental ? incrementalFailure(config, source, changes) : null
  if (failure) return { ...plan, action: 'fails', summary: failure, pending: null }
  const rows = pending ? pendingText(pending) : 'rows not counted'
  if (!target) return { ...plan, action: 'create_table', summary: `create table, then load ${rows}` }
  // A full reload builds the table anew from the source's definition, so every difference is applied.
  plan.schemaChanges = changes.map(describeChange)
  if (!incremental) {
    const rebuilt = plan.schemaChanges.length ? `, with ${changeCount(plan.schemaChanges)}` : ''
    return { ...plan, action: 'full_reload', summary: `full reload of ${rows}${rebuilt}` }
  }
  const what = pending ? (pending.rows > 0 ? `${pendingText(pending)} pending` : 'no rows pending') : rows
  const recopied = recopiedColumns(changes)
  if (state && (recopied.length || state.recopyAfter)) {
    // The target computes its own values for such a column: sync copies the existing rows again.
    const why = recopied.length ? `new column ${recopied.join(', ')} has a computed default` : 'unfinished'
    plan.schemaChanges.push(
      `re-copy existing rows (~${source.estimatedRows.toLocaleString('en-US')}, estimated): ${why}`,
    )
  }
  if (plan.schemaChanges.length) {
    return { ...plan, action: 'schema_changes', summary: `${changeCount(plan.schemaChanges)}, then ${what}` }
  }
  if (state?.phase === 'initial')
    return { ...plan, action: 'rows_pending', summary: `resume the first load: ${rows}` }
  if (pending && pending.rows === 0) return { ...plan, action: 'up_to_date', summary: 'up to date' }
  return { ...plan, action: 'rows_pending', summary: what }
}

/** Why the sync would refuse an incremental table, as incremental.ts and schema-sync.ts would say it. */
function incrementalFailure(
  config: TableConfig,
  source: TableDef,
  changes: ReturnType<typeof diffTable>,
): string | null {
  if (config.cursor.length === 0) return 'fails: incremental sync needs a cursor column, and none is set'
  const missing = config.cursor.find((c) => !source.columns.some((x) => x.name === c))
  if (missing) return `fails: cursor column ${missing} does not exist in the source`
  if ((config.primaryKey ?? source.primaryKey).length === 0) {
    return 'fails: incremental sync needs a primary key; set primary_key or use strategy: full_refresh'
  }
  const bad = changes.find((c) => c.kind === 'incompatible')
  if (bad) {
    return (
      `fails: column ${bad.column} changed from ${bad.targetType} to ${bad.sourceType} (${bad.reason}); ` +
      `run dbsync sync --full-refresh --tables ${config.name}`
    )
  }
  return null
}

function tableWarnings(config: TableConfig, source: TableDef, env: PlanEnvironment): string[] {
  const warnings: string[] = []
  const key = config.primaryKey ?? source.primaryKey
  if (key.length === 0 && config.strategy === 'full_refresh') {
    warnings.push('no primary key: each load gives the rows new _dlt_id values')
  }
  for (const i of source.skippedIndexes)
    warnings.push(`index ${i} has functional key parts and is not copied`)
  const missed = missedCursorWarning(config, source)
  if (missed) warnings.push(missed)
  const first = config.cursor[0]
  if (config.strategy !== 'incremental' || first === undefined) return warnings
  const cursorCols = config.cursor.map((name) => source.columns.find((c) => c.name === name))
  const leading = [source.primaryKey[0], ...source.indexes.map((i) => i.columns[0]?.name)]
  if (!leading.includes(first)) {
    warnings.push(`no index whose first column is the cursor ${first}: each run scans the whole source table`)
  }
  if (cursorCols.every((c) => c?.nullable)) {
    warnings.push('the cursor is nullable: rows with a NULL cursor are re-read on every run')
  }
  warnings.push(...cursorRisks(cursorCols))
  const temporal = cursorCols[0] && /^(date|datetime|timestamp|time)$/.test(cursorCols[0].dataType)
  if (temporal && !env.lateCommitCap) {
    warnings.push(
      'late-commit cap unavailable: information_schema.INNODB_TRX is not readable (needs the PROCESS privilege); ' +
        'late commits are covered only by lag',
    )
  }
  return warnings
}

/**
 * Which columns the target gets under another collation or type than the source's (cross-flavor copies):
 * `plan` lists them, and `sync` when it creates the table.
 */
export function crossFlavorWarnings(source: TableDef, flavor: Flavor | undefined): string[] {
  if (!flavor) return []
  const warnings: string[] = []
  const mapped = (what: string, collation: string | null) => {
    const choice = collation ? flavor.collationFor(collation) : null
    if (!choice?.mapped) return
    warnings.push(`${what}: ${choice.note}${choice.name === null ? '; creating it on the target fails' : ''}`)
  }
  mapped('table default', source.collation)
  for (const c of source.columns) {
    mapped(`column ${c.name}`, c.collation)
    if (c.dataType === 'json' && flavor.kind === 'mariadb') {
      warnings.push(
        `column ${c.name}: MySQL JSON becomes MariaDB JSON (LONGTEXT with json_valid); the text is MySQL's normalized form`,
      )
    }
  }
  return warnings
}

function changeCount(changes: string[]): string {
  return changes.length === 1 ? '1 schema change' : `${changes.length} schema changes`
}

function pendingText(p: PendingRows): string {
  const n = p.rows.toLocaleString('en-US')
  return p.estimated ? `~${n} rows (estimated)` : `${p.rows === 1 ? '1 row' : `${n} rows`} (counted)`
}

/** What `sync --repair` does to a table (plan --repair). */
export interface RepairPlan {
  table: string
  /** chunks: compared chunk by chunk, differing rows re-copied; refresh: the run's full refresh rebuilds it. */
  method: 'chunks' | 'refresh'
  summary: string
}

/** The repair each planned table would get; pure, like planTables. */
export function planRepair(plans: readonly TablePlan[]): RepairPlan[] {
  return plans.map((p) =>
    p.strategy === 'full_refresh' || p.action === 'full_reload'
      ? { table: p.table, method: 'refresh', summary: 'full refresh: the run rebuilds the whole table' }
      : {
          table: p.table,
          method: 'chunks',
          summary:
            'compare chunk by chunk after the sync and re-copy the rows that differ; rows changed after ' +
            `the saved position are left to the next sync${p.deletes ? '' : '; extra target rows are kept (deletes: ignore)'}`,
        },
  )
}
