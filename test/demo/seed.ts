import type mysql from 'mysql2/promise'

/**
 * A small shop, deterministic: countries (no cursor: full refresh), products, customers and orders with
 * updated_at cursors, realistic types (DECIMAL money, ENUM status, JSON, utf8mb4 names, NULLs).
 */
export async function seedShop(conn: mysql.Connection): Promise<void> {
  await conn.query(`
    CREATE TABLE countries (
      code CHAR(2) NOT NULL PRIMARY KEY,
      name VARCHAR(100) NOT NULL
    ) DEFAULT CHARSET=utf8mb4`)
  await conn.query(`
    CREATE TABLE products (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      sku VARCHAR(32) NOT NULL,
      name VARCHAR(200) NOT NULL,
      price DECIMAL(10,2) NOT NULL,
      attributes JSON NULL,
      updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      UNIQUE KEY sku (sku),
      KEY updated_at (updated_at)
    ) DEFAULT CHARSET=utf8mb4`)
  await conn.query(`
    CREATE TABLE customers (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      email VARCHAR(255) NOT NULL,
      full_name VARCHAR(200) NOT NULL,
      country CHAR(2) NULL,
      credit DECIMAL(12,2) NOT NULL DEFAULT 0,
      created_at DATETIME(6) NOT NULL,
      updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      KEY updated_at (updated_at)
    ) DEFAULT CHARSET=utf8mb4`)
  await conn.query(`
    CREATE TABLE orders (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      customer_id BIGINT UNSIGNED NOT NULL,
      status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
      total DECIMAL(12,2) NOT NULL,
      note TEXT NULL,
      created_at DATETIME(6) NOT NULL,
      updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      KEY customer_id (customer_id),
      KEY updated_at (updated_at)
    ) DEFAULT CHARSET=utf8mb4`)

  const countries = [
    ['DE', 'Germany'],
    ['FR', 'France'],
    ['JP', '日本'],
    ['BR', 'Brasil'],
    ['US', 'United States'],
    ['ZA', 'South Africa'],
    ['SE', 'Sverige'],
    ['IN', 'भारत'],
  ]
  await conn.query('INSERT INTO countries VALUES ?', [countries])
  const products = Array.from({ length: 300 }, (_, i) => [
    `SKU-${String(i + 1).padStart(5, '0')}`,
    `Product ${i + 1}${i % 10 === 0 ? ' ✨' : ''}`,
    ((i * 37) % 10000) / 100 + 1,
    JSON.stringify({ color: ['red', 'green', 'blue'][i % 3], weight_g: (i * 13) % 900 }),
  ])
  await conn.query('INSERT INTO products (sku, name, price, attributes) VALUES ?', [products])
  const names = [
    'Ana Souza',
    'Jürgen Müller',
    'Åsa Lind',
    '山田 太郎',
    'Chloé Martin',
    'Priya Sharma',
    "O'Brien",
  ]
  const customers = Array.from({ length: 2000 }, (_, i) => [
    `customer${i + 1}@example.com`,
    `${names[i % names.length]} ${i + 1}`,
    i % 17 === 0 ? null : countries[i % countries.length]![0],
    ((i * 7919) % 100000) / 100,
    `2024-01-01 00:00:00.000000`,
  ])
  await conn.query('INSERT INTO customers (email, full_name, country, credit, created_at) VALUES ?', [
    customers,
  ])
  const statuses = ['new', 'paid', 'shipped', 'cancelled']
  const orders = Array.from({ length: 5000 }, (_, i) => [
    (i % 2000) + 1,
    statuses[i % 4],
    ((i * 104729) % 50000) / 100 + 5,
    i % 9 === 0 ? 'gift wrap 🎁, please' : null,
    `2024-02-01 00:00:00.000000`,
  ])
  await conn.query('INSERT INTO orders (customer_id, status, total, note, created_at) VALUES ?', [orders])
}

/** Changes a newcomer can watch the second sync pick up. */
export async function changeShop(conn: mysql.Connection): Promise<void> {
  await conn.query(`UPDATE orders SET status = 'shipped' WHERE id BETWEEN 1 AND 40 AND status = 'paid'`)
  await conn.query(
    `INSERT INTO orders (customer_id, status, total, note, created_at)
     VALUES (1, 'new', 19.99, 'a new order', NOW(6)), (2, 'new', 5.00, NULL, NOW(6))`,
  )
  await conn.query(`UPDATE customers SET credit = credit + 10 WHERE id <= 5`)
}
