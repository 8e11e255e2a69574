import type { Db } from '../db/connect.js'
import type { Flavor } from '../db/flavor.js'
import type { ColumnDef, IndexDef, TableDef } from './table-def.js'

interface RawTable {
  TABLE_NAME: string
  ENGINE: string | null
  TABLE_COLLATION: string | null
  TABLE_COMMENT: string | null
  TABLE_ROWS: string | number | null
  AUTO_INCREMENT?: string | number | null
  CHARSET: string | null
}

interface RawCheck {
  TABLE_NAME: string
  CONSTRAINT_NAME: string
  CHECK_CLAUSE: string
  ENFORCED: string
}

interface RawColumn {
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

interface RawStatistic {
  TABLE_NAME: string
  INDEX_NAME: string
  NON_UNIQUE: string | number
  SEQ_IN_INDEX: string | number
  COLUMN_NAME: string | null
  SUB_PART: string | number | null
  INDEX_TYPE: string
  COLLATION: string | null
  EXPRESSION?: string | null
}

/**
 * Read the definitions of the base tables in the connection's database: three catalog queries for all
 * tables together, however many there are (pipelines have hundreds of tables).
 * `only` limits the result (names not present are simply absent from the map).
 */
export async function introspect(db: Db, only?: readonly string[]): Promise<Map<string, TableDef>> {
  const filter = only && only.length > 0 ? ` AND TABLE_NAME IN (${only.map(() => '?').join(',')})` : ''
  const params = only && only.length > 0 ? [...only] : []
  const q = async <T>(sql: string): Promise<T[]> => {
    const [rows] = await db.pool.query({ sql, values: params })
    return rows as T[]
  }
  const checksSql = db.flavor.checkConstraintsSql
  // Table charset: the character set of the table's default collation.
  const [tables, columns, stats, checks] = await Promise.all([
    q<RawTable>(
      `SELECT t.TABLE_NAME, t.ENGINE, t.TABLE_COLLATION, t.TABLE_COMMENT, t.TABLE_ROWS, t.AUTO_INCREMENT,
              c.CHARACTER_SET_NAME AS CHARSET
         FROM information_schema.TABLES t
         LEFT JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION
        WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'${filter.replaceAll('TABLE_NAME', 't.TABLE_NAME')}`,
    ),
    q<RawColumn>(
      `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE,
              CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, GENERATION_EXPRESSION, COLUMN_COMMENT
         FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE()${filter}
        ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    ),
    q<RawStatistic>(
      `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION
              ${db.flavor.hasFunctionalIndexes ? ', EXPRESSION' : ''}
         FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = DATABASE()${filter}
        ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    ),
    checksSql
      ? q<RawCheck>(
          checksSql.replace(
            '{filter}',
            filter.replaceAll('TABLE_NAME', checksSql.includes('tc.') ? 'tc.TABLE_NAME' : 'TABLE_NAME'),
          ),
        )
      : Promise.resolve([]),
  ])
  return assemble(db.flavor, tables, columns, stats, checks)
}

/** Pure: build TableDefs from raw catalog rows. Exported for unit tests. */
export function assemble(
  flavor: Flavor,
  tables: RawTable[],
  columns: RawColumn[],
  stats: RawStatistic[],
  checks: RawCheck[] = [],
): Map<string, TableDef> {
  const out = new Map<string, TableDef>()
  for (const t of tables) {
    out.set(t.TABLE_NAME, {
      name: t.TABLE_NAME,
      columns: [],
      primaryKey: [],
      indexes: [],
      engine: t.ENGINE,
      // MariaDB 10.10+ lists its UCA 14.0.0 collations in COLLATIONS without a character set (the full
      // names are in COLLATION_CHARACTER_SET_APPLICABILITY only): the name's prefix is the character set.
      charset: t.CHARSET ?? t.TABLE_COLLATION?.split('_')[0] ?? null,
      collation: t.TABLE_COLLATION,
      comment: t.TABLE_COMMENT ?? '',
      checks: [],
      autoIncrement:
        t.AUTO_INCREMENT === null || t.AUTO_INCREMENT === undefined ? null : String(t.AUTO_INCREMENT),
      estimatedRows: Number(t.TABLE_ROWS ?? 0),
      skippedIndexes: [],
    })
  }
  for (const c of columns) {
    const table = out.get(c.TABLE_NAME)
    if (!table) continue // a view
    table.columns.push(toColumn(flavor, c))
  }
  const indexes = new Map<string, IndexDef & { table: TableDef; functional: boolean }>()
  for (const s of stats) {
    const table = out.get(s.TABLE_NAME)
    if (!table) continue
    const key = `${s.TABLE_NAME}\u0000${s.INDEX_NAME}`
    let idx = indexes.get(key)
    if (!idx) {
      idx = {
        table,
        name: s.INDEX_NAME,
        unique: Number(s.NON_UNIQUE) === 0,
        kind: s.INDEX_TYPE,
        columns: [],
        functional: false,
      }
      indexes.set(key, idx)
    }
    if (s.COLUMN_NAME === null || s.EXPRESSION) {
      idx.functional = true
      continue
    }
    idx.columns.push({
      name: s.COLUMN_NAME,
      subPart: flavor.indexSubPart(s.INDEX_TYPE, s.SUB_PART === null ? null : Number(s.SUB_PART)),
      descending: s.COLLATION === 'D',
    })
  }
  for (const idx of indexes.values()) {
    const { table, functional, ...def } = idx
    if (def.name === 'PRIMARY') {
      table.primaryKey = def.columns.map((c) => c.name)
    } else if (functional) {
      table.skippedIndexes.push(def.name)
    } else {
      table.indexes.push(def)
    }
  }
  for (const c of checks) {
    out.get(c.TABLE_NAME)?.checks.push({
      name: c.CONSTRAINT_NAME,
      clause: c.CHECK_CLAUSE,
      enforced: c.ENFORCED !== 'NO',
    })
  }
  for (const t of out.values()) t.indexes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return out
}

function toColumn(flavor: Flavor, c: RawColumn): ColumnDef {
  const extra = c.EXTRA ?? ''
  const nullable = c.IS_NULLABLE === 'YES'
  const dataType = c.DATA_TYPE.toLowerCase()
  const generatedKind = /\b(VIRTUAL|STORED|PERSISTENT)\b/i.exec(extra)?.[1]?.toUpperCase()
  const isGenerated = Boolean(generatedKind) && Boolean(c.GENERATION_EXPRESSION)
  const onUpdate = /on update ([a-z_]+(\(\d*\))?)/i.exec(extra)?.[0] ?? ''
  return {
    name: c.COLUMN_NAME,
    ordinal: Number(c.ORDINAL_POSITION),
    dataType,
    columnType: c.COLUMN_TYPE,
    nullable,
    charset: c.CHARACTER_SET_NAME,
    collation: c.COLLATION_NAME,
    default: isGenerated
      ? { kind: 'none' }
      : flavor.parseDefault(c.COLUMN_DEFAULT, extra, dataType, nullable),
    onUpdate,
    autoIncrement: /auto_increment/i.test(extra),
    // Both servers say INVISIBLE in EXTRA (MySQL 8.0.23+, MariaDB 10.3.3+).
    invisible: /\bINVISIBLE\b/i.test(extra),
    generated: isGenerated
      ? { expression: c.GENERATION_EXPRESSION ?? '', stored: generatedKind !== 'VIRTUAL' }
      : null,
    comment: c.COLUMN_COMMENT ?? '',
  }
}

/** Names of the views in the connection's database: a view named as a table is refused by name. */
export async function listViews(db: Db): Promise<Set<string>> {
  const [rows] = await db.pool.query(
    `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'VIEW'`,
  )
  return new Set((rows as Array<{ TABLE_NAME: string }>).map((r) => r.TABLE_NAME))
}
