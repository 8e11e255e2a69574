import type { ColumnType, Kysely } from 'kysely'
import type { Catalog } from '../db/tables.js'

/*
 * dbsync's own tables on the target, typed for Kysely (their DDL is beside each: sync-state.ts,
 * sync-runs.ts, claims.ts, verify-state.ts,
 * ranges.ts). DATETIME(6) and BIGINT come back as strings (db/connect.ts) and are written as
 * `UTC_TIMESTAMP(6)` or bound parameters, never through a JS Date or number that could round them.
 */

/** Written by the server's clock only: `sql<string>\`UTC_TIMESTAMP(6)\`` or the column itself. */
type Stamp = ColumnType<string, string, string>
type NullableStamp = ColumnType<string | null, string | null | undefined, string | null>

export type SyncStateTable = {
  pipeline: string
  table_name: string
  strategy: string
  phase: ColumnType<string, string | undefined, string>
  cursor_columns: string | null
  last_cursor: ColumnType<string | null, string | null | undefined, string | null>
  last_key: ColumnType<string | null, string | null | undefined, string | null>
  last_load_id: ColumnType<string | null, string | null | undefined, string | null>
  /** BIGINT UNSIGNED: a string when read; added to by `rows_synced + ?`. */
  rows_synced: ColumnType<string | number, number | undefined, number>
  status: string
  error: string | null
  started_at: NullableStamp
  updated_at: Stamp
  finished_at: NullableStamp
  recopy_after: ColumnType<string | null, string | null | undefined, string | null>
}

export type SyncRunsTable = {
  load_id: string
  pipeline: string
  started_at: Stamp
  finished_at: NullableStamp
  status: string
  tables_json: ColumnType<string | null, string | null | undefined, string | null>
  schema_changes_json: ColumnType<string | null, string | null | undefined, string | null>
  error: ColumnType<string | null, string | null | undefined, string | null>
}

export type SyncClaimsTable = {
  pipeline: string
  table_name: string
  instance: string
  load_id: string
  claimed_at: Stamp
}

export type SyncVerifyTable = {
  pipeline: string
  table_name: string
  next_key: string | null
  pass_started_at: string | null
  last_full_at: string | null
  chunks_equal: ColumnType<string | number, number, number>
  chunks_repaired: ColumnType<string | number, number, number>
  chunks_pending: ColumnType<string | number, number, number>
  chunks_differing: ColumnType<string | number, number, number>
  rows_repaired: ColumnType<string | number, number, number>
  updated_at: Stamp
}

export type SyncRangesTable = {
  pipeline: string
  table_name: string
  range_no: string | number
  plan_id: string
  kind: string
  lo_key: string | null
  hi_key: string | null
  last_cursor: string | null
  last_key: string | null
  status: string
  rows_loaded: ColumnType<string | number, number | undefined, number>
  loaded_by: ColumnType<string | null, string | null | undefined, string | null>
  updated_at: Stamp
}

export type StateTables = {
  _sync_state: SyncStateTable
  _sync_runs: SyncRunsTable
  _sync_claims: SyncClaimsTable
  _sync_verify: SyncVerifyTable
  _sync_ranges: SyncRangesTable
}

/** The target's Kysely, with dbsync's own tables typed. */
export type StateDb = Kysely<Catalog & StateTables>

/** Type `db` with the state tables (no query is made: Kysely's withTables only widens the type). */
export function stateDb(db: Kysely<Catalog>): StateDb {
  return db.withTables<StateTables>()
}
