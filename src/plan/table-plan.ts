import type { Strategy } from '../config/types.js'
import type { Flavor } from '../db/flavor.js'
import type { SchemaChange } from '../schema/diff.js'
import type { KeyRangeSplit } from './range-split.js'

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

/** Why the sync refuses a table; each command words it its own way (plan, validate, sync). */
export type Refusal =
  | { reason: 'no-cursor' }
  | { reason: 'missing-cursor'; column: string }
  | { reason: 'no-key' }
  | { reason: 'incompatible'; changes: Array<Extract<SchemaChange, { kind: 'incompatible' }>> }

/**
 * The DDL the sync runs for a table, in its order: `before` the rows (CREATE TABLE, ALTER TABLE, or a
 * refresh's staging table), `afterLoad` (indexes built once the rows are in), `swap` (a refresh's RENAME).
 */
export interface TableDdl {
  before: string[]
  afterLoad: string[]
  swap: string[]
}

/** What every plan says, whatever it runs. */
interface PlanCommon {
  table: string
  strategy: Strategy
  cursor: string[]
  /** The saved position: the newest cursor value already synced. */
  lastCursor: string | null
  action: PlanAction
  /** The action in words, with the counts; the schema changes themselves are in `schemaChanges`. */
  summary: string
  /** The schema changes the sync would apply, described (a full reload rebuilds from the source's definition). */
  schemaChanges: string[]
  /** Null when not known (the table would fail, or nothing was counted). */
  pending: PendingRows | null
  /** `deletes: detect`: target rows whose key left the source are removed. */
  deletes: boolean
  warnings: string[]
  /** The differences between the source's and the target's definitions (empty: no target table). */
  changes: SchemaChange[]
  /** Target columns the source dropped: kept, and written NULL from then on. */
  kept: string[]
  /** Whether the target has the table now. */
  targetExists: boolean
  /**
   * A whole-table load (a first load into a new table, or a full refresh) split into key ranges, loaded
   * into a staging table that RENAME swaps in (range-split.ts); null: one pass.
   */
  keyRanges: KeyRangeSplit | null
  ddl: TableDdl
}

/** An incremental table copied whole: created now (`ddl.before` is its CREATE TABLE) or resumed. */
export interface FirstLoadPlan extends PlanCommon {
  kind: 'first-load'
}

/** An incremental table read from its saved position, after its schema changes. */
export interface IncrementalPlan extends PlanCommon {
  kind: 'incremental'
  /** Columns whose existing rows are copied again (the target computed its own values for them). */
  recopy: string[]
}

/** A table rebuilt in a staging table and swapped in (strategy full_refresh, or sync --full-refresh). */
export interface FullRefreshPlan extends PlanCommon {
  kind: 'full-refresh'
}

/** A table the sync refuses, with every reason, most fundamental first; it runs no DDL. */
export interface RefusedPlan extends PlanCommon {
  kind: 'refused'
  refusals: [Refusal, ...Refusal[]]
}

/** What the next sync does to one table: `plan` and `diff-schema` render it, `sync` executes it. */
export type TablePlan = FirstLoadPlan | IncrementalPlan | FullRefreshPlan | RefusedPlan

/** Facts about the servers and the run the command found out (the pure planner asks no server). */
export interface PlanEnvironment {
  /** Whether information_schema.INNODB_TRX is readable on the source (the late-commit cap needs it). */
  lateCommitCap: boolean
  /** The target server's flavor: DDL is rendered for it, and collations it lacks are mapped. */
  targetFlavor: Flavor
  /** sync --full-refresh: every table is rebuilt, incremental ones too. */
  fullRefresh?: boolean
}

/** The command that rebuilds a table from the source's definition. */
export function fullRefreshHint(table: string): string {
  return `run dbsync sync --full-refresh --tables ${table}`
}
