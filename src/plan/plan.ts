import type { Pipeline, TableConfig } from '../config/types.js'
import { plural } from '../observe/text.js'
import { renderAlter } from '../schema/ddl.js'
import { describeChange, diffTable, keptColumns } from '../schema/diff.js'
import { recopiedColumns } from '../schema/diff-definition.js'
import { firstLoadDdl, refreshDdl } from '../schema/load-ddl.js'
import type { TableDef } from '../schema/table-def.js'
import type { SyncState } from '../state/sync-state.js'
import { type KeyRangeSplit, keyRangeSplit } from './range-split.js'
import { refusalSummary, tableRefusals } from './refusal.js'
import type { PendingRows, PlanEnvironment, TableDdl, TablePlan } from './table-plan.js'
import { crossFlavorWarnings, tableWarnings } from './warnings.js'

export type {
  FirstLoadPlan,
  FullRefreshPlan,
  IncrementalPlan,
  PendingRows,
  PlanAction,
  PlanEnvironment,
  Refusal,
  RefusedPlan,
  TableDdl,
  TablePlan,
} from './table-plan.js'
export { crossFlavorWarnings } from './warnings.js'

const NO_DDL: TableDdl = { before: [], afterLoad: [], swap: [] }

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
  env: PlanEnvironment,
): TablePlan[] {
  return tables.flatMap((config) => {
    const source = sourceDefs.get(config.name)
    const target = targetDefs.get(config.name)
    const state = states.get(config.name)
    return source ? [planTable(config, source, target, state, pending.get(config.name) ?? null, env)] : []
  })
}

/** One table's plan: what runs (its kind), the exact DDL, the warnings, or why the sync refuses it. */
export function planTable(
  config: TableConfig,
  source: TableDef,
  target: TableDef | undefined,
  state: SyncState | undefined,
  pending: PendingRows | null,
  env: PlanEnvironment,
): TablePlan {
  const flavor = env.targetFlavor
  const changes = target ? diffTable(source, target, flavor) : []
  const common = {
    table: config.name,
    strategy: config.strategy,
    cursor: config.cursor,
    lastCursor: state?.lastCursor ?? null,
    summary: '',
    schemaChanges: [] as string[],
    pending,
    deletes: config.deletes === 'detect',
    warnings: [...tableWarnings(config, source, env), ...crossFlavorWarnings(source, flavor)],
    changes,
    kept: target ? keptColumns(source, target) : [],
    targetExists: target !== undefined,
    keyRanges: null,
  }
  const rows = pending ? pendingText(pending) : 'rows not counted'
  if (env.fullRefresh || config.strategy === 'full_refresh') {
    // A full reload builds the table anew from the source's definition, so every difference is applied.
    const ddl = refreshDdl(config.name, source, target, target !== undefined, flavor)
    const schemaChanges = changes.map(describeChange)
    const rebuilt = schemaChanges.length ? `, with ${changeCount(schemaChanges)}` : ''
    const keyRanges = keyRangeSplit(config, source)
    const load = `${rows}${keyRanges ? ` ${inRanges(keyRanges)}` : ''}`
    return {
      ...common,
      kind: 'full-refresh',
      action: target ? 'full_reload' : 'create_table',
      summary: target ? `full reload of ${load}${rebuilt}` : `create table, then load ${load}`,
      keyRanges,
      schemaChanges: target ? schemaChanges : [],
      ddl: { before: ddl.prepare, afterLoad: ddl.afterLoad, swap: ddl.swap },
    }
  }
  const [refusal, ...more] = tableRefusals(config, source, changes)
  if (refusal) {
    const summary = refusalSummary(config.name, refusal)
    return {
      ...common,
      kind: 'refused',
      refusals: [refusal, ...more],
      action: 'fails',
      summary,
      pending: null,
      ddl: NO_DDL,
    }
  }
  if (!target) {
    const ddl = firstLoadDdl(source, flavor)
    const indexes = ddl.afterLoad()
    const keyRanges = keyRangeSplit(config, source)
    return {
      ...common,
      kind: 'first-load',
      action: 'create_table',
      // A split first load is built in the staging table and appears whole, as a full refresh does.
      summary: keyRanges
        ? `create table by loading ${rows} ${inRanges(keyRanges)}`
        : `create table, then load ${rows}`,
      keyRanges,
      ddl: { before: [ddl.create], afterLoad: indexes ? [indexes] : [], swap: [] },
    }
  }
  return existingTable(common, source, state, pending, rows, renderAlter(config.name, changes, flavor))
}

/** An incremental table the target has: its schema changes, then a first load (resumed) or the new rows. */
function existingTable(
  common: Omit<TablePlan, 'kind' | 'action' | 'ddl'>,
  source: TableDef,
  state: SyncState | undefined,
  pending: PendingRows | null,
  rows: string,
  alter: string[],
): TablePlan {
  const ddl = { before: alter, afterLoad: [], swap: [] }
  const schemaChanges = common.changes.map(describeChange)
  const what = pending ? (pending.rows > 0 ? `${pendingText(pending)} pending` : 'no rows pending') : rows
  const recopy = recopiedColumns(common.changes)
  if (state && (recopy.length || state.recopyAfter)) {
    // The target computes its own values for such a column: sync copies the existing rows again.
    const why = recopy.length ? `new column ${recopy.join(', ')} has a computed default` : 'unfinished'
    schemaChanges.push(
      `re-copy existing rows (~${source.estimatedRows.toLocaleString('en-US')}, estimated): ${why}`,
    )
  }
  const first = !state || state.phase === 'initial' || state.lastCursor === null
  const base = first
    ? { ...common, kind: 'first-load' as const, schemaChanges, ddl }
    : { ...common, kind: 'incremental' as const, recopy, schemaChanges, ddl }
  if (schemaChanges.length) {
    return { ...base, action: 'schema_changes', summary: `${changeCount(schemaChanges)}, then ${what}` }
  }
  if (state?.phase === 'initial')
    return { ...base, action: 'rows_pending', summary: `resume the first load: ${rows}` }
  if (pending && pending.rows === 0) return { ...base, action: 'up_to_date', summary: 'up to date' }
  return { ...base, action: 'rows_pending', summary: what }
}

/** A split load in words: the ranges, and that the table appears whole with one RENAME. */
function inRanges(split: KeyRangeSplit): string {
  const per = plural(split.rowsPerRange, 'row').replace(/^\d+/, split.rowsPerRange.toLocaleString('en-US'))
  return `in ~${split.ranges} key ranges of ${per}, into a staging table swapped in with RENAME`
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
    p.kind === 'full-refresh'
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
