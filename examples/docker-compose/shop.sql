-- Sample shop data for the compose example's source. The mysql image runs this once, in the `shop`
-- database (MYSQL_DATABASE), when its data volume is new. Every table has an updated_at column that the
-- pipeline uses as its cursor.

CREATE TABLE countries (
  code CHAR(2) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(255) NOT NULL UNIQUE,
  name VARCHAR(100) NOT NULL,
  country_code CHAR(2) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE products (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL UNIQUE,
  name VARCHAR(200) NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  attributes JSON NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  status ENUM('new', 'paid', 'shipped', 'cancelled') NOT NULL DEFAULT 'new',
  total DECIMAL(12,2) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE order_items (
  order_id BIGINT UNSIGNED NOT NULL,
  line_no SMALLINT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  quantity INT UNSIGNED NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (order_id, line_no),
  KEY by_updated (updated_at)
) DEFAULT CHARSET=utf8mb4;

INSERT INTO countries (code, name) VALUES
  ('DE', 'Germany'), ('FR', 'France'), ('JP', 'Japan'), ('US', 'United States'), ('BR', 'Brazil');

INSERT INTO customers (email, name, country_code) VALUES
  ('ada@example.com', 'Ada Lovelace', 'US'),
  ('jose@example.com', 'José Álvarez', 'BR'),
  ('yuki@example.com', '佐藤 由紀', 'JP'),
  ('marie@example.com', 'Marie Dubois', 'FR'),
  ('jonas@example.com', 'Jonas Müller', 'DE');

INSERT INTO products (sku, name, price, attributes) VALUES
  ('MUG-01', 'Coffee mug', 9.90, '{"color": "white", "ml": 350}'),
  ('TEE-M', 'T-shirt, size M', 19.00, '{"size": "M"}'),
  ('BAG-01', 'Tote bag', 14.50, NULL),
  ('PEN-10', 'Pens, box of 10', 4.99, '{"count": 10}');

INSERT INTO orders (customer_id, status, total) VALUES
  (1, 'shipped', 28.90), (2, 'paid', 19.00), (3, 'new', 14.50), (4, 'cancelled', 4.99), (5, 'paid', 33.89);

INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price) VALUES
  (1, 1, 1, 1, 9.90), (1, 2, 2, 1, 19.00),
  (2, 1, 2, 1, 19.00),
  (3, 1, 3, 1, 14.50),
  (4, 1, 4, 1, 4.99),
  (5, 1, 1, 2, 9.90), (5, 2, 3, 1, 14.09);

-- Some life for the demo: a new order every 30 seconds and a status change, so each scheduled run has
-- rows to copy (watch dbsync_rows_total grow). MySQL 8 runs the event scheduler by default. The mysql
-- client reads this file, hence DELIMITER around the compound statement.
DELIMITER //
CREATE EVENT shop_activity ON SCHEDULE EVERY 30 SECOND DO
BEGIN
  INSERT INTO orders (customer_id, status, total) VALUES (1 + FLOOR(RAND() * 5), 'new', ROUND(5 + RAND() * 95, 2));
  UPDATE orders SET status = 'paid' WHERE status = 'new' ORDER BY id LIMIT 1;
END //
DELIMITER ;
