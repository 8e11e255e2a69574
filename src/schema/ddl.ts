import type { Flavor } from '../db/flavor.js'
import { quoteId, quoteString } from '../db/quote.js'
import { assertNever, SyncError } from '../errors.js'
import type { SchemaChange } from './change.js'
import {
  type CheckDef,
  type ColumnDef,
  type IndexDef,
  LOAD_ID_COLUMN,
  ROW_ID_COLUMN,
  type TableDef,
} from './table-def.js'

/** Name of the unique index on `_dlt_id`. */
export const ROW_ID_INDEX = '_dlt_id_unique'

/** A column definition as it appears in CREATE TABLE / ALTER TABLE ADD COLUMN. */
export function renderColumn(c: ColumnDef, flavor: Flavor): string {
  const parts = [quoteId(c.name), c.columnType]
  if (c.charset) parts.push(`CHARACTER SET ${flavor.charsetName(c.charset)}`)
  if (c.collation) parts.push(`COLLATE ${targetCollation(c.collation, flavor, `column ${c.name}`)}`)
  if (c.generated) {
    parts.push(`GENERATED ALWAYS AS (${c.generated.expression}) ${c.generated.stored ? 'STORED' : 'VIRTUAL'}`)
    // Generated columns take NULL/NOT NULL after the expression on MySQL; MariaDB rejects NOT NULL.
    if (!c.nullable && flavor.kind === 'mysql') parts.push('NOT NULL')
  } else {
    parts.push(c.nullable ? 'NULL' : 'NOT NULL')
    const d = renderDefault(c)
    if (d) parts.push(d)
    if (c.onUpdate) parts.push(c.onUpdate.toUpperCase())
    if (c.autoIncrement) parts.push('AUTO_INCREMENT')
  }
  if (c.invisible && flavor.hasInvisibleColumns) parts.push('INVISIBLE')
  if (c.comment) parts.push(`COMMENT ${quoteString(c.comment)}`)
  return parts.join(' ')
}

/** The collation name for the target (mapped across flavors); refuses one with no equivalent there. */
function targetCollation(collation: string, flavor: Flavor, what: string): string {
  const choice = flavor.collationFor(collation)
  if (choice.name === null) {
    throw new SyncError(
      `${what}: ${choice.note}`,
      'give the source column a collation both servers know (e.g. utf8mb4_bin or utf8mb4_unicode_520_ci), or use a target of the same flavor',
    )
  }
  return choice.name
}

function renderDefault(c: ColumnDef): string | null {
  const d = c.default
  switch (d.kind) {
    case 'none':
      return null
    case 'null':
      return c.nullable ? 'DEFAULT NULL' : null
    case 'literal':
      // BLOB/TEXT/JSON/GEOMETRY literal defaults are not allowed on MySQL; numbers are still quoted
      // safely: the server converts '5' to 5 in a numeric column.
      return `DEFAULT ${quoteString(d.value)}`
    case 'expression':
      return `DEFAULT ${d.sql}`
    default:
      return assertNever(d)
  }
}

/** An index clause for CREATE TABLE / ALTER TABLE ADD. */
export function renderIndex(idx: IndexDef): string {
  const cols = idx.columns
    .map((c) => `${quoteId(c.name)}${c.subPart ? `(${c.subPart})` : ''}${c.descending ? ' DESC' : ''}`)
    .join(', ')
  const kind = idx.kind.toUpperCase()
  if (kind === 'FULLTEXT') return `FULLTEXT KEY ${quoteId(idx.name)} (${cols})`
  if (kind === 'SPATIAL') return `SPATIAL KEY ${quoteId(idx.name)} (${cols})`
  // Secondary UNIQUE indexes become plain indexes in the target: rows arrive in cursor order, not in the
  // order the source applied them, so a value moving from one row to another would meet its old holder
  // first, and ON DUPLICATE KEY UPDATE would then overwrite the wrong row. Uniqueness is the source's
  // to enforce; the primary key and _dlt_id stay unique.
  return `KEY ${quoteId(idx.name)} (${cols})`
}

/** A CHECK constraint clause for CREATE TABLE / ALTER TABLE ADD (named where the flavor keeps names). */
export function renderCheck(c: CheckDef, flavor: Flavor): string {
  const name = flavor.namesChecks ? `CONSTRAINT ${quoteId(c.name)} ` : ''
  const enforced = c.enforced || flavor.kind !== 'mysql' ? '' : ' NOT ENFORCED'
  return `${name}CHECK (${c.clause})${enforced}`
}

/**
 * The target's CREATE TABLE for a source table: same columns and keys, plus the _dlt columns.
 * `deferIndexes` leaves out the secondary indexes and the `_dlt_id` index, for a bulk load that adds them
 * afterwards with `renderAddIndexes` (one sorted build is far cheaper than a million random inserts).
 */
