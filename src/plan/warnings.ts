import type { TableConfig } from '../config/types.js'
import type { Flavor } from '../db/flavor.js'
import { cursorFindings } from '../schema/cursor-risks.js'
import type { TableDef } from '../schema/table-def.js'
import { missedCursorWarning } from './init-pipeline.js'
import type { PlanEnvironment } from './table-plan.js'

/** What `plan` warns of for a table: keys, skipped indexes, cursors that read slowly or miss rows. */
export function tableWarnings(config: TableConfig, source: TableDef, env: PlanEnvironment): string[] {
  const warnings: string[] = []
  const key = config.primaryKey ?? source.primaryKey
  if (key.length === 0 && config.strategy === 'full_refresh') {
    warnings.push('no primary key: each load gives the rows new _dlt_id values')
  }
  for (const i of source.skippedIndexes)
    warnings.push(`index ${i} has functional key parts and is not copied`)
  const missed = missedCursorWarning(config, source)
  if (missed) warnings.push(missed)
  const first = config.cursor[0]
  if (config.strategy !== 'incremental' || first === undefined) return warnings
  const cursorCols = config.cursor.map((name) => source.columns.find((c) => c.name === name))
  // The same findings validate reports, in the same words (schema/cursor-risks.ts).
  warnings.push(...cursorFindings(config.cursor, source).map((f) => f.message))
  const temporal = cursorCols[0] && /^(date|datetime|timestamp|time)$/.test(cursorCols[0].dataType)
  if (temporal && !env.lateCommitCap) {
    warnings.push(
      'late-commit cap unavailable: information_schema.INNODB_TRX is not readable (needs the PROCESS privilege); ' +
        'late commits are covered only by lag',
    )
  }
  return warnings
}

/**
 * Which columns the target gets under another collation or type than the source's (cross-flavor copies):
 * `plan` lists them, and `sync` when it creates the table.
 */
export function crossFlavorWarnings(source: TableDef, flavor: Flavor | undefined): string[] {
  if (!flavor) return []
  const warnings: string[] = []
  const mapped = (what: string, collation: string | null) => {
    const choice = collation ? flavor.collationFor(collation) : null
    if (!choice?.mapped) return
    warnings.push(`${what}: ${choice.note}${choice.name === null ? '; creating it on the target fails' : ''}`)
  }
  mapped('table default', source.collation)
  for (const c of source.columns) {
    mapped(`column ${c.name}`, c.collation)
    if (c.dataType === 'json' && flavor.kind === 'mariadb') {
      warnings.push(
        `column ${c.name}: MySQL JSON becomes MariaDB JSON (LONGTEXT with json_valid); the text is MySQL's normalized form`,
      )
    }
  }
  return warnings
}
