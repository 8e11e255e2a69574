import type mysql from 'mysql2/promise'

interface ColumnInfo {
  name: string
  dataType: string
}

/** A table's copied columns (no _dlt_*), in source order, as information_schema reports them. */
export async function tableColumns(conn: mysql.Connection, table: string): Promise<ColumnInfo[]> {
  const [rows] = await conn.query(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table],
  )
  return (rows as ColumnInfo[]).filter((c) => !c.name.startsWith('_dlt_'))
}

const q = (name: string) => '`' + name.replaceAll('`', '``') + '`'

/**
 * An exact text image of every value: HEX of the stored bytes for strings, binary, temporal, JSON and
 * spatial values; the exact decimal text for numbers (HEX would truncate them to an integer); FLOAT
 * widened to DOUBLE first, since FLOAT prints with six digits.
 */
function exactExpr(c: ColumnInfo): string {
  const col = q(c.name)
  switch (c.dataType.toLowerCase()) {
    case 'float':
      return `CAST(${col} * 1e0 AS CHAR)`
    case 'double':
    case 'real':
    case 'decimal':
    case 'numeric':
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
    case 'year':
      return `CAST(${col} AS CHAR)`
    default:
      return `HEX(${col})`
  }
}

/** All rows of a table as exact text images, ordered by `orderBy` columns. */
export async function tableImage(
  conn: mysql.Connection,
  table: string,
  orderBy: string[],
  columns?: ColumnInfo[],
): Promise<string[][]> {
  const cols = columns ?? (await tableColumns(conn, table))
  const [rows] = await conn.query({
    sql: `SELECT ${cols.map(exactExpr).join(', ')} FROM ${q(table)} ORDER BY ${orderBy.map(q).join(', ')}`,
    rowsAsArray: true,
  })
  return (rows as unknown as Array<Array<string | null>>).map((r) =>
    r.map((v) => (v === null ? '<NULL>' : String(v))),
  )
}

/** Expect target's copy of `table` to equal the source's, value for value (columns of the source). */
export async function expectSameRows(
  source: mysql.Connection,
  target: mysql.Connection,
  table: string,
  orderBy: string[],
): Promise<{ source: string[][]; target: string[][] }> {
  const cols = await tableColumns(source, table)
  const [a, b] = await Promise.all([
    tableImage(source, table, orderBy, cols),
    tableImage(target, table, orderBy, cols),
  ])
  return { source: a, target: b }
}

/** Column definitions that must match: type, charset, collation, nullability, position. */
export async function columnDefinitions(conn: mysql.Connection, table: string): Promise<string[]> {
  const [rows] = await conn.query(
    `SELECT CONCAT_WS(' | ', COLUMN_NAME, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME, '-'), IFNULL(COLLATION_NAME, '-'),
                      IS_NULLABLE, IFNULL(GENERATION_EXPRESSION, '')) AS d
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
        AND COLUMN_NAME NOT LIKE '\\_dlt\\_%' ORDER BY ORDINAL_POSITION`,
    [table],
  )
  return (rows as Array<{ d: string }>).map((r) => r.d)
}

/** A minimal pipeline file for tests. */
export function pipelineYaml(opts: {
  name?: string
  sourceUrl: string
  targetUrl: string
  tables: string
  defaults?: string
  extra?: string
}): string {
  return [
    'version: 1',
    `name: ${opts.name ?? defaultName(opts.targetUrl)}`,
    `source:\n  url: "${opts.sourceUrl}"`,
    `target:\n  url: "${opts.targetUrl}"`,
    opts.defaults ? `defaults:\n${opts.defaults}` : '',
    `tables:\n${opts.tables}`,
    opts.extra ?? '',
  ]
    .filter(Boolean)
    .join('\n')
}

/**
 * A pipeline name unique to the test's target database and stable across calls: the run lock is
 * server-wide and test files share the target server, while state rows are looked up by this name.
 */
function defaultName(targetUrl: string): string {
  const db = decodeURIComponent(new URL(targetUrl).pathname.slice(1))
  return `test_${db.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64)
}

/**
 * Rows of `table` whose `_dlt_id` is not the documented id of their single-column key: MD5 of the key's
 * bytes as text, base64url without padding (22 characters). Computed by the server, not by our code.
 */
export async function rowIdMismatches(conn: mysql.Connection, table: string, key: string): Promise<number> {
  const k = `\`${key.replace(/`/g, '``')}\``
  const [rows] = await conn.query(
    `SELECT COUNT(*) AS n FROM \`${table.replace(/`/g, '``')}\`
      WHERE _dlt_id <> REPLACE(REPLACE(LEFT(TO_BASE64(UNHEX(MD5(CAST(${k} AS CHAR)))), 22), '+', '-'), '/', '_')`,
  )
  return Number((rows as Array<{ n: string | number }>)[0]?.n)
}

/**
 * Everything of a table's definition the target must share with the source, as text lines: columns
 * (type, charset, collation, nullability, default, extra, generation, comment), index parts (type, prefix,
 * order; not uniqueness, which the target drops by design), CHECK constraints, table comment, collation
 * and AUTO_INCREMENT counter. dbsync's own `_dlt_*` columns and index are left out.
 */
export async function definitionImage(conn: mysql.Connection, table: string): Promise<string[]> {
  const lines = async (sql: string) => {
    const [rows] = await conn.query({ sql, values: [table], rowsAsArray: true })
    return (rows as unknown as unknown[][]).map((r) =>
      r.map((v) => (v === null ? '<NULL>' : String(v))).join(' | '),
    )
  }
  return [
    ...(await lines(
      `SELECT 'table', TABLE_COMMENT, TABLE_COLLATION, AUTO_INCREMENT FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    )),
    ...(await lines(
      `SELECT 'column', COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE, COLUMN_DEFAULT,
              EXTRA, GENERATION_EXPRESSION, COLUMN_COMMENT
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
          AND COLUMN_NAME NOT LIKE '\\_dlt\\_%' ORDER BY ORDINAL_POSITION`,
    )),
    ...(await lines(
      `SELECT 'index', INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
          AND INDEX_NAME <> '_dlt_id_unique' ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    )),
    ...(await lines(
      `SELECT 'check', CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY CONSTRAINT_NAME`,
    )),
  ]
}

/** Run a fixture file of statements (no DELIMITER: triggers and routines are single statements). */
export async function loadFixture(conn: mysql.Connection, file: string): Promise<void> {
  const { readFile } = await import('node:fs/promises')
  await conn.query(await readFile(file, 'utf8'))
}