export function renderCreateTable(
  def: TableDef,
  flavor: Flavor,
  name = def.name,
  opts: { deferIndexes?: boolean } = {},
): string {
  const lines = def.columns.map((c) => renderColumn(c, flavor))
  lines.push(`${quoteId(LOAD_ID_COLUMN)} VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL`)
  lines.push(`${quoteId(ROW_ID_COLUMN)} VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL`)
  if (def.primaryKey.length > 0) lines.push(`PRIMARY KEY (${def.primaryKey.map(quoteId).join(', ')})`)
  if (!opts.deferIndexes) lines.push(...indexClauses(def).map((i) => i.clause))
  lines.push(...def.checks.map((c) => renderCheck(c, flavor)))
  const tableOpts = ['ENGINE=InnoDB']
  // Carried so a target promoted to primary does not hand out ids the source already used.
  if (def.autoIncrement) tableOpts.push(`AUTO_INCREMENT=${BigInt(def.autoIncrement)}`)
  if (def.charset) tableOpts.push(`DEFAULT CHARSET=${flavor.charsetName(def.charset)}`)
  if (def.collation) tableOpts.push(`COLLATE=${targetCollation(def.collation, flavor, `table ${def.name}`)}`)
  if (def.comment) tableOpts.push(`COMMENT=${quoteString(def.comment)}`)
  return `CREATE TABLE ${quoteId(name)} (\n  ${lines.join(',\n  ')}\n) ${tableOpts.join(' ')}`
}

/**
 * The secondary indexes of the target table, and the unique `_dlt_id` index where the table has no primary
 * key: with one, `_dlt_id` is a hash of the key, unique because the key is, and an index on it would only
 * cost the load a second unique B-tree of random 32-byte strings (a third of a narrow table's load time).
 */
function indexClauses(def: TableDef): Array<{ name: string; clause: string }> {
  const rowId =
    def.primaryKey.length === 0
      ? [{ name: ROW_ID_INDEX, clause: `UNIQUE KEY ${quoteId(ROW_ID_INDEX)} (${quoteId(ROW_ID_COLUMN)})` }]
      : []
  return [...rowId, ...def.indexes.map((idx) => ({ name: idx.name, clause: renderIndex(idx) }))]
}

/**
 * The ALTER TABLE adding the indexes a `deferIndexes` CREATE TABLE left out, or null when `existing`
 * (index names the table has) already holds them all.
 */
export function renderAddIndexes(
  def: TableDef,
  name: string,
  existing: ReadonlySet<string> = new Set(),
): string | null {
  const missing = indexClauses(def).filter((i) => !existing.has(i.name))
  return missing.length
    ? `ALTER TABLE ${quoteId(name)} ${missing.map((i) => `ADD ${i.clause}`).join(', ')}`
    : null
}

/**
 * The ALTER TABLE that applies a table's schema changes to the target: one statement, so the table is
 * rebuilt at most once. Columns are added in source order, each AFTER its source predecessor (which exists
 * or is added earlier in the same statement). Only ADD COLUMN and MODIFY COLUMN (plus comments and
 * CHECK constraints, which follow the source's): no column or row is ever dropped.
 * `incompatible` changes render nothing: the caller refuses them before. Empty when there is nothing to do.
 */
export function renderAlter(table: string, changes: readonly SchemaChange[], flavor: Flavor): string[] {
  const clauses: string[] = []
  const modified = new Set<string>()
  const modify = (c: ColumnDef) => {
    // A widen and a relax of one column carry the same final definition: MODIFY it once.
    if (modified.has(c.name.toLowerCase())) return
    modified.add(c.name.toLowerCase())
    clauses.push(`MODIFY COLUMN ${renderColumn(c, flavor)}`)
  }
  for (const change of changes) {
    switch (change.kind) {
      case 'add_column':
        clauses.push(
          `ADD COLUMN ${renderColumn(change.column, flavor)} ${change.after === null ? 'FIRST' : `AFTER ${quoteId(change.after)}`}`,
        )
        break
      case 'widen_column':
      case 'relax_nullability':
      case 'keep_dropped_column':
      case 'column_comment':
        modify(change.column)
        break
      case 'table_comment':
        clauses.push(`COMMENT = ${quoteString(change.to)}`)
        break
      case 'add_check':
        clauses.push(`ADD ${renderCheck(change.check, flavor)}`)
        break
      case 'drop_check':
        // First, so a changed clause under the same name can be added back. DROP CONSTRAINT: MariaDB
        // 10.2.1+, MySQL 8.0.19+.
        clauses.unshift(`DROP CONSTRAINT ${quoteId(change.check.name)}`)
        break
      case 'incompatible':
        break
      default:
        assertNever(change)
    }
  }
  if (clauses.length === 0) return []
  return [`ALTER TABLE ${quoteId(table)}\n  ${clauses.join(',\n  ')}`]
}
