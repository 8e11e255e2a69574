import { type Selectable, sql } from 'kysely'
import type { Db } from '../db/connect.js'
import { decodeKey, encodeKey } from './sync-state.js'
import { type SyncRangesTable, stateDb } from './tables.js'

export const RANGES_TABLE = '_sync_ranges' as const
/** ER_NO_SUCH_TABLE, ER_TABLEACCESS_DENIED_ERROR. */
const NO_PLAN = new Set([1146, 1142])

/**
 * The key ranges of a whole-table load split across workers (sync/range-load.ts): one row per range. A
 * range holds the keys after `lo_key` (exclusive; NULL: from the first) up to `hi_key` (inclusive; NULL:
 * to the last). `status` turns 'done' once every row of the range is in the staging table, so a killed
 * worker's range (still 'pending') is loaded again by whoever takes it next. `kind`, `last_cursor` and
 * `last_key` are the plan's, repeated on each row: the position saved once the table is whole, fixed
 * before the first range was read. The rows go when the staging table is swapped in.
 */
export const RANGES_DDL = `CREATE TABLE IF NOT EXISTS \`${RANGES_TABLE}\` (
  pipeline VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  range_no INT UNSIGNED NOT NULL,
  plan_id VARCHAR(64) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  lo_key TEXT NULL,
  hi_key TEXT NULL,
  last_cursor VARCHAR(64) NULL,
  last_key TEXT NULL,
  status VARCHAR(16) NOT NULL,
  rows_loaded BIGINT UNSIGNED NOT NULL DEFAULT 0,
  loaded_by VARCHAR(255) NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (pipeline, table_name, range_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

/** What a range load rebuilds: a table's first load, or a full refresh. */
export type RangeKind = 'first_load' | 'full_refresh'

export interface KeyRange {
  no: number
  /** Keys after this one (null: from the first key). */
  lo: Buffer[] | null
  /** Keys up to and including this one (null: to the last key). */
  hi: Buffer[] | null
  done: boolean
}

export interface RangePlan {
  pipeline: string
  table: string
  /** The load id of the run that planned it. */
  planId: string
  kind: RangeKind
  /** The position the table's state takes once it is whole. */
  lastCursor: string | null
  lastKey: Buffer[] | null
  ranges: KeyRange[]
}

export async function ensureRangesTable(target: Db): Promise<void> {
  await sql.raw(RANGES_DDL).execute(target.kysely)
}

/**
 * The table's range plan, or null when none is under way (also when _sync_ranges does not exist: it is
 * created only by the first whole-table load that splits, so pipelines of small tables never see it).
 */
export async function readRangePlan(target: Db, pipeline: string, table: string): Promise<RangePlan | null> {
  let rows: Array<Selectable<SyncRangesTable>>
  try {
    rows = await stateDb(target.kysely)
      .selectFrom(RANGES_TABLE)
      .selectAll()
      .where('pipeline', '=', pipeline)
      .where('table_name', '=', table)
      .orderBy('range_no')
      .execute()
  } catch (err) {
    // Missing, or out of reach of an account granted only the tables it syncs: no plan is under way.
    if (NO_PLAN.has((err as { errno?: number }).errno ?? 0)) return null
    throw err
  }
  const first = rows[0]
  if (!first) return null
  return {
    pipeline,
    table,
    planId: first.plan_id,
    kind: first.kind as RangeKind,
    lastCursor: first.last_cursor,
    lastKey: first.last_key ? decodeKey(first.last_key) : null,
    ranges: rows.map((r) => ({
      no: Number(r.range_no),
      lo: r.lo_key ? decodeKey(r.lo_key) : null,
      hi: r.hi_key ? decodeKey(r.hi_key) : null,
      done: r.status === 'done',
    })),
  }
}

/**
 * The tables of the pipeline with a range plan under way, read once for a run; null when the answer is
 * not known (the caller then asks per table).
 */
export async function tablesWithRangePlans(target: Db, pipeline: string): Promise<Set<string> | null> {
  try {
    const rows = await stateDb(target.kysely)
      .selectFrom(RANGES_TABLE)
      .select('table_name')
      .distinct()
      .where('pipeline', '=', pipeline)
      .execute()
    return new Set(rows.map((r) => r.table_name))
  } catch (err) {
    return NO_PLAN.has((err as { errno?: number }).errno ?? 0) ? new Set() : null
  }
}

/** Record a new plan, replacing any older one of the table, in one transaction. */
export async function writeRangePlan(target: Db, plan: RangePlan): Promise<void> {
  await stateDb(target.kysely)
    .transaction()
    .execute(async (trx) => {
      await trx
        .deleteFrom(RANGES_TABLE)
        .where('pipeline', '=', plan.pipeline)
        .where('table_name', '=', plan.table)
        .execute()
      await trx
        .insertInto(RANGES_TABLE)
        .values(
          plan.ranges.map((r) => ({
            pipeline: plan.pipeline,
            table_name: plan.table,
            range_no: r.no,
            plan_id: plan.planId,
            kind: plan.kind,
            lo_key: r.lo ? encodeKey(r.lo) : null,
            hi_key: r.hi ? encodeKey(r.hi) : null,
            last_cursor: plan.lastCursor,
            last_key: plan.lastKey ? encodeKey(plan.lastKey) : null,
            status: 'pending',
            updated_at: sql<string>`UTC_TIMESTAMP(6)`,
          })),
        )
        .execute()
    })
}

/** Whether the range is still to be loaded under this plan (false once done, or once the plan is gone). */
export async function rangePending(target: Db, plan: RangePlan, no: number): Promise<boolean> {
  const row = await stateDb(target.kysely)
    .selectFrom(RANGES_TABLE)
    .select('status')
    .where('pipeline', '=', plan.pipeline)
    .where('table_name', '=', plan.table)
    .where('range_no', '=', no)
    .where('plan_id', '=', plan.planId)
    .executeTakeFirst()
  return row?.status === 'pending'
}

/** Mark a range loaded: every one of its rows is committed in the staging table. */
export async function markRangeDone(
  target: Db,
  plan: RangePlan,
  no: number,
  done: { rows: number; instance: string },
): Promise<void> {
  await stateDb(target.kysely)
    .updateTable(RANGES_TABLE)
    .set({
      status: 'done',
      rows_loaded: done.rows,
      loaded_by: done.instance,
      updated_at: sql<string>`UTC_TIMESTAMP(6)`,
    })
    .where('pipeline', '=', plan.pipeline)
    .where('table_name', '=', plan.table)
    .where('range_no', '=', no)
    .where('plan_id', '=', plan.planId)
    .execute()
}

/** Forget the table's plan: its load was swapped in, or abandoned along with its staging table. */
export async function dropRangePlan(target: Db, pipeline: string, table: string): Promise<void> {
  await stateDb(target.kysely)
    .deleteFrom(RANGES_TABLE)
    .where('pipeline', '=', pipeline)
    .where('table_name', '=', table)
    .execute()
}
