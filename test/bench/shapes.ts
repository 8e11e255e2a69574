import type mysql from 'mysql2/promise'
import { ensureDigits, generateOrders, generateSmallTables, sequenceInsert } from './generate.js'

/**
 * The table shapes `npm run bench` measures. Each copy shape is generated on the source server in its own
 * database, deterministically (no data file), and copied once by `mariadb-dump | mariadb` and once by
 * dbsync in the same run.
 */
export interface Shape {
  name: string
  /** What it stands for, printed with the table. */
  about: string
  rows: { default: number; large: number }
  /** Create and fill the shape's tables in the current database of `conn`. */
  generate(conn: mysql.Connection, rows: number): Promise<void>
  /** The pipeline's `tables:` entries (YAML, indented by two spaces). */
  tables: string
  /** Tables the reference dumps; all of the database when absent. */
  dumpTables?: string[]
  /** Rows counted for rows/s when they differ from `rows` (the many-tables shape). */
  countedRows?(rows: number): number
}

export const SHAPES: Shape[] = [
  {
    name: 'orders',
    about: '~350-byte rows of every common type, BIGINT UNSIGNED key, TIMESTAMP(6) cursor',
    rows: { default: 1_000_000, large: 5_000_000 },
    generate: generateOrders,
    tables: '  - name: orders\n    cursor: updated_at',
    dumpTables: ['orders'],
  },
  {
    name: 'narrow',
    about: 'an employees-style salaries table: 4 small columns, composite primary key',
    rows: { default: 3_000_000, large: 10_000_000 },
    generate: generateSalaries,
    tables: '  - name: salaries\n    strategy: full_refresh',
  },
  {
    name: 'lineitem',
    about: "TPC-H lineitem's 16 columns and value ranges (SF1 is 6M rows)",
    rows: { default: 1_000_000, large: 6_000_000 },
    generate: generateLineitem,
    tables: '  - name: lineitem\n    strategy: full_refresh',
  },
  {
    name: 'many',
    about: 'many small tables: first load of all of them (rows = tables; 1,000 rows each)',
    rows: { default: 1_000, large: 3_000 },
    generate: (conn, tables) => generateSmallTables(conn, tables, 1_000),
    tables: '  - name: digits\n    strategy: full_refresh\n  - name: "*"\n    cursor: updated_at',
    countedRows: (tables) => tables * 1_000,
  },
  {
    name: 'blobs',
    about: 'BLOB and LONGTEXT values of 50-500 KB',
    rows: { default: 2_000, large: 20_000 },
    generate: generateBlobs,
    tables: '  - name: docs\n    strategy: full_refresh',
  },
]

/** The salaries table of MySQL's employees sample: emp_no, salary, from_date, to_date; key (emp_no, from_date). */
async function generateSalaries(conn: mysql.Connection, rows: number): Promise<void> {
  await conn.query(`CREATE TABLE salaries (
    emp_no INT NOT NULL, salary INT NOT NULL, from_date DATE NOT NULL, to_date DATE NOT NULL,
    PRIMARY KEY (emp_no, from_date))`)
  // About 10 salary rows per employee, a year apart, as in the sample.
  await sequenceInsert(
    conn,
    'salaries',
    rows,
    `10001 + s DIV 10, 40000 + (s * 7919) % 90000, '1985-01-01' + INTERVAL (s DIV 10) % 3000 DAY + INTERVAL s % 10 YEAR,
     IF(s % 10 = 9, '9999-01-01', '1985-01-01' + INTERVAL (s DIV 10) % 3000 DAY + INTERVAL s % 10 + 1 YEAR)`,
  )
}

/** TPC-H lineitem (spec 4.2.3): 1-7 lines per order here fixed at 4; quantities 1-50, discount 0-0.10, tax 0-0.08. */
async function generateLineitem(conn: mysql.Connection, rows: number): Promise<void> {
  await conn.query(`CREATE TABLE lineitem (
    l_orderkey INT NOT NULL, l_partkey INT NOT NULL, l_suppkey INT NOT NULL, l_linenumber INT NOT NULL,
    l_quantity DECIMAL(15,2) NOT NULL, l_extendedprice DECIMAL(15,2) NOT NULL,
    l_discount DECIMAL(15,2) NOT NULL, l_tax DECIMAL(15,2) NOT NULL,
    l_returnflag CHAR(1) NOT NULL, l_linestatus CHAR(1) NOT NULL,
    l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL, l_receiptdate DATE NOT NULL,
    l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL, l_comment VARCHAR(44) NOT NULL,
    PRIMARY KEY (l_orderkey, l_linenumber), KEY (l_partkey), KEY (l_suppkey)) DEFAULT CHARSET=latin1`)
  await sequenceInsert(
    conn,
    'lineitem',
    rows,
    `1 + s DIV 4, 1 + (s * 7919) % 200000, 1 + (s * 104729) % 10000, 1 + s % 4,
     1 + s % 50, (1 + s % 50) * (900 + (s % 20001) / 100), (s % 11) / 100, (s % 9) / 100,
     ELT(1 + s % 3, 'R', 'A', 'N'), ELT(1 + s % 2, 'O', 'F'),
     '1992-01-02' + INTERVAL s % 2526 DAY, '1992-01-02' + INTERVAL (s % 2526) + 30 DAY,
     '1992-01-02' + INTERVAL (s % 2526) + 1 + s % 30 DAY,
     ELT(1 + s % 4, 'DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'),
     ELT(1 + s % 7, 'REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'),
     LEFT(CONCAT('carefully final ', MD5(s), ' pending deposits'), 10 + s % 34)`,
  )
}

/** Documents with a BLOB and a LONGTEXT of 50-500 KB between them. */
async function generateBlobs(conn: mysql.Connection, rows: number): Promise<void> {
  await conn.query(`CREATE TABLE docs (
    id INT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, body LONGTEXT NOT NULL, attachment BLOB NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00') DEFAULT CHARSET=utf8mb4`)
  await ensureDigits(conn)
  // Inserted 100 at a time: each row is up to 500 KB, and max_allowed_packet bounds one statement.
  for (let base = 0; base < rows; base += 100) {
    await conn.query(
      `INSERT INTO docs (id, name, body, attachment)
       SELECT s + 1, CONCAT('doc ', s), REPEAT(CONCAT(MD5(s), ' é '), 1000 + (s * 37) % 9000),
              IF(s % 5 = 0, NULL, UNHEX(REPEAT(MD5(s + 1), 1 + (s * 13) % 2000)))
         FROM (SELECT ${base} + a.d * 10 + b.d AS s FROM digits a, digits b) seq WHERE s < ${rows}`,
    )
  }
}
