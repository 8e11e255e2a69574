import { sql } from 'kysely'
import type { Db } from '../db/connect.js'
import { stateDb } from './tables.js'

export const RUNS_TABLE = '_sync_runs' as const

export const RUNS_DDL = `CREATE TABLE IF NOT EXISTS \`${RUNS_TABLE}\` (
  load_id VARCHAR(64) NOT NULL,
  pipeline VARCHAR(64) NOT NULL,
  started_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  status VARCHAR(16) NOT NULL,
  tables_json LONGTEXT NULL,
  schema_changes_json LONGTEXT NULL,
  error TEXT NULL,
  PRIMARY KEY (load_id),
  KEY pipeline_started (pipeline, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted'

/** Create `_sync_runs` on first use. */
export async function ensureRunsTable(target: Db): Promise<void> {
  await sql.raw(RUNS_DDL).execute(target.kysely)
}

export async function recordRunStart(target: Db, loadId: string, pipeline: string): Promise<void> {
  await stateDb(target.kysely)
    .insertInto(RUNS_TABLE)
    .values({ load_id: loadId, pipeline, started_at: sql<string>`UTC_TIMESTAMP(6)`, status: 'running' })
    .execute()
}

export interface RunEnd {
  status: RunStatus
  /** Per table: rows and status; stored as JSON. */
  tables: Record<string, unknown>
  schemaChanges: Record<string, string[]>
  error: string | null
}

export async function recordRunEnd(target: Db, loadId: string, end: RunEnd): Promise<void> {
  await stateDb(target.kysely)
    .updateTable(RUNS_TABLE)
    .set({
      finished_at: sql<string>`UTC_TIMESTAMP(6)`,
      status: end.status,
      tables_json: JSON.stringify(end.tables),
      schema_changes_json: JSON.stringify(end.schemaChanges),
      error: end.error,
    })
    .where('load_id', '=', loadId)
    .execute()
}
