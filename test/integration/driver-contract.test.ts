import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net'
import mysql, { type Pool as CorePool, type PoolConnection } from 'mysql2'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  BYTES_QUERY_ENABLED,
  destroyConnection,
  hookRowPackets,
  PACKET_HEADER_ROOM,
  type QueryCommand,
  queryBytes,
  type RawRow,
  ROW_CONSUMED,
} from '../../src/db/driver.js'
import { openServerSockets, PoolBook } from '../../src/db/pool-book.js'
import { repoRoot, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { startProxy } from '../support/proxy.js'
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

/** A pipeline of table `t` in the `mysql` database of `source` and of the target server, with its query_timeout. */
function mysqlDbPipeline(source: URL, queryTimeout: string): Promise<string> {
  const onMysql = (u: URL) => Object.assign(new URL(u), { pathname: '/mysql' }).toString()
  return writeTempPipeline(
    pipelineYaml({
      sourceUrl: onMysql(source),
      targetUrl: onMysql(new URL(inject('targetUrl'))),
      tables: '  - name: t',
      extra: `query_timeout: ${queryTimeout}`,
    }),
  )
}

describe('mysql2 as db/driver.ts uses it', () => {
  let pool: CorePool
  const book = new PoolBook('contract')

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

  it('sends a statement from its own bytes as the COM_QUERY packet (db/driver.ts queryBytes)', async () => {
    expect(BYTES_QUERY_ENABLED).toBe(true)
    const conn = await pool.promise().getConnection()
    const db = `contract_bytes_${process.pid}_${Date.now()}`
    /** `sql` after the header room, as sql-writer.ts lays a statement out. */
    const bytes = (sql: string) => {
      const text = Buffer.from(sql, 'utf8')
      const buf = Buffer.alloc(PACKET_HEADER_ROOM + text.length + 10, 0xee)
      text.copy(buf, PACKET_HEADER_ROOM)
      return { buf, end: PACKET_HEADER_ROOM + text.length }
    }
    try {
      await conn.query(`CREATE DATABASE ${db}`)
      await conn.query(`USE ${db}`)
      await conn.query('CREATE TABLE contract_bytes (id INT PRIMARY KEY, v VARCHAR(20))')
      const insert = bytes("INSERT INTO contract_bytes VALUES (1, 'é'), (2, 'a\\\\b'), (3, NULL)")
      const res = await queryBytes(conn, insert.buf, insert.end)
      expect(res).toMatchObject({ affectedRows: 3 })
      const [rows] = await conn.query('SELECT id, HEX(v) AS v FROM contract_bytes ORDER BY id')
      expect(rows).toEqual([
        { id: 1, v: 'C3A9' },
        { id: 2, v: Buffer.from('a\\b').toString('hex').toUpperCase() },
        { id: 3, v: null },
      ])
      // A statement the server refuses rejects with the server's error, and the connection goes on.
      const wrong = bytes('INSERT INTO contract_bytes VALUES (1, NULL)')
      await expect(queryBytes(conn, wrong.buf, wrong.end)).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
      const [[one]] = (await conn.query('SELECT COUNT(*) AS n FROM contract_bytes')) as unknown as [
        [{ n: number }],
      ]
      expect(Number(one.n)).toBe(3)
    } finally {
      await conn.query(`DROP DATABASE IF EXISTS ${db}`)
      conn.release()
    }
  })

  it('destroyConnection fails a statement still running on the connection', async () => {
    const conn = await pool.promise().getConnection()
    const running = conn.query('SELECT SLEEP(600)').then(
      () => 'answered',
      (err: { code?: string }) => err.code,
    )
    destroyConnection(conn)
    expect(await running).toBe('PROTOCOL_CONNECTION_LOST')
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

// A connection still in its handshake when the pool ends never emits 'connection': mysql2 queues a Quit
// behind the handshake and, if the peer never answers, keeps the socket open for good. A sync whose last
// retry opened such a connection finished its run and then never exited (faults-network.test.ts, once
// in six suite runs on a loaded machine). The pool's book opens every socket itself, through mysql2's
// public `stream` option, so cutting reaches those too.
describe('a connection whose handshake is pending when the pool closes', () => {
  it('opens its socket through the stream option, so cut() reaches it', async () => {
    const server = new URL(inject('sourceUrl'))
    const proxy = await startProxy({ targetHost: server.hostname, targetPort: Number(server.port) })
    try {
      const own = new PoolBook('contract stalled')
      const opened: Socket[] = []
      const factory = own.socketFactory(proxy.host, proxy.port, 10_000)
      const pool = mysql.createPool({
        ...connectionOptions(proxy.url(inject('sourceUrl'))),
        connectTimeout: 0,
        stream: () => {
          const socket = factory()
          opened.push(socket)
          return socket
        },
      } as mysql.PoolOptions)
      proxy.stall()
      const pending = new Promise<unknown>((resolve) => pool.getConnection((err) => resolve(err)))
      expect(opened).toHaveLength(1)
      const socket = opened[0] as Socket
      await once(socket, 'connect')
      // The Quit is queued behind a handshake that never ends: pool.end() cannot finish by itself.
      pool.end(() => undefined)
      own.cut()
      await once(socket, 'close')
      expect(await pending).toBeInstanceOf(Error)
      expect(openServerSockets()).not.toContain('contract stalled')
      // A connection opened after the cut (a retry racing the close) is cut as it opens.
      expect(factory().destroyed).toBe(true)
    } finally {
      await proxy.close()
    }
  })

  it('Db.close() ends every socket, even one whose peer never greets: the process exits', async () => {
    const server = new URL(inject('sourceUrl'))
    // The pool's first connection reaches the server; every later one meets a peer that accepts and
    // never says a word (a server too busy to greet, a proxy whose backend is gone).
    const silent: Socket[] = []
    const peer = createServer((client) => {
      client.on('error', () => undefined)
      if (silent.length > 0 || forwarded) return void silent.push(client)
      forwarded = true
      const upstream = netConnect({ host: server.hostname, port: Number(server.port) })
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      client.pipe(upstream).pipe(client)
    })
    let forwarded = false
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve))
    try {
      const through = new URL(inject('sourceUrl'))
      through.hostname = '127.0.0.1'
      through.port = String((peer.address() as AddressInfo).port)
      through.pathname = '/mysql'
      // A connect timeout so long that only the cut can end the silent handshake within the test.
      through.searchParams.set('connect-timeout', '3600')
      // One connection for connect()'s check: no TLS attempt followed by a plain retry.
      through.searchParams.set('ssl-mode', 'DISABLED')
      const file = await mysqlDbPipeline(through, '2s')
      expect(await runScript(CLOSE_WHILE_HANDSHAKING, file)).toEqual({
        out: 'closed\nsecond failed\n',
        code: 0,
        signal: null,
      })
      expect(silent.length).toBe(1)
    } finally {
      for (const s of silent) s.destroy()
      peer.close()
    }
  }, 120_000)

  // The hang found in faults-network.test.ts: a run's attempt failed on one side while a read was still
  // running on the other; the read's connection was destroyed with mysql2's destroy(), which never settled
  // that read, and the timer bounding it (query_timeout) held the finished process open for that long.
  it('a statement left on a destroyed connection holds no finished process open', async () => {
    const file = await mysqlDbPipeline(new URL(inject('sourceUrl')), '1h')
    expect(await runScript(DESTROY_WHILE_READING, file)).toEqual({
      out: 'closed\nPROTOCOL_CONNECTION_LOST\n',
      code: 0,
      signal: null,
    })
  }, 120_000)
})

/** Run by the test above: hold the pool's one connection, ask for a second (it never connects), close. */
const CLOSE_WHILE_HANDSHAKING = `
import { loadPipeline } from './dist/config/load.js'
import { connect } from './dist/db/connect.js'
const db = await connect((await loadPipeline(process.argv[1])).source)
const held = await db.pool.getConnection()
const second = db.pool.query('SELECT 1').then(() => 'second answered', () => 'second failed')
held.release()
await db.close()
process.stdout.write('closed\\n' + await second + '\\n')
`

/** Run by the test above: a read bounded by an hour, its connection destroyed under it, the Db closed. */
const DESTROY_WHILE_READING = `
import { loadPipeline } from './dist/config/load.js'
import { connect } from './dist/db/connect.js'
import { destroyConnection } from './dist/db/driver.js'
import { queryWithTimeout } from './dist/sync/read.js'
const db = await connect((await loadPipeline(process.argv[1])).source)
const conn = await db.pool.getConnection()
const read = queryWithTimeout(conn, { sql: 'SELECT SLEEP(3600)' }, 3_600_000).then(() => 'answered', (e) => e.code)
destroyConnection(conn)
await db.close()
process.stdout.write('closed\\n' + await read + '\\n')
`

/**
 * Run `script` with `file` in a process of its own, so that "nothing is left open" means what it means: the
 * process exits. Not a wait: a process still alive 60 s on is hung (killed), and the test fails on that.
 */
async function runScript(script: string, file: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, file], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
  })
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null]
  clearTimeout(guard)
  return { out, code, signal }
}
