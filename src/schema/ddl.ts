import type { Flavor } from '../db/flavor.js'
import { quoteId, quoteString } from '../db/quote.js'
import { assertNever } from '../errors.js'
import { type ColumnDef, type IndexDef, LOAD_ID_COLUMN, ROW_ID_COLUMN, type TableDef } from './table-def.js'

/** Name of the unique index on `_dlt_id`. */
export const ROW_ID_INDEX = '_dlt_id_unique'

/** A column definition as it appears in CREATE TABLE / ALTER TABLE ADD COLUMN. */
export function renderColumn(c: ColumnDef, flavor: Flavor): string {
  const parts = [quoteId(c.name), c.columnType]
  if (c.charset) parts.push(`CHARACTER SET ${flavor.charsetName(c.charset)}`)
  if (c.collation) parts.push(`COLLATE ${c.collation}`)
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
  if (c.comment) parts.push(`COMMENT ${quoteString(c.comment)}`)
  return parts.join(' ')
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

/** The target's CREATE TABLE for a source table: same columns and keys, plus the _dlt columns. */
export function renderCreateTable(def: TableDef, flavor: Flavor, name = def.name): string {
  const lines = def.columns.map((c) => renderColumn(c, flavor))
  lines.push(`${quoteId(LOAD_ID_COLUMN)} VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL`)
  lines.push(`${quoteId(ROW_ID_COLUMN)} VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL`)
  if (def.primaryKey.length > 0) lines.push(`PRIMARY KEY (${def.primaryKey.map(quoteId).join(', ')})`)
  lines.push(`UNIQUE KEY ${quoteId(ROW_ID_INDEX)} (${quoteId(ROW_ID_COLUMN)})`)
  for (const idx of def.indexes) lines.push(renderIndex(idx))
  const opts = ['ENGINE=InnoDB']
  if (def.charset) opts.push(`DEFAULT CHARSET=${flavor.charsetName(def.charset)}`)
  if (def.collation) opts.push(`COLLATE=${def.collation}`)
  if (def.comment) opts.push(`COMMENT=${quoteString(def.comment)}`)
  return `CREATE TABLE ${quoteId(name)} (\n  ${lines.join(',\n  ')}\n) ${opts.join(' ')}`
}
