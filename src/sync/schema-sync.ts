import { sql } from 'kysely'
import type { Db } from '../db/connect.js'
import { quoteId } from '../db/quote.js'
import { errorMessage, SyncError } from '../errors.js'
import type { TablePlan } from '../plan/table-plan.js'
import { describeChange } from '../schema/diff.js'
import { recopiedColumns } from '../schema/diff-definition.js'
import { introspect } from '../schema/introspect.js'
import type { TableJob } from './job.js'
import { markRecopy } from './recopy.js'
import { isTransient } from './retry.js'

/**
 * Apply the schema changes the table's plan holds before rows are written: new columns added, widened
 * types widened, dropped NOT NULL columns made nullable, nothing dropped (the planner decided them, and
 * refused incompatible ones). Returns a description of each change applied. Afterwards `job.targetDef` is
 * the target as it now is, so the columns written as NULL are right.
 */
export async function applySchemaChanges(
  job: TableJob,
  plan: Pick<TablePlan, 'changes' | 'ddl'>,
): Promise<string[]> {
  const statements = plan.ddl.before
  if (!job.targetDef || statements.length === 0) return []
  const recopied = recopiedColumns(plan.changes)
  // Saved before the ALTER: a crash between the two must still re-copy the rows the target filled itself.
  if (recopied.length) await markRecopy(job)
  for (const text of statements) await executeDdl(job.target, job.config.name, text)
  const fresh = await introspect(job.target, [job.config.name])
  job.targetDef = fresh.get(job.config.name) ?? job.targetDef
  const described = plan.changes.map(describeChange)
  if (recopied.length && job.state) described.push(`re-copy existing rows for ${recopied.join(', ')}`)
  return described
}

/**
 * Run one DDL statement on the target. A refusal fails the table with the server's reason and the
 * statement itself, so the user sees what was tried; a lost connection stays as it is (retried).
 */
export async function executeDdl(target: Db, table: string, text: string): Promise<void> {
  try {
    await sql.raw(text).execute(target.kysely)
  } catch (err) {
    const e = err as { code?: string; sqlMessage?: string }
    if (!e?.sqlMessage || isTransient(err)) throw err
    throw new SyncError(
      `table ${table}: the target refused its definition: ${errorMessage(err)} (${e.code}); the statement was: ${text.replace(/\s*\n\s*/g, ' ')}`,
      'see the server error; a definition the target cannot hold needs a change in the source or the pipeline',
      { cause: err },
    )
  }
}

/**
 * Carry the source's AUTO_INCREMENT counter forward (never lowered: the server keeps it above the largest
 * id anyway), so a target promoted to primary does not hand out ids the source already used.
 */
export async function carryAutoIncrement(job: TableJob): Promise<void> {
  const wanted = job.sourceDef.autoIncrement
  if (!wanted) return
  const [rows] = await job.target.pool.query(
    'SELECT AUTO_INCREMENT AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [job.config.name],
  )
  const current = (rows as Array<{ n: string | number | null }>)[0]?.n
  if (current !== null && current !== undefined && BigInt(current) >= BigInt(wanted)) return
  await executeDdl(
    job.target,
    job.config.name,
    `ALTER TABLE ${quoteId(job.config.name)} AUTO_INCREMENT = ${BigInt(wanted)}`,
  )
}
