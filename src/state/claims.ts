import { hostname } from 'node:os'
import { sql } from 'kysely'
import type { Db } from '../db/connect.js'
import { STATE_TABLE } from './sync-state.js'
import { stateDb } from './tables.js'

export const CLAIMS_TABLE = '_sync_claims' as const

/**
 * Who took each table's work claim last (`workers: shared`). The claim itself is a GET_LOCK; this row only
 * names its holder for `status` and /status, and is believed only while the lock is in use.
 */
export const CLAIMS_DDL = `CREATE TABLE IF NOT EXISTS \`${CLAIMS_TABLE}\` (
  pipeline VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  instance VARCHAR(255) NOT NULL,
  load_id VARCHAR(64) NOT NULL,
  claimed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (pipeline, table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

/**
 * This process's name among the instances of a pipeline: DBSYNC_INSTANCE, else host name and pid (a
 * Kubernetes pod's host name is the pod's name).
 */
export function instanceName(): string {
  return process.env.DBSYNC_INSTANCE?.trim() || `${hostname()}:${process.pid}`
}

export async function ensureClaimsTable(target: Db): Promise<void> {
  await sql.raw(CLAIMS_DDL).execute(target.kysely)
}

export async function recordClaim(
  target: Db,
  c: { pipeline: string; table: string; instance: string; loadId: string },
): Promise<void> {
  await stateDb(target.kysely)
    .insertInto(CLAIMS_TABLE)
    .values({
      pipeline: c.pipeline,
      table_name: c.table,
      instance: c.instance,
      load_id: c.loadId,
      claimed_at: sql<string>`UTC_TIMESTAMP(6)`,
    })
    .onDuplicateKeyUpdate({
      instance: c.instance,
      load_id: c.loadId,
      claimed_at: sql<string>`UTC_TIMESTAMP(6)`,
    })
    .execute()
}

/** The instance recorded as the claim's holder (the caller knows the lock is in use), or null. */
export async function claimHolder(target: Db, pipeline: string, table: string): Promise<string | null> {
  try {
    const row = await stateDb(target.kysely)
      .selectFrom(CLAIMS_TABLE)
      .select('instance')
      .where('pipeline', '=', pipeline)
      .where('table_name', '=', table)
      .executeTakeFirst()
    return row?.instance ?? null
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return null
    throw err
  }
}

/**
 * Whether the table's last run ended ok at or after `since` (the target's clock): another instance synced
 * it during this run, so this run leaves it alone (once per tick, not once per instance).
 */
export async function syncedSince(
  target: Db,
  pipeline: string,
  table: string,
  since: string,
): Promise<boolean> {
  const row = await stateDb(target.kysely)
    .selectFrom(STATE_TABLE)
    .select(sql<number>`1`.as('done'))
    .where('pipeline', '=', pipeline)
    .where('table_name', '=', table)
    .where('status', '=', 'ok')
    .where('finished_at', '>=', since)
    .executeTakeFirst()
  return row !== undefined
}

/** The target's UTC clock, as DATETIME(6) text. */
export async function targetNow(target: Db): Promise<string> {
  const { rows } = await sql<{ now: string }>`SELECT CAST(UTC_TIMESTAMP(6) AS CHAR) AS now`.execute(
    target.kysely,
  )
  return String(rows[0]!.now)
}
