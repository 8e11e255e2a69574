import { createHash } from 'node:crypto'
import type mysql from 'mysql2/promise'

const q = (name: string) => '`' + name.replace(/`/g, '``') + '`'

/**
 * A fingerprint of everything a command could have written to a database: the catalog (tables, columns,
 * indexes, creation times, AUTO_INCREMENT counters) and CHECKSUM TABLE of every table. Equal
 * fingerprints before and after mean the command wrote nothing there.
 */
export async function databaseImage(conn: mysql.Connection): Promise<{ tables: string[]; hash: string }> {
  const [tables] = await conn.query(
    `SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT, CREATE_TIME, AUTO_INCREMENT
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`,
  )
  const [columns] = await conn.query(
    `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, COLLATION_NAME,
            EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  )
  const [indexes] = await conn.query(
    `SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, INDEX_TYPE
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  )
  const names = (tables as Array<{ TABLE_NAME: string }>).map((t) => t.TABLE_NAME)
  const [sums] = names.length ? await conn.query(`CHECKSUM TABLE ${names.map(q).join(', ')} EXTENDED`) : [[]]
  const hash = createHash('sha256').update(JSON.stringify({ tables, columns, indexes, sums })).digest('hex')
  return { tables: names, hash }
}
