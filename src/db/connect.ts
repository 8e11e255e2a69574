import { isIP, type Socket } from 'node:net'
import { Kysely, MysqlDialect } from 'kysely'
import mysql, { type Pool as CorePool, type PoolOptions } from 'mysql2'
import type { Connection, Pool as PromisePool } from 'mysql2/promise'
import type { ConnectionOptions } from '../config/types.js'
import { withDeadline } from '../observe/deadline.js'
import { identityError, isNoTlsSupport, toConnectError } from './connect-error.js'
import { coreConnection } from './driver.js'
import { detectFlavor, type Flavor } from './flavor.js'
import { PoolBook, type PoolCounts } from './pool-book.js'
import { guardPool, type PoolHooks, waitWhileRefused } from './pool-guard.js'
import { authPlugins } from './rsa-key.js'
import { sslConfig } from './ssl.js'
import type { Catalog } from './tables.js'

/**
 * Every session: UTC, so TIMESTAMP values cross as the stored UTC instant; utf8mb4, so no text is
 * converted lossily; strict, with NO_AUTO_VALUE_ON_ZERO so a 0 in an AUTO_INCREMENT key is kept, and
 * without NO_ZERO_DATE/NO_ZERO_IN_DATE plus ALLOW_INVALID_DATES, so the zero and invalid dates a lax
 * source holds are written exactly instead of being rejected or rewritten. NO_BACKSLASH_ESCAPES and
 * ANSI_QUOTES stay off: db/quote.ts relies on both.
 */
export const SESSION_SQL_MODE =
  'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES'
const SESSION_INIT = `SET time_zone = '+00:00', sql_mode = '${SESSION_SQL_MODE}', NAMES utf8mb4`

/** An open pool to one side, with what was learned about the server when it was opened. */
export interface Db {
  side: 'source' | 'target'
  options: ConnectionOptions
  /** For hand-written SQL on the hot path. */
  pool: PromisePool
  /**
   * For the rest: the catalog typed (db/tables.ts); dbsync's own tables via state/tables.ts stateDb(); the
   * synced tables, known only at run time, through `sql` with `sql.id` / quoteId.
   */
  kysely: Kysely<Catalog>
  flavor: Flavor
  /** The server's max_allowed_packet in bytes. */
  maxAllowedPacket: number
  /** `host:port` for messages (never the user or password). */
  address: string
  /** The pool's connections in use and idle, and the requests waiting for one (for the pool gauges). */
  poolCounts(): PoolCounts & { waiting: number }
  /** A connection outside the pool (same options and session settings), e.g. to hold a named lock. */
  dedicated(): Promise<Connection>
  /** Cut every connection at once: queries in flight fail, which frees a stuck run. */
  destroy(): void
  close(): Promise<void>
}

/**
 * Open a pool and check it works: one round trip that also proves the session settings took effect.
 * Failures become ConnectError (exit 3) naming the side, host and the server's reason.
 */
