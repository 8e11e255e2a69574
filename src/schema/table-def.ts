import type { ColumnDefault } from '../db/flavor.js'

/**
 * A table's definition as read from information_schema: the model that DDL, the schema diff, the
 * planner and the sync engine all share. `columnType` is COLUMN_TYPE copied verbatim (no generic type
 * mapping), so the target gets exactly the source's type.
 */
export interface ColumnDef {
  name: string
  /** 1-based position. */
  ordinal: number
  /** Lower-case DATA_TYPE, e.g. 'varchar', 'decimal', 'point'. */
  dataType: string
  /** COLUMN_TYPE verbatim, e.g. "varchar(255)", "int(10) unsigned", "enum('a','b')". */
  columnType: string
  nullable: boolean
  /** For character columns; null for others (and for MySQL's JSON). */
  charset: string | null
  collation: string | null
  default: ColumnDefault
  /** e.g. "on update current_timestamp(6)"; empty when none. */
  onUpdate: string
  autoIncrement: boolean
  /** INVISIBLE: left out of SELECT * (MySQL 8.0.23+, MariaDB 10.3.3+); absent means visible. */
  invisible?: boolean
  /** Set for generated columns: the expression, and whether it is stored. */
  generated: { expression: string; stored: boolean } | null
  comment: string
}

export interface IndexDef {
  name: string
  unique: boolean
  /** BTREE, FULLTEXT, SPATIAL, HASH */
  kind: string
  columns: Array<{ name: string; subPart: number | null; descending: boolean }>
}

/** A CHECK constraint, its clause as the server reports it. */
export interface CheckDef {
  name: string
  clause: string
  enforced: boolean
}

export interface TableDef {
  name: string
  columns: ColumnDef[]
  /** Column names of the primary key in key order; empty when the table has none. */
  primaryKey: string[]
  /** Secondary indexes (not the primary key), in name order. */
  indexes: IndexDef[]
  engine: string | null
  charset: string | null
  collation: string | null
  comment: string
  /** CHECK constraints (MariaDB's automatic json_valid() of a JSON column among them), in name order. */
  checks: CheckDef[]
  /** The next AUTO_INCREMENT value (information_schema.TABLES.AUTO_INCREMENT) as text; null when none. */
  autoIncrement: string | null
  /** information_schema.TABLES.TABLE_ROWS: an estimate, used for planning only. */
  estimatedRows: number
  /** Indexes the source has that cannot be copied (functional key parts): named in warnings. */
  skippedIndexes: string[]
}

/** The columns dbsync adds to every target table. */
export const LOAD_ID_COLUMN = '_dlt_load_id'
export const ROW_ID_COLUMN = '_dlt_id'
export const DLT_COLUMNS = [LOAD_ID_COLUMN, ROW_ID_COLUMN] as const

/** Find a column by exact name. */
export function column(table: TableDef, name: string): ColumnDef | undefined {
  return table.columns.find((c) => c.name === name)
}

/** Columns whose values are copied: every column except generated ones (the server computes those). */
export function copiedColumns(table: TableDef): ColumnDef[] {
  return table.columns.filter((c) => c.generated === null && !isDltColumn(c.name))
}

export function isDltColumn(name: string): boolean {
  return name === LOAD_ID_COLUMN || name === ROW_ID_COLUMN
}
