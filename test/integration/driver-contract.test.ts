import mysql, { type Pool as CorePool, type PoolConnection } from 'mysql2'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  hookRowPackets,
  PoolBook,
  type QueryCommand,
  type RawRow,
  ROW_CONSUMED,
} from '../../src/db/driver.js'
import { connectionOptions } from '../support/urls.js'

// Contract test of the mysql2 internals db/driver.ts relies on, against mysql2's real objects on a real
// server. If an upgrade changes how the Query command parses rows, or what the pool emits, this fails
// loudly here instead of a bulk copy writing wrong bytes or the pool gauges reading 0.

/** The length-encoded strings of a text-protocol row packet from `offset` (null for 0xFB). */
function decodeRow(buf: Buffer, offset: number, columns: number): RawRow {
  const row: RawRow = []
  let at = offset
  for (let i = 0; i < columns; i++) {
    const first = buf[at]!
    at++
    if (first === 0xfb) {
      row.push(null)
      continue
    }
    let len = first
    if (first === 0xfc) {
      len = buf.readUInt16LE(at)
      at += 2
    } else if (first === 0xfd) {
      len = buf.readUIntLE(at, 3)
      at += 3
    } else if (first === 0xfe) {
      len = Number(buf.readBigUInt64LE(at))
      at += 8
    }
    row.push(Buffer.from(buf.subarray(at, at + len)))
    at += len
  }
  return row
}

const SELECT =
  "SELECT 'a' AS a, NULL AS b, REPEAT('x', 300) AS c, '' AS d, CAST(12345678901234567890.123456 AS DECIMAL(38,6)) AS e " +
  "UNION ALL SELECT 'é', 'NULL', REPEAT('y', 70000), 'z', NULL"

describe('mysql2 as db/driver.ts uses it', () => {
  let pool: CorePool
  const book = new PoolBook()

  beforeAll(() => {
    pool = mysql.createPool({
      ...connectionOptions(inject('sourceUrl')),
      connectionLimit: 3,
    } as mysql.PoolOptions)
    book.follow(pool)
    pool.on('connection', (conn) => book.watch(conn, true))
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => pool.end(() => resolve()))
  })

  const take = () =>
    new Promise<PoolConnection>((resolve, reject) =>
      pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))),
    )

  /** Rows of SELECT as mysql2 itself returns them, unhooked. */
  async function plainRows(conn: PoolConnection): Promise<RawRow[]> {
    return new Promise((resolve, reject) =>
      conn.query({ sql: SELECT, typeCast: false, rowsAsArray: true }, (err, rows) =>
        err ? reject(err) : resolve(rows as RawRow[]),
      ),
    )
  }

  it('hands the row hook each row packet at its first byte, and mysql2 assigns its parser once', async () => {
    const conn = await take()
    try {
      const expected = await plainRows(conn)
      expect(expected).toHaveLength(2)
      const hooked: RawRow[] = []
      const results: unknown[] = []
      const command = conn.query({
        sql: SELECT,
        typeCast: false,
        rowsAsArray: true,
      }) as unknown as QueryCommand
      const hook = hookRowPackets(command, (buf, offset) => hooked.push(decodeRow(buf, offset, 5)))
      expect(hook).not.toBeNull()
      await new Promise<void>((resolve, reject) => {
        command.on('result', (row: never) => results.push(row))
        command.on('end', () => resolve())
        command.on('error', (err: never) => reject(err))
      })
      expect(hook?.replaced).toBe(1)
      expect(results).toEqual([ROW_CONSUMED, ROW_CONSUMED])
      expect(hooked).toEqual(expected)
    } finally {
      conn.release()
    }
  })

  it('counts the pool from its events, and cutting the sockets fails a statement in flight', async () => {
    const [a, b] = [await take(), await take()]
    expect(book.counts()).toEqual({ inUse: 2, idle: 0 })
    b.release()
    expect(book.counts()).toEqual({ inUse: 1, idle: 1 })
    const c = await take()
    expect(book.counts()).toEqual({ inUse: 2, idle: 0 })
    c.release()
    const stuck = new Promise<unknown>((resolve) => a.query('SELECT SLEEP(600)', (err) => resolve(err)))
    book.cut()
    expect(await stuck).toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' })
    expect(book.counts()).toEqual({ inUse: 0, idle: 0 })
    a.release()
  })
})
