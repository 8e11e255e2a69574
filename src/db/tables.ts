/*
 * The tables dbsync itself reads by name, typed for Kysely: the information_schema views of the catalog
 * (upper-case, as the server names them). Values arrive as the pool's options make them (db/connect.ts):
 * numbers that may exceed 2^53 and all temporals as strings, so the types say `string | number` where the
 * server's type is an integer. dbsync's own state tables are typed in state/tables.ts; the synced tables
 * themselves are known only at run time and are written through `sql` with quoted identifiers.
 */

export interface RawTable {
  TABLE_SCHEMA: string
  TABLE_NAME: string
  TABLE_TYPE: string
  ENGINE: string | null
  TABLE_COLLATION: string | null
  TABLE_COMMENT: string | null
  TABLE_ROWS: string | number | null
  AUTO_INCREMENT: string | number | null
}

export interface RawCollation {
  COLLATION_NAME: string
  CHARACTER_SET_NAME: string | null
}

export interface RawColumn {
  TABLE_SCHEMA: string
  TABLE_NAME: string
  COLUMN_NAME: string
  ORDINAL_POSITION: string | number
  COLUMN_DEFAULT: string | null
  IS_NULLABLE: string
  DATA_TYPE: string
  COLUMN_TYPE: string
  CHARACTER_SET_NAME: string | null
  COLLATION_NAME: string | null
  EXTRA: string | null
  GENERATION_EXPRESSION: string | null
  COLUMN_COMMENT: string | null
}

export interface RawStatistic {
  TABLE_SCHEMA: string
  TABLE_NAME: string
  INDEX_NAME: string
  NON_UNIQUE: string | number
  SEQ_IN_INDEX: string | number
  COLUMN_NAME: string | null
  SUB_PART: string | number | null
  INDEX_TYPE: string
  COLLATION: string | null
  /** MySQL 8.0.13+ only (functional key parts): ask `flavor.hasFunctionalIndexes` before selecting it. */
  EXPRESSION: string | null
}

export interface RawCheckConstraint {
  CONSTRAINT_SCHEMA: string
  CONSTRAINT_NAME: string
  CHECK_CLAUSE: string
  /** MariaDB only: MySQL names the table in TABLE_CONSTRAINTS. */
  TABLE_NAME: string
}

export interface RawTableConstraint {
  CONSTRAINT_SCHEMA: string
  CONSTRAINT_NAME: string
  TABLE_SCHEMA: string
  TABLE_NAME: string
  CONSTRAINT_TYPE: string
  /** MySQL 8.0.16+ only. */
  ENFORCED: string
}

export interface RawTrigger {
  TRIGGER_SCHEMA: string
  TRIGGER_NAME: string
  EVENT_OBJECT_TABLE: string
}

export interface RawRoutine {
  ROUTINE_SCHEMA: string
  ROUTINE_NAME: string
  ROUTINE_TYPE: string
}

export interface RawEvent {
  EVENT_SCHEMA: string
  EVENT_NAME: string
}

export interface RawInnodbTrx {
  trx_id: string
  trx_started: string
  trx_mysql_thread_id: string | number
  trx_query: string | null
  trx_is_read_only: string | number
  trx_autocommit_non_locking: string | number
  trx_rows_modified: string | number
  trx_lock_structs: string | number
}

/** The catalog views dbsync reads, by the names Kysely quotes as `information_schema`.`X`. */
export interface Catalog {
  'information_schema.TABLES': RawTable
  'information_schema.COLLATIONS': RawCollation
  'information_schema.COLUMNS': RawColumn
  'information_schema.STATISTICS': RawStatistic
  'information_schema.CHECK_CONSTRAINTS': RawCheckConstraint
  'information_schema.TABLE_CONSTRAINTS': RawTableConstraint
  'information_schema.TRIGGERS': RawTrigger
  'information_schema.ROUTINES': RawRoutine
  'information_schema.EVENTS': RawEvent
  'information_schema.INNODB_TRX': RawInnodbTrx
}
