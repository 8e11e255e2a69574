import type { TableConfig } from '../config/types.js'
import { assertNever, SyncError } from '../errors.js'
import type { SchemaChange } from '../schema/diff.js'
import { column, type TableDef } from '../schema/table-def.js'
import { fullRefreshHint, type Refusal } from './table-plan.js'

/**
 * Why an incremental sync of this table cannot run: the one place these rules live. `plan` prints the
 * first as the table's action, `validate` lists them as issues, `sync` fails the table with the first.
 */
export function tableRefusals(
  config: TableConfig,
  source: TableDef,
  changes: readonly SchemaChange[],
): Refusal[] {
  if (config.strategy !== 'incremental') return []
  const refusals: Refusal[] = []
  if (config.cursor.length === 0) refusals.push({ reason: 'no-cursor' })
  for (const c of config.cursor) {
    if (column(source, c) === undefined) refusals.push({ reason: 'missing-cursor', column: c })
  }
  if ((config.primaryKey ?? source.primaryKey).length === 0) refusals.push({ reason: 'no-key' })
  const bad = changes.filter(
    (c): c is Extract<SchemaChange, { kind: 'incompatible' }> => c.kind === 'incompatible',
  )
  if (bad.length) refusals.push({ reason: 'incompatible', changes: bad })
  return refusals
}

/** A refusal that needs no schema comparison: what `validate` can find from the source alone. */
export type SourceRefusal = Exclude<Refusal, { reason: 'incompatible' }>

/**
 * The words of such a refusal, without the table's name in front: `plan` states them as the table's
 * action, `validate` as its issue, `sync` as the table's error.
 */
export function refusalWords(table: string, r: SourceRefusal): { message: string; hint?: string } {
  switch (r.reason) {
    case 'no-cursor':
      return {
        message: 'incremental sync needs a cursor column, and none is set',
        hint: `set cursor: for ${table} (or under defaults:), or use strategy: full_refresh`,
      }
    case 'missing-cursor':
      return { message: `cursor column "${r.column}" does not exist in the source` }
    case 'no-key':
      return {
        message: 'incremental sync needs a primary key, and the source table has none',
        hint: `set primary_key for ${table} in the pipeline file (a unique, non-NULL column list), or use strategy: full_refresh`,
      }
    default:
      return assertNever(r)
  }
}

/** A refusal as `plan` states the table's action. */
export function refusalSummary(table: string, r: Refusal): string {
  if (r.reason === 'incompatible') {
    const bad = r.changes[0]!
    return (
      `fails: column ${bad.column} changed from ${bad.targetType} to ${bad.sourceType} (${bad.reason}); ` +
      fullRefreshHint(table)
    )
  }
  const { message, hint } = refusalWords(table, r)
  return `fails: ${message}${hint ? `; ${hint}` : ''}`
}

/** A refusal as the error `sync` fails the table with (its message and the way out). */
export function refusalError(table: string, r: Refusal): SyncError {
  if (r.reason !== 'incompatible') {
    const { message, hint } = refusalWords(table, r)
    return new SyncError(`table ${table}: ${message}`, hint)
  }
  const first = r.changes[0]!
  const n = r.changes.length
  const more = n > 1 ? ` (and ${n - 1} more incompatible change${n > 2 ? 's' : ''})` : ''
  // The way out is the hint alone: a failed table's error is `message; hint` (run.ts describeError), so
  // repeating it in the message printed it twice.
  return new SyncError(
    `table ${table}: column ${first.column} changed from ${first.targetType} (target) to ${first.sourceType} ` +
      `(source): ${first.reason}${more}`,
    `to rebuild the table, ${fullRefreshHint(table)}`,
  )
}
