import { createHash } from 'node:crypto'
import type { Flavor } from '../db/flavor.js'
import { quoteId } from '../db/quote.js'
import { renderAddIndexes, renderCreateTable } from './ddl.js'
import { keptColumn } from './diff.js'
import type { TableDef } from './table-def.js'

/*
 * The DDL of the two ways a table is loaded whole: a first load creates the table without its secondary
 * indexes and adds them once the rows are in; a full refresh builds a staging table and swaps it in.
 * sync/ executes these statements and `diff-schema --sql` prints them.
 */

/**
 * Up to this many rows (as the source estimates them), a first load creates the table with all its indexes:
 * maintaining them through a few thousand inserts costs far less than the ALTER TABLE that would add them
 * afterwards (about 50 ms of the server's time each, most of a small table's load). An estimate of 0 may
 * be stale statistics of a large table, so it defers as a large table does.
 */
export const INDEXES_AT_CREATE_ROWS = 10_000

/**
 * The DDL of an incremental table the target lacks (also what `diff-schema --sql` prints): the table
 * without its secondary and `_dlt_id` indexes (`deferred`), which the first load adds once its rows are
 * in, given the index names the table already has; a small table is created with them.
 */
export function firstLoadDdl(def: TableDef, flavor: Flavor) {
  const deferred = !(def.estimatedRows > 0 && def.estimatedRows <= INDEXES_AT_CREATE_ROWS)
  return {
    create: renderCreateTable(def, flavor, def.name, { deferIndexes: deferred }),
    deferred,
    // Without `existing`: what the table as created lacks. With it (a table found in the target, which an
    // earlier run may have created either way): what it lacks.
    afterLoad: (existing?: ReadonlySet<string>) =>
      existing || deferred ? renderAddIndexes(def, def.name, existing) : null,
  }
}

/** How the names of staging and retired tables begin. */
export const REFRESH_PREFIXES = { stage: '_dbsync_stage_', old: '_dbsync_old_' } as const

/** Staging and retired-table names for a table: short (identifiers stop at 64) and stable. */
export function refreshNames(table: string): { stage: string; old: string } {
  const h = createHash('sha256').update(table).digest('hex').slice(0, 16)
  return { stage: `${REFRESH_PREFIXES.stage}${h}`, old: `${REFRESH_PREFIXES.old}${h}` }
}

/**
 * The DDL of a full refresh, in its three steps (also what `diff-schema --sql` prints): clear stale
 * staging tables and create the new one, keeping the target-only columns (schema handling never drops);
 * after the bulk load, build its indexes once, sorted, far cheaper than maintaining them row by row; then
 * the swap.
 */
export function refreshDdl(
  name: string,
  source: TableDef,
  target: TableDef | undefined,
  exists: boolean,
  flavor: Flavor,
): { prepare: string[]; afterLoad: string[]; swap: string[] } {
  const { stage, old } = refreshNames(name)
  const def = withKeptColumns(source, target)
  const indexes = renderAddIndexes(def, stage)
  return {
    prepare: [
      `DROP TABLE IF EXISTS ${quoteId(stage)}, ${quoteId(old)}`,
      renderCreateTable(def, flavor, stage, { deferIndexes: true }),
    ],
    afterLoad: indexes ? [indexes] : [],
    swap: exists
      ? [
          `RENAME TABLE ${quoteId(name)} TO ${quoteId(old)}, ${quoteId(stage)} TO ${quoteId(name)}`,
          `DROP TABLE IF EXISTS ${quoteId(old)}`,
        ]
      : [`RENAME TABLE ${quoteId(stage)} TO ${quoteId(name)}`],
  }
}

/** The source definition plus the columns only the target still has, made nullable. */
export function withKeptColumns(source: TableDef, target: TableDef | undefined): TableDef {
  if (!target) return source
  // Column names compare case-insensitively, as on the server (and in schema/diff.ts).
  const names = new Set(source.columns.map((c) => c.name.toLowerCase()))
  const kept = target.columns
    .filter((c) => !names.has(c.name.toLowerCase()) && !c.name.startsWith('_dlt_'))
    .map(keptColumn)
  return { ...source, columns: [...source.columns, ...kept] }
}
