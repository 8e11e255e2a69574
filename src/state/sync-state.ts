import { type Kysely, type Selectable, sql } from 'kysely'
import type { Strategy } from '../config/types.js'
import type { Db } from '../db/connect.js'
import type { Catalog } from '../db/tables.js'
import { type SyncStateTable, stateDb } from './tables.js'

export const STATE_TABLE = '_sync_state' as const

/**
 * One row per pipeline and table. `last_cursor` / `last_key` are the keyset position of the last row
 * committed: the next run reads rows after (last_cursor, last_key). A NULL `last_key` with a cursor means
 * "rows at last_cursor itself are re-read" (after a full refresh, where rows were not read in cursor order).
 * `phase` is 'initial' while a first load copies the table in primary-key order: `last_key` is then the
 * key position and `last_cursor` the cursor bound fixed when that load began (see incremental.ts).
 * `recopy_after` is set while existing rows must be copied again by key (a column the target cannot fill
 * by itself was added, see recopy.ts): the key position reached, `[]` for "from the start"; NULL: none.
 */
export const STATE_DDL = `CREATE TABLE IF NOT EXISTS \`${STATE_TABLE}\` (
  pipeline VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  strategy VARCHAR(16) NOT NULL,
  phase VARCHAR(16) NOT NULL DEFAULT 'incremental',
  cursor_columns TEXT NULL,
  last_cursor VARCHAR(64) NULL,
  last_key TEXT NULL,
  last_load_id VARCHAR(64) NULL,
  rows_synced BIGINT UNSIGNED NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL,
  error TEXT NULL,
  started_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  recopy_after TEXT NULL,
  PRIMARY KEY (pipeline, table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

export type TableStatus = 'running' | 'ok' | 'failed' | 'interrupted'
export type Phase = 'initial' | 'incremental'

export interface SyncState {
  pipeline: string
  table: string
  strategy: Strategy
  phase: Phase
  cursorColumns: string[]
  lastCursor: string | null
  /** Primary-key values of the last row, as raw bytes (null: none saved). */
  lastKey: Buffer[] | null
  lastLoadId: string | null
  rowsSynced: bigint
  status: TableStatus
  error: string | null
  updatedAt: string
  /** Key position of a pending re-copy of existing rows ([] = from the start); null when none. */
  recopyAfter: Buffer[] | null
}

/** Create `_sync_state` on first use, and add the columns later versions need to an older one. */
export async function ensureStateTable(target: Db): Promise<void> {
  await sql.raw(STATE_DDL).execute(target.kysely)
  const has = await target.kysely
    .selectFrom('information_schema.COLUMNS')
    .select(sql<number>`1`.as('one'))
    .where('TABLE_SCHEMA', '=', sql<string>`DATABASE()`)
    .where('TABLE_NAME', '=', STATE_TABLE)
    .where('COLUMN_NAME', '=', 'recopy_after')
    .executeTakeFirst()
  if (!has)
    await sql`ALTER TABLE ${sql.table(STATE_TABLE)} ADD COLUMN recopy_after TEXT NULL`.execute(target.kysely)
}

/**
 * Read the state rows of a pipeline (or of one of its tables). Returns an empty map when the table does not exist yet, without
 * creating it (`plan` must write nothing).
 */
export async function readState(
  target: Db,
  pipeline: string,
  table?: string,
): Promise<Map<string, SyncState>> {
  const out = new Map<string, SyncState>()
  let rows: Array<Selectable<SyncStateTable>>
  try {
    let q = stateDb(target.kysely).selectFrom(STATE_TABLE).selectAll().where('pipeline', '=', pipeline)
    if (table !== undefined) q = q.where('table_name', '=', table)
    rows = await q.execute()
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return out
    throw err
  }
  for (const r of rows) {
    out.set(r.table_name, {
      pipeline: r.pipeline,
      table: r.table_name,
      strategy: r.strategy as Strategy,
      phase: r.phase === 'initial' ? 'initial' : 'incremental',
      cursorColumns: r.cursor_columns ? (JSON.parse(r.cursor_columns) as string[]) : [],
      lastCursor: r.last_cursor,
      lastKey: r.last_key ? decodeKey(r.last_key) : null,
      lastLoadId: r.last_load_id,
      rowsSynced: BigInt(r.rows_synced),
      status: r.status as TableStatus,
      error: r.error,
      updatedAt: r.updated_at,
      recopyAfter: r.recopy_after ? decodeKey(r.recopy_after) : null,
    })
  }
  return out
}

/** What a writer records with each batch (and at the end of a table). */
export interface StateUpdate {
  pipeline: string
  table: string
  strategy: Strategy
  /** Default 'incremental'; 'full_refresh' (stored for display, read back as 'incremental') for full_refresh tables. */
  phase?: Phase | 'full_refresh'
  cursorColumns: string[]
  lastCursor: string | null
  lastKey: Buffer[] | null
  loadId: string
  /** Added to rows_synced. */
  rowsDelta: number
  status: TableStatus
  error: string | null
  startedAt?: boolean
  finished?: boolean
  /** Set or clear the pending re-copy position ([] = from the start, null = none); absent: unchanged. */
  recopyAfter?: Buffer[] | null
}

/**
 * The upsert of a state row, to run inside the batch's transaction so the state never runs ahead of, or
 * behind, the rows it describes.
 */
export function stateQuery(db: Kysely<Catalog>, u: StateUpdate) {
  const now = sql<string>`UTC_TIMESTAMP(6)`
  const values = {
    pipeline: u.pipeline,
    table_name: u.table,
    strategy: u.strategy,
    phase: u.phase ?? 'incremental',
    cursor_columns: JSON.stringify(u.cursorColumns),
    last_cursor: u.lastCursor,
    last_key: u.lastKey ? encodeKey(u.lastKey) : null,
    last_load_id: u.loadId,
    rows_synced: u.rowsDelta,
    status: u.status,
    error: u.error,
    // A new row is written during its table's first run: that run started it.
    started_at: now,
    updated_at: now,
    finished_at: u.finished ? now : null,
    ...(u.recopyAfter === undefined ? {} : { recopy_after: u.recopyAfter ? encodeKey(u.recopyAfter) : null }),
  }
  return stateDb(db)
    .insertInto(STATE_TABLE)
    .values(values)
    .onDuplicateKeyUpdate({
      strategy: u.strategy,
      phase: values.phase,
      cursor_columns: values.cursor_columns,
      last_cursor: u.lastCursor,
      last_key: values.last_key,
      last_load_id: u.loadId,
      rows_synced: sql<number>`${sql.ref('rows_synced')} + ${u.rowsDelta}`,
      status: u.status,
      error: u.error,
      started_at: u.startedAt ? now : sql.ref('started_at'),
      updated_at: now,
      finished_at: u.finished ? now : sql.ref('finished_at'),
      ...(u.recopyAfter === undefined ? {} : { recopy_after: values.recopy_after }),
    })
}

/** Keys are stored readable where they can be: a UTF-8 value as a JSON string, other bytes as {"hex": ...}. */
export function encodeKey(key: Buffer[]): string {
  return JSON.stringify(key.map((b) => (isReadableUtf8(b) ? b.toString('utf8') : { hex: b.toString('hex') })))
}

export function decodeKey(text: string): Buffer[] {
  const parts = JSON.parse(text) as Array<string | { hex: string }>
  return parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.hex, 'hex')))
}

function isReadableUtf8(b: Buffer): boolean {
  const s = b.toString('utf8')
  return Buffer.from(s, 'utf8').equals(b) && !/[\u0000-\u001f]/.test(s)
}

/** Record how a table's part of a run ended, without moving its position. */
export async function recordTableEnd(
  target: Db,
  e: {
    pipeline: string
    table: string
    strategy: Strategy
    cursorColumns: string[]
    loadId: string
    status: TableStatus
    error: string | null
  },
): Promise<void> {
  const now = sql<string>`UTC_TIMESTAMP(6)`
  await stateDb(target.kysely)
    .insertInto(STATE_TABLE)
    .values({
      pipeline: e.pipeline,
      table_name: e.table,
      strategy: e.strategy,
      cursor_columns: JSON.stringify(e.cursorColumns),
      status: e.status,
      error: e.error,
      updated_at: now,
      finished_at: now,
    })
    .onDuplicateKeyUpdate({ status: e.status, error: e.error, updated_at: now, finished_at: now })
    .execute()
}

/** A table's run begins: `started_at` says when (the row itself is written with the first rows). */
export async function recordTableStart(target: Db, pipeline: string, table: string): Promise<void> {
  await stateDb(target.kysely)
    .updateTable(STATE_TABLE)
    .set({ started_at: sql<string>`UTC_TIMESTAMP(6)` })
    .where('pipeline', '=', pipeline)
    .where('table_name', '=', table)
    .execute()
}

/**
 * Other pipelines' state rows for these table names, per table: two pipelines writing the same target
 * tables overwrite each other's rows (a second source, or a renamed pipeline). Empty without the table.
 */
export async function otherPipelines(
  target: Db,
  pipeline: string,
  tables: readonly string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  if (tables.length === 0) return out
  let rows: Array<{ pipeline: string; table_name: string }>
  try {
    rows = await stateDb(target.kysely)
      .selectFrom(STATE_TABLE)
      .select(['pipeline', 'table_name'])
      .where('pipeline', '<>', pipeline)
      .where('table_name', 'in', [...tables])
      .execute()
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return out
    throw err
  }
  for (const r of rows) out.set(r.table_name, [...(out.get(r.table_name) ?? []), r.pipeline])
  return out
}
