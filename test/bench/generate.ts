import type mysql from 'mysql2/promise'

/** The 0-9 helper table every generator joins with itself to count. */
export async function ensureDigits(conn: mysql.Connection): Promise<void> {
  await conn.query('CREATE TABLE IF NOT EXISTS digits (d INT PRIMARY KEY)')
  await conn.query('INSERT IGNORE INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)')
}

/**
 * Insert `rows` rows into `table`, one per sequence number `s` (0-based), each row the SELECT list `select`
 * computed from `s`; on the server, in slices of 1M so each INSERT … SELECT stays a moderate transaction.
 */
export async function sequenceInsert(
  conn: mysql.Connection,
  table: string,
  rows: number,
  select: string,
): Promise<void> {
  await ensureDigits(conn)
  const digits = Math.min(6, Math.ceil(Math.log10(Math.max(10, rows))))
  const joins = Array.from({ length: digits }, (_, i) => `digits d${i}`).join(', ')
  const seqExpr = Array.from({ length: digits }, (_, i) => `d${i}.d * ${10 ** i}`).join(' + ')
  for (let base = 0; base < rows; base += 1_000_000) {
    const n = Math.min(1_000_000, rows - base)
    await conn.query(
      `INSERT INTO \`${table}\` SELECT ${select} FROM (SELECT ${base} + ${seqExpr} AS s FROM ${joins}) seq
        WHERE s < ${base + n}`,
    )
  }
}

/**
 * An orders-like table of `rows` rows, ~300 bytes each: BIGINT UNSIGNED key, INT, ENUM, DECIMAL, CHAR,
 * utf8mb4 VARCHAR with NULLs and emoji, JSON, DATETIME(6), an indexed TIMESTAMP(6) cursor, BIT and VARBINARY.
 */
export async function generateOrders(conn: mysql.Connection, rows: number): Promise<void> {
  await conn.query(`CREATE TABLE orders (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    customer_id INT NOT NULL,
    status ENUM('new','paid','shipped','cancelled') NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    currency CHAR(3) NOT NULL,
    note VARCHAR(255) CHARACTER SET utf8mb4 NULL,
    meta JSON NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    flags BIT(8) NOT NULL,
    token VARBINARY(16) NOT NULL,
    KEY by_updated (updated_at)
  ) DEFAULT CHARSET=utf8mb4`)
  await sequenceInsert(
    conn,
    'orders',
    rows,
    `s + 1, s % 50000, ELT(1 + s % 4, 'new','paid','shipped','cancelled'), (s % 100000) / 100, 'EUR',
     IF(s % 7 = 0, NULL, CONCAT('note ', s, ' ✓ 😀 ', REPEAT('x', s % 120))),
     CONCAT('{"sku": "S', s % 1000, '", "qty": ', s % 9, ', "tags": ["a", "b"]}'),
     '2024-01-01' + INTERVAL s SECOND, '2024-01-01' + INTERVAL s SECOND + INTERVAL 1 DAY,
     s % 256, UNHEX(MD5(s))`,
  )
}

/** `count` small tables of `rows` rows each (at most 10,000), for the many-tables shape and no-op syncs. */
export async function generateSmallTables(conn: mysql.Connection, count: number, rows = 100): Promise<void> {
  await ensureDigits(conn)
  for (let i = 1; i <= count; i++) {
    const name = `small_${String(i).padStart(4, '0')}`
    await conn.query(
      `CREATE TABLE ${name} (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL,
         updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00', KEY (updated_at))`,
    )
    await conn.query(
      `INSERT INTO ${name} (id, v)
       SELECT s + 1, CONCAT('row ', s)
         FROM (SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d AS s FROM digits a, digits b, digits c, digits e) seq
        WHERE s < ${rows}`,
    )
  }
}
