import { type Kysely, sql } from 'kysely'
import type { Db } from '../db/connect.js'
import type { Flavor } from '../db/flavor.js'
import type { Catalog, RawColumn, RawStatistic, RawTable } from '../db/tables.js'
import { assertNever } from '../errors.js'
import type { ColumnDef, IndexDef, TableDef } from './table-def.js'

/** A TABLES row as introspect selects it, with the character set of the table's default collation. */
export type TableRow = Pick<
  RawTable,
  'TABLE_NAME' | 'ENGINE' | 'TABLE_COLLATION' | 'TABLE_COMMENT' | 'TABLE_ROWS'
> & {
  AUTO_INCREMENT?: RawTable['AUTO_INCREMENT']
  CHARSET: string | null
}
export type ColumnRow = Omit<RawColumn, 'TABLE_SCHEMA'>
/** EXPRESSION is selected only where the server has it (flavor.hasFunctionalIndexes). */
export type StatisticRow = Omit<RawStatistic, 'TABLE_SCHEMA' | 'EXPRESSION'> & { EXPRESSION?: string | null }
export interface CheckRow {
  TABLE_NAME: string
  CONSTRAINT_NAME: string
  CHECK_CLAUSE: string
  ENFORCED: string
}

/** The connection's current database, as the catalog queries compare it. */
const CURRENT_DB = sql<string>`DATABASE()`

/**
 * Read the definitions of the base tables in the connection's database: four catalog queries for all
 * tables together, however many there are (pipelines have hundreds of tables).
 * `only` limits the result (names not present are simply absent from the map).
 */
export async function introspect(db: Db, only?: readonly string[]): Promise<Map<string, TableDef>> {
  const k = db.kysely
  const names = only && only.length > 0 ? [...only] : null
  const [tables, columns, stats, checks] = await Promise.all([
    k
      .selectFrom('information_schema.TABLES as t')
      .leftJoin('information_schema.COLLATIONS as c', 'c.COLLATION_NAME', 't.TABLE_COLLATION')
      .select(['t.TABLE_NAME', 't.ENGINE', 't.TABLE_COLLATION', 't.TABLE_COMMENT', 't.TABLE_ROWS'])
      .select(['t.AUTO_INCREMENT', 'c.CHARACTER_SET_NAME as CHARSET'])
      .where('t.TABLE_SCHEMA', '=', CURRENT_DB)
      .where('t.TABLE_TYPE', '=', 'BASE TABLE')
      .$if(names !== null, (q) => q.where('t.TABLE_NAME', 'in', names!))
      .execute(),
    k
      .selectFrom('information_schema.COLUMNS')
      .select(['TABLE_NAME', 'COLUMN_NAME', 'ORDINAL_POSITION', 'COLUMN_DEFAULT', 'IS_NULLABLE', 'DATA_TYPE'])
      .select(['COLUMN_TYPE', 'CHARACTER_SET_NAME', 'COLLATION_NAME', 'EXTRA', 'GENERATION_EXPRESSION'])
      .select('COLUMN_COMMENT')
      .where('TABLE_SCHEMA', '=', CURRENT_DB)
      .$if(names !== null, (q) => q.where('TABLE_NAME', 'in', names!))
      .orderBy('TABLE_NAME')
      .orderBy('ORDINAL_POSITION')
      .execute(),
    k
      .selectFrom('information_schema.STATISTICS')
      .select(['TABLE_NAME', 'INDEX_NAME', 'NON_UNIQUE', 'SEQ_IN_INDEX', 'COLUMN_NAME', 'SUB_PART'])
      .select(['INDEX_TYPE', 'COLLATION'])
      .$if(db.flavor.hasFunctionalIndexes, (q) => q.select('EXPRESSION'))
      .where('TABLE_SCHEMA', '=', CURRENT_DB)
      .$if(names !== null, (q) => q.where('TABLE_NAME', 'in', names!))
      .orderBy('TABLE_NAME')
      .orderBy('INDEX_NAME')
      .orderBy('SEQ_IN_INDEX')
      .execute(),
    readChecks(k, db.flavor, names),
  ])
  return assemble(db.flavor, tables, columns, stats, checks)
}

/** The CHECK constraints, from wherever this server lists them (flavor.checkConstraints). */
function readChecks(k: Kysely<Catalog>, flavor: Flavor, names: string[] | null): Promise<CheckRow[]> {
  switch (flavor.checkConstraints) {
    case null:
      return Promise.resolve([])
    case 'check-constraints':
      return k
        .selectFrom('information_schema.CHECK_CONSTRAINTS')
        .select(['TABLE_NAME', 'CONSTRAINT_NAME', 'CHECK_CLAUSE', sql<string>`'YES'`.as('ENFORCED')])
        .where('CONSTRAINT_SCHEMA', '=', CURRENT_DB)
        .$if(names !== null, (q) => q.where('TABLE_NAME', 'in', names!))
        .orderBy('TABLE_NAME')
        .orderBy('CONSTRAINT_NAME')
        .execute()
    case 'joined-with-table-constraints':
      return k
        .selectFrom('information_schema.TABLE_CONSTRAINTS as tc')
        .innerJoin('information_schema.CHECK_CONSTRAINTS as cc', (j) =>
          j
            .onRef('cc.CONSTRAINT_SCHEMA', '=', 'tc.CONSTRAINT_SCHEMA')
            .onRef('cc.CONSTRAINT_NAME', '=', 'tc.CONSTRAINT_NAME'),
        )
        .select(['tc.TABLE_NAME as TABLE_NAME', 'cc.CONSTRAINT_NAME as CONSTRAINT_NAME'])
        .select(['cc.CHECK_CLAUSE as CHECK_CLAUSE', 'tc.ENFORCED as ENFORCED'])
        .where('tc.TABLE_SCHEMA', '=', CURRENT_DB)
        .where('tc.CONSTRAINT_TYPE', '=', 'CHECK')
        .$if(names !== null, (q) => q.where('tc.TABLE_NAME', 'in', names!))
        .orderBy('tc.TABLE_NAME')
        .orderBy('cc.CONSTRAINT_NAME')
        .execute()
    default:
      return assertNever(flavor.checkConstraints)
  }
}

/** Pure: build TableDefs from raw catalog rows. Exported for unit tests. */
export function assemble(
  flavor: Flavor,
  tables: TableRow[],
  columns: ColumnRow[],
  stats: StatisticRow[],
  checks: CheckRow[] = [],
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

function toColumn(flavor: Flavor, c: ColumnRow): ColumnDef {
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
  const rows = await db.kysely
    .selectFrom('information_schema.TABLES')
    .select('TABLE_NAME')
    .where('TABLE_SCHEMA', '=', CURRENT_DB)
    .where('TABLE_TYPE', '=', 'VIEW')
    .execute()
  return new Set(rows.map((r) => r.TABLE_NAME))
}

/**
 * Names of the tables in the connection's database that begin with one of `prefixes`, and perhaps a few
 * more: an `_` in a prefix matches any character (escapes depend on the session's sql_mode), so callers
 * look names up in the set rather than trust that every one begins so.
 */
export async function listTablesStarting(db: Db, prefixes: readonly string[]): Promise<Set<string>> {
  const patterns = prefixes.map((p) => `${p}%`)
  const rows = await db.kysely
    .selectFrom('information_schema.TABLES')
    .select('TABLE_NAME')
    .where('TABLE_SCHEMA', '=', CURRENT_DB)
    .where((eb) => eb.or(patterns.map((p) => eb('TABLE_NAME', 'like', p))))
    .execute()
  return new Set(rows.map((r) => r.TABLE_NAME))
}