export async function connect(options: ConnectionOptions, hooks?: PoolHooks): Promise<Db> {
  const address = options.host.includes(':')
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`
  let db: Db | undefined
  try {
    db = await open(options, address, options.ssl.mode === 'preferred' ? 'try-tls' : 'as-configured', hooks)
  } catch (err) {
    if (options.ssl.mode === 'preferred' && isNoTlsSupport(err)) {
      // PREFERRED means what it means for the mysql client: TLS when the server offers it, else plain.
      db = await open(options, address, 'plain', hooks).catch((e: unknown) => {
        throw toConnectError(e, options, address)
      })
    } else {
      throw toConnectError(err, options, address)
    }
  }
  return db
}

/** mysql2 options of every connection of a side: exact values, UTC, no multi-statements. */
function poolOptions(options: ConnectionOptions): PoolOptions {
  return {
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    connectionLimit: options.poolMax,
    maxIdle: options.poolMax,
    idleTimeout: 60_000,
    connectTimeout: options.connectTimeoutMs,
    charset: 'utf8mb4_general_ci',
    // Values must never pass through lossy JS types: dates and big numbers stay strings.
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    timezone: 'Z',
    // The sockets themselves are opened by the pool's book (open(), PoolBook.socketFactory), with
    // keepalive after KEEPALIVE_DELAY_MS and no Nagle delay, as mysql2 would set them.
    multipleStatements: false,
    waitForConnections: true,
    queueLimit: 0,
    // mysql2 otherwise captures a stack trace for every query, in case it fails: a thousand small tables
    // make tens of thousands of queries, and errors carry the server's code and message either way.
    trace: false,
    // Without FOUND_ROWS, an upsert that changes nothing reports 0 affected rows: write.ts counts on it.
    flags: ['-MULTI_STATEMENTS', '-FOUND_ROWS'],
    // MySQL 8's caching_sha2_password without TLS: never fetch the server's RSA key unasked (rsa-key.ts).
    authPlugins: authPlugins(options.rsaKey),
  }
}

/** What the server said about itself on the first round trip. */
interface ServerFacts {
  version: string
  comment: string
  packet: string
  tz: string
  db: string | null
}

async function serverFacts(pool: PromisePool): Promise<ServerFacts> {
  const [rows] = await pool.query(
    'SELECT VERSION() AS version, @@version_comment AS comment, @@max_allowed_packet AS packet, ' +
      '@@session.time_zone AS tz, DATABASE() AS db',
  )
  const row = (rows as ServerFacts[])[0]
  if (!row) throw new Error('no answer to SELECT VERSION()')
  if (row.tz !== '+00:00') throw new Error(`session time_zone is ${row.tz}, expected +00:00`)
  return row
}

async function open(
  options: ConnectionOptions,
  address: string,
  tls: 'try-tls' | 'as-configured' | 'plain',
  hooks?: PoolHooks,
): Promise<Db> {
  const mysqlOptions = poolOptions(options)
  const ssl = tls === 'plain' ? undefined : sslConfig(options.ssl)
  const checkIpIdentity = ssl?.verifyIdentity === true && isIP(options.host) !== 0
  // mysql2 names no servername for an IP host, so Node checked the certificate against "localhost"
  // instead of the IP (a cert for localhost passed for 127.0.0.2; one for the IP alone failed): for IP
  // hosts, identityError() does the check after the handshake. test/integration/tls.test.ts.
  if (ssl) mysqlOptions.ssl = checkIpIdentity ? { ...ssl, verifyIdentity: false } : ssl
  // Once a check failed, every later connection of this pool fails too: mysql2 may already have cached
  // the TLS session, and a resumed session shows no certificate to check.
  let identityFailure: Error | undefined
  const wrongHost = (conn: unknown) => {
    if (checkIpIdentity) identityFailure ??= identityError(options.host, conn)
    return identityFailure
  }
  const book = new PoolBook(`${options.side} ${address}`)
  mysqlOptions.stream = book.socketFactory(options.host, options.port, KEEPALIVE_DELAY_MS)
  const core: CorePool = mysql.createPool(mysqlOptions)
  const guard = {
    side: options.side,
    address,
    acquireTimeoutMs: options.acquireTimeoutMs,
    ...(hooks ? { hooks } : {}),
  }
  const waits = guardPool(core, guard)
  book.follow(core)
  core.on('connection', (conn) => {
    if (wrongHost(conn)) {
      conn.destroy()
      return
    }
    failWhenStalled(book.watch(conn, true), options, address)
    // Queued before any other statement on this connection, so it always runs first.
    conn.query(SESSION_INIT, (err: Error | null) => {
      if (err) conn.destroy()
    })
  })
  const pool = core.promise()
  try {
    const facts = await serverFacts(pool)
    const dedicated = async () => {
      const conn = await waitWhileRefused(guard, async () => {
        const c = mysql.createConnection(mysqlOptions).promise()
        // Remembered but never timed out: the run lock's connection rightly sits idle for the whole run.
        book.watch(coreConnection(c), false)
        // A connection that dies while idle (network reset, server killed) emits 'error' with no query to
        // reject it; unheard, that event crashed the whole run (test/integration/faults.test.ts, target
        // connections cut mid-sync). The next query on it fails and says so; a lock it held died with it.
        c.on('error', () => undefined)
        await c.query(SESSION_INIT).catch((err: unknown) => {
          c.destroy()
          throw err
        })
        return c
      })
      const failure = wrongHost(coreConnection(conn))
      if (failure) {
        conn.destroy()
        throw toConnectError(failure, options, address)
      }
      return conn
    }
    let closed = false
    return {
      side: options.side,
      options,
      pool,
      kysely: new Kysely<Catalog>({ dialect: new MysqlDialect({ pool: core }) }),
      flavor: detectFlavor(facts.version, facts.comment),
      maxAllowedPacket: Number(facts.packet),
      address,
      poolCounts: () => ({ ...book.counts(), waiting: waits.waiting() }),
      dedicated,
      destroy: () => book.cut(),
      async close() {
        if (closed) return
        closed = true
        await closePool(pool, book, Math.min(CLOSE_TIMEOUT_MS, options.stallTimeoutMs))
      },
    }
  } catch (err) {
    await pool.end().catch(() => undefined)
    throw identityFailure ?? err
  }
}

/**
 * A peer that stops answering without closing (a hung server, a NAT box) is invisible to TCP keepalive.
 * Failing the socket when nothing moves for query_timeout fails the statement in flight the way a cut
 * does, so the retry logic takes over; no statement of ours waits that long silently.
 */
function failWhenStalled(socket: Socket | null, options: ConnectionOptions, address: string): void {
  socket?.setTimeout(options.stallTimeoutMs, () => {
    const err = Object.assign(
      new Error(`no answer from ${options.side} ${address} for ${options.stallTimeoutMs} ms (query_timeout)`),
      { code: 'ETIMEDOUT' },
    )
    socket.destroy(err)
  })
}

const CLOSE_TIMEOUT_MS = 5_000
const KEEPALIVE_DELAY_MS = 10_000

/**
 * End a pool politely, or destroy its connections when a peer stopped answering: pool.end() waits for
 * every connection to say goodbye, and a stalled one never does, which would keep the process alive.
 */
async function closePool(pool: PromisePool, book: PoolBook, boundMs: number): Promise<void> {
  const ended = pool.end().then(
    () => true,
    () => true,
  )
  const polite = await withDeadline(ended, boundMs, () => false)
  // A half-closed socket waits for the peer's goodbye, which a stalled peer never sends: whatever is
  // still open a moment after the polite close is cut. Unref'd, the timer never delays a clean exit.
  if (polite) setTimeout(() => book.cut(), 1000).unref()
  else book.cut()
}
