import type { TableConfig } from '../config/types.js'
import { type ColumnCodec, columnCodec } from '../db/codec.js'
import type { Db } from '../db/connect.js'
import { cursorTerm, type KeyTerm } from '../db/keyset.js'
import type { RunLock } from '../db/lock.js'
import { SyncError } from '../errors.js'
import {
  type ColumnDef,
  copiedColumns,
  LOAD_ID_COLUMN,
  ROW_ID_COLUMN,
  type TableDef,
} from '../schema/table-def.js'
import type { SyncState } from '../state/sync-state.js'
import { cursorIsCapped, type RunCap } from './cap.js'
import type { RepairResult } from './repair-result.js'

/** Everything one table's sync needs. */
export interface TableJob {
  pipeline: string
  config: TableConfig
  source: Db
  target: Db
  sourceDef: TableDef
  /** The target's current definition, if the table exists there. */
  targetDef: TableDef | undefined
  state: SyncState | undefined
  loadId: string
  /** Per-query timeout on the source, in ms. */
  queryTimeoutMs: number
  /** Called after each committed batch with the rows it held. */
  progress(rows: number): void
  /** Set when the run is asked to stop: finish the current batch, then return. */
  signal: AbortSignal
  /** The run lock: checked before each table attempt and before a full refresh's swap. */
  lock: Pick<RunLock, 'held'>
  /** The run's late-commit cap, read once for all tables (cap.ts). */
  cap: RunCap
  /** Measure the backlog the run leaves, for the lag metric (TableResult.lag). */
  measureLag?: boolean
  /** False when the run's one look at the target found no staging tables of this table's to clear. */
  staleStaging?: boolean
  /** False when the run's one look at `_sync_ranges` found no range plan of this table's under way. */
  rangePlan?: boolean
}

/** What one table's sync did. */
export interface TableResult {
  table: string
  strategy: TableConfig['strategy']
  /** `skipped`: `workers: shared`, and another instance holds the table or synced it during this run. */
  status: 'ok' | 'failed' | 'interrupted' | 'skipped'
  rowsRead: number
  inserted: number
  updated: number
  unchanged: number
  deleted: number
  seconds: number
  schemaChanges: string[]
  warnings: string[]
  error?: string
  /** A skipped table: the instance that holds its claim, when known (snake_case: it goes into --json). */
  held_by?: string | null
  /** `sync --repair`: what the comparison after the sync re-copied. */
  repair?: RepairResult
  /** The newest cursor value synced, for the lag metric. */
  lastCursor?: string | null
  /** Rows whose cursor is ahead of the source clock (re-read by key each run), and the furthest stamp. */
  aboveClock?: { rows: number; furthest: string | null }
  /** The run's cap for this table's cursor (floored, as a SQL literal); null when positions were held. */
  cap?: string | null
  /**
   * For the lag metric: epoch ms of the oldest change the run left for later (null: none; the table is
   * caught up), and of the run's cap in UTC (every change before it is copied). Temporal cursors only.
   */
  lag?: { oldestPendingMs: number | null; caughtUpToMs: number | null }
  /** The position was held for this run: the list of open transactions could not be shown fresh (cap.ts). */
  positionsHeld?: boolean
  /** Where the time went, in ms: waiting for source rows, encoding them, writing them, building indexes. */
  profile: TableProfile
}

export interface TableProfile {
  readWaitMs: number
  encodeMs: number
  writeMs: number
  indexMs: number
}

/** The shape of a table's rows as read and written: codecs, key positions, cursor. */
export interface RowShape {
  codecs: ColumnCodec[]
  keyCodecs: ColumnCodec[]
  keyIndexes: number[]
  /**
   * The cursor term, when the table has a cursor. `capped`: its columns hold instants (DATE, DATETIME,
   * TIMESTAMP), which the late-commit cap bounds (cap.ts); `columns` decide the cap's zone and precision.
   */
  cursor:
    | (KeyTerm & {
        dataType: string
        nullable: boolean
        temporal: boolean
        capped: boolean
        columns: ColumnDef[]
      })
    | null
}

/** Work out how rows are read and written for a table. */
export function rowShape(job: Pick<TableJob, 'config' | 'sourceDef' | 'target'>): RowShape {
  const { config, sourceDef } = job
  const flavor = job.target.flavor
  const cols = copiedColumns(sourceDef)
  // Column names compare case-insensitively on the server.
  const clash = sourceDef.columns.find((c) => [LOAD_ID_COLUMN, ROW_ID_COLUMN].includes(c.name.toLowerCase()))
  if (clash) {
    throw new SyncError(
      `table ${sourceDef.name}: source column "${clash.name}" has the name of a column dbsync adds to every target row`,
      `rename the column in the source, or leave the table out of the pipeline (a table entry with exclude: true)`,
    )
  }
  const codecs = cols.map((c) => columnCodec(c, flavor))
  const keyNames = config.primaryKey ?? sourceDef.primaryKey
  const keyIndexes = keyNames.map((k) => {
    const i = cols.findIndex((c) => c.name === k)
    if (i < 0) {
      throw new SyncError(
        `table ${sourceDef.name}: primary key column "${k}" is not a copied column of the source`,
      )
    }
    return i
  })
  const keyCodecs = keyIndexes.map((i) => codecs[i]!)
  let cursor: RowShape['cursor'] = null
  if (config.cursor.length > 0) {
    const cursorCols: ColumnDef[] = config.cursor.map((name) => {
      const c = sourceDef.columns.find((x) => x.name === name)
      if (!c)
        throw new SyncError(`table ${sourceDef.name}: cursor column "${name}" does not exist in the source`)
      return c
    })
    const { kind, ...term } = cursorTerm(cursorCols, flavor)
    cursor = {
      ...term,
      dataType: cursorCols[0]!.dataType,
      nullable: cursorCols.every((c) => c.nullable),
      temporal: kind === 'temporal',
      capped: cursorIsCapped(cursorCols),
      columns: cursorCols,
    }
  }
  return { codecs, keyCodecs, keyIndexes, cursor }
}

/** Columns the target has and the source no longer has: they receive NULL from now on. */
export function nullColumns(job: Pick<TableJob, 'sourceDef' | 'targetDef'>): string[] {
  if (!job.targetDef) return []
  const names = new Set(job.sourceDef.columns.map((c) => c.name))
  return job.targetDef.columns
    .filter((c) => !names.has(c.name) && c.generated === null && !c.name.startsWith('_dlt_'))
    .map((c) => c.name)
}
