import { type Selectable, sql } from 'kysely'
import type { Db } from '../db/connect.js'
import { type SyncVerifyTable, stateDb } from './tables.js'

export const VERIFY_TABLE = '_sync_verify' as const

/**
 * Where each table's scheduled verification stands (sync/verify.ts), so a pass resumes after a restart
 * instead of starting over, and a table verified an hour ago is not due again at once. `next_key`: the
 * source key the pass resumes after (a JSON array of hex values); NULL with `pass_started_at` set: at the
 * table's start. `pass_started_at` NULL: no pass under way. A table of its own, so `_sync_state` keeps its
 * shape and an older target only gains a table.
 */
export const VERIFY_DDL = `CREATE TABLE IF NOT EXISTS \`${VERIFY_TABLE}\` (
  pipeline VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  next_key TEXT NULL,
  pass_started_at DATETIME(6) NULL,
  last_full_at DATETIME(6) NULL,
  chunks_equal BIGINT UNSIGNED NOT NULL DEFAULT 0,
  chunks_repaired BIGINT UNSIGNED NOT NULL DEFAULT 0,
  chunks_pending BIGINT UNSIGNED NOT NULL DEFAULT 0,
  chunks_differing BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rows_repaired BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (pipeline, table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

/** One table's verification position; times in ms since the epoch. */
export interface VerifyPosition {
  next: Buffer[] | null
  passStarted: number | null
  lastFull: number | null
  chunks: { equal: number; repaired: number; pending: number; differing: number }
  rowsRepaired: number
}

export async function ensureVerifyTable(target: Db): Promise<void> {
  await sql.raw(VERIFY_DDL).execute(target.kysely)
}

/** The saved position of one table, or null when none is saved (or the table does not exist yet). */
export async function readVerifyPosition(
  target: Db,
  pipeline: string,
  table: string,
): Promise<VerifyPosition | null> {
  let row: Selectable<SyncVerifyTable> | undefined
  try {
    row = await stateDb(target.kysely)
      .selectFrom(VERIFY_TABLE)
      .selectAll()
      .where('pipeline', '=', pipeline)
      .where('table_name', '=', table)
      .executeTakeFirst()
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return null
    throw err
  }
  if (!row) return null
  return {
    next: row.next_key ? (JSON.parse(row.next_key) as string[]).map((h) => Buffer.from(h, 'hex')) : null,
    passStarted: fromDatetime(row.pass_started_at),
    lastFull: fromDatetime(row.last_full_at),
    chunks: {
      equal: Number(row.chunks_equal),
      repaired: Number(row.chunks_repaired),
      pending: Number(row.chunks_pending),
      differing: Number(row.chunks_differing),
    },
    rowsRepaired: Number(row.rows_repaired),
  }
}

/** Save one table's position (after every chunk: a restart loses at most the chunk under way). */
export async function saveVerifyPosition(
  target: Db,
  pipeline: string,
  table: string,
  p: VerifyPosition,
): Promise<void> {
  const values = {
    next_key: p.next ? JSON.stringify(p.next.map((b) => b.toString('hex'))) : null,
    pass_started_at: toDatetime(p.passStarted),
    last_full_at: toDatetime(p.lastFull),
    chunks_equal: p.chunks.equal,
    chunks_repaired: p.chunks.repaired,
    chunks_pending: p.chunks.pending,
    chunks_differing: p.chunks.differing,
    rows_repaired: p.rowsRepaired,
    updated_at: sql<string>`UTC_TIMESTAMP(6)`,
  }
  await stateDb(target.kysely)
    .insertInto(VERIFY_TABLE)
    .values({ pipeline, table_name: table, ...values })
    .onDuplicateKeyUpdate(values)
    .execute()
}

// DATETIME(6) in UTC sessions, read with dateStrings: '2026-01-02 03:04:05.678000'.
function toDatetime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

function fromDatetime(value: string | null): number | null {
  return value === null ? null : Date.parse(`${value.replace(' ', 'T').slice(0, 23)}Z`)
}
