import type { ColumnDef, TableDef } from '../../../src/schema/table-def.js'

/** A column as introspect() would build it; DATA_TYPE is the first word of COLUMN_TYPE. */
export function col(name: string, columnType: string, opts: Partial<ColumnDef> = {}): ColumnDef {
  const dataType = (/^[a-z]+/i.exec(columnType)?.[0] ?? columnType).toLowerCase()
  const textual = /char|text|enum|set/.test(dataType)
  return {
    name,
    ordinal: 0,
    dataType,
    columnType,
    nullable: false,
    charset: textual ? 'utf8mb4' : null,
    collation: textual ? 'utf8mb4_general_ci' : null,
    default: { kind: 'none' },
    onUpdate: '',
    autoIncrement: false,
    generated: null,
    comment: '',
    ...opts,
  }
}

/** A table with an `id` primary key followed by `columns`. */
export function table(columns: ColumnDef[], opts: Partial<TableDef> = {}): TableDef {
  const all = [col('id', 'int(11)'), ...columns].map((c, i) => ({ ...c, ordinal: i + 1 }))
  return {
    name: 't',
    columns: all,
    primaryKey: ['id'],
    indexes: [],
    engine: 'InnoDB',
    charset: 'utf8mb4',
    collation: 'utf8mb4_general_ci',
    comment: '',
    checks: [],
    autoIncrement: null,
    estimatedRows: 0,
    skippedIndexes: [],
    ...opts,
  }
}

/** The target copy of a source table: the same plus dbsync's own columns. */
export function targetOf(t: TableDef): TableDef {
  return {
    ...t,
    columns: [
      ...t.columns,
      col('_dlt_load_id', 'varchar(64)', { charset: 'ascii', collation: 'ascii_bin' }),
      col('_dlt_id', 'varchar(64)', { charset: 'ascii', collation: 'ascii_bin' }),
    ],
  }
}
