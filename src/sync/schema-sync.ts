import { sql } from 'kysely'
import { SyncError } from '../errors.js'
import { renderAlter } from '../schema/ddl.js'
import { describeChange, diffTable, type SchemaChange } from '../schema/diff.js'
import { introspect } from '../schema/introspect.js'
import type { TableJob } from './job.js'

/**
 * Bring the target table's definition up to the source's before rows are written: new columns added,
 * widened types widened, dropped NOT NULL columns made nullable, nothing dropped. Returns a description of
 * each change applied. An incompatible change throws: the caller fails this table and goes on.
 * Afterwards `job.targetDef` is the target as it now is, so the columns written as NULL are right.
 */
export async function applySchemaChanges(job: TableJob): Promise<string[]> {
  if (!job.targetDef) return []
  const changes = diffTable(job.sourceDef, job.targetDef)
  refuseIncompatible(job.config.name, changes)
  const statements = renderAlter(job.config.name, changes, job.target.flavor)
  if (statements.length === 0) return []
  for (const text of statements) await sql.raw(text).execute(job.target.kysely)
  const fresh = await introspect(job.target, [job.config.name])
  job.targetDef = fresh.get(job.config.name) ?? job.targetDef
  return changes.map(describeChange)
}

/** Throw for the first incompatible change, naming the column, both types and the way out. */
export function refuseIncompatible(table: string, changes: readonly SchemaChange[]): void {
  const bad = changes.filter((c) => c.kind === 'incompatible')
  const first = bad[0]
  if (!first) return
  const more =
    bad.length > 1 ? ` (and ${bad.length - 1} more incompatible change${bad.length > 2 ? 's' : ''})` : ''
  // The hint goes into the message too: a failed table's result keeps only the message.
  throw new SyncError(
    `table ${table}: column ${first.column} changed from ${first.targetType} (target) to ${first.sourceType} ` +
      `(source): ${first.reason}${more}; to rebuild the table, ${fullRefreshHint(table)}`,
    fullRefreshHint(table),
  )
}

/** The command that rebuilds a table from the source's definition. */
export function fullRefreshHint(table: string): string {
  return `run dbsync sync --full-refresh --tables ${table}`
}
