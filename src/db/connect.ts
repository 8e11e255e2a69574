import { isIP } from 'node:net'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { Kysely, MysqlDialect } from 'kysely'
import mysql, { type Pool as CorePool, type PoolOptions } from 'mysql2'
import type { Connection, Pool as PromisePool } from 'mysql2/promise'
import type { ConnectionOptions } from '../config/types.js'
import { ConnectError } from '../errors.js'
import { redact } from '../observe/redact.js'
import { detectFlavor, type Flavor } from './flavor.js'
import { guardPool, type PoolHooks, waitWhileRefused } from './pool-guard.js'
import { authPlugins, RSA_KEY_REFUSED } from './rsa-key.js'
import { sslConfig } from './ssl.js'

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

/** Kysely over tables known only at run time (the source's schema): there is no static database type. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type DynamicKysely = Kysely<any>

/** An open pool to one side, with what was learned about the server when it was opened. */
export interface Db {
  side: 'source' | 'target'
  options: ConnectionOptions
  /** For hand-written SQL on the hot path. */
  pool: PromisePool
  /** For the rest. */
  // biome-ignore lint/suspicious/noExplicitAny: tables are dynamic (source schemas), so no static DB type exists
  kysely: Kysely<any>
  flavor: Flavor
  /** The server's max_allowed_packet in bytes. */
  maxAllowedPacket: number
  /** `host:port` for messages (never the user or password). */
  address: string
  /** Requests waiting because the server refused new connections (db/pool-guard.ts). */
  refusedWaiting(): number
  /** A connection outside the pool (same options and session settings), e.g. to hold a named lock. */
  dedicated(): Promise<Connection>
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

async function open(
  options: ConnectionOptions,
  address: string,
  tls: 'try-tls' | 'as-configured' | 'plain',
  hooks?: PoolHooks,
) {
  const poolOptions: PoolOptions = {
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
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    multipleStatements: false,
    waitForConnections: true,
    queueLimit: 0,
    // Without FOUND_ROWS, an upsert that changes nothing reports 0 affected rows: write.ts counts on it.
    flags: ['-MULTI_STATEMENTS', '-FOUND_ROWS'],
    // MySQL 8's caching_sha2_password without TLS: never fetch the server's RSA key unasked (rsa-key.ts).
    authPlugins: authPlugins(options.rsaKey),
  }
  const ssl = tls === 'plain' ? undefined : sslConfig(options.ssl)
  const checkIpIdentity = ssl?.verifyIdentity === true && isIP(options.host) !== 0
  // mysql2 names no servername for an IP host, so Node checked the certificate against "localhost"
  // instead of the IP (a cert for localhost passed for 127.0.0.2; one for the IP alone failed): for IP
  // hosts, identityError() does the check after the handshake. test/integration/tls.test.ts.
  if (ssl) poolOptions.ssl = checkIpIdentity ? { ...ssl, verifyIdentity: false } : ssl
  // Once a check failed, every later connection of this pool fails too: mysql2 may already have cached
  // the TLS session, and a resumed session shows no certificate to check.
  let identityFailure: Error | undefined
  const wrongHost = (conn: unknown) => {
    if (checkIpIdentity) identityFailure ??= identityError(options.host, conn)
    return identityFailure
  }
  const core: CorePool = mysql.createPool(poolOptions)
  const guard = {
    side: options.side,
    address,
    acquireTimeoutMs: options.acquireTimeoutMs,
    ...(hooks ? { hooks } : {}),
  }
  const refusedWaiting = guardPool(core, guard)
  // Every socket of the pool, so a close that a stalled peer never acknowledges can still be cut.
  const sockets = new Set<import('node:net').Socket>()
  // A peer that stops answering without closing (a hung server, a NAT box) is invisible to TCP keepalive.
  // Failing the socket when nothing moves for query_timeout fails the statement in flight the way a cut
  // does, so the retry logic takes over; no statement of ours waits that long silently. Every socket is
  // also remembered, so that a close the stalled peer never acknowledges can still be cut: mysql2's
  // destroy() only half-closes (stream.end()), and a half-open socket keeps the process alive.
  const watch = (conn: unknown, stall: boolean) => {
    const socket = (conn as { stream?: import('node:net').Socket }).stream
    if (!socket) return
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    if (stall)
      socket.setTimeout(options.stallTimeoutMs, () => {
        const err = Object.assign(
          new Error(
            `no answer from ${options.side} ${address} for ${options.stallTimeoutMs} ms (query_timeout)`,
          ),
          { code: 'ETIMEDOUT' },
        )
        socket.destroy(err)
      })
  }
  core.on('connection', (conn) => {
    if (wrongHost(conn)) {
      conn.destroy()
      return
    }
    watch(conn, true)
    // Queued before any other statement on this connection, so it always runs first.
    conn.query(SESSION_INIT, (err: Error | null) => {
      if (err) conn.destroy()
    })
  })
  const pool = core.promise()
  try {
    const [rows] = await pool.query(
      'SELECT VERSION() AS version, @@version_comment AS comment, @@max_allowed_packet AS packet, ' +
        '@@session.time_zone AS tz, DATABASE() AS db',
    )
    const row = (
      rows as Array<{ version: string; comment: string; packet: string; tz: string; db: string | null }>
    )[0]
    if (!row) throw new Error('no answer to SELECT VERSION()')
    if (row.tz !== '+00:00') throw new Error(`session time_zone is ${row.tz}, expected +00:00`)
    const flavor = detectFlavor(row.version, row.comment)
    // biome-ignore lint/suspicious/noExplicitAny: see Db.kysely
    const kysely = new Kysely<any>({ dialect: new MysqlDialect({ pool: core }) })
    let closed = false
    return {
      side: options.side,
      options,
      pool,
      kysely,
      flavor,
      maxAllowedPacket: Number(row.packet),
      address,
      refusedWaiting,
      async dedicated() {
        const conn = await waitWhileRefused(guard, async () => {
          const c = mysql.createConnection(poolOptions).promise()
          // Remembered but never timed out: the run lock's connection rightly sits idle for the whole run.
          watch((c as unknown as { connection: unknown }).connection, false)
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
        const failure = wrongHost((conn as unknown as { connection: unknown }).connection)
        if (failure) {
          conn.destroy()
          throw toConnectError(failure, options, address)
        }
        return conn
      },
      async close() {
        if (closed) return
        closed = true
        await closePool(pool, sockets, Math.min(CLOSE_TIMEOUT_MS, options.stallTimeoutMs))
      },
    } satisfies Db
  } catch (err) {
    await pool.end().catch(() => undefined)
    throw identityFailure ?? err
  }
}

/** Node's host name check of a TLS connection's certificate against `host` (an IP address here). */
function identityError(host: string, conn: unknown): Error | undefined {
  const stream = (
    conn as {
      stream?: { isSessionReused?(): boolean; getPeerCertificate?(detailed: boolean): PeerCertificate }
    }
  ).stream
  // A resumed session carries no certificate; it resumes an earlier handshake of this pool, checked here.
  if (stream?.isSessionReused?.()) return undefined
  const cert = stream?.getPeerCertificate?.(true)
  if (!cert || Object.keys(cert).length === 0) {
    return Object.assign(new Error(`no server certificate to check against ${host}`), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    })
  }
  return checkServerIdentity(host, cert)
}

function isNoTlsSupport(err: unknown): boolean {
  const e = err as { code?: string; message?: string }
  return (
    e?.code === 'HANDSHAKE_NO_SSL_SUPPORT' || /does not support secure connection/i.test(e?.message ?? '')
  )
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HANDSHAKE_NO_SSL_SUPPORT',
  'HANDSHAKE_SSL_ERROR',
])

/** Map a connect-time failure to exit 3 with the host and the server's reason, never the password. */
export function toConnectError(err: unknown, options: ConnectionOptions, address: string): ConnectError {
  // Already ours and worded (db/pool-guard.ts: no connection within pool.acquire_timeout).
  if (err instanceof ConnectError) return err
  const e = err as { code?: string; errno?: number; message?: string }
  const where = `${options.side} ${address}`
  const urlVar = options.side === 'source' ? 'the source url' : 'the target url'
  const reason = redact(e?.message ?? String(err))
  let message: string
  let hint: string
  if (e?.message?.includes(RSA_KEY_REFUSED)) {
    return new ConnectError(
      `${where}: ${RSA_KEY_REFUSED} (caching_sha2_password without TLS), and dbsync does not fetch that key unasked`,
      `use TLS (ssl-mode=REQUIRED), or give the key with server-public-key-path=/path/to/public_key.pem in ${urlVar}, ` +
        'or add get-server-public-key=true to trust the key the server sends (safe on a trusted network only)',
      { cause: err },
    )
  }
  switch (e?.code) {
    case 'ECONNREFUSED':
      message = `${where}: connection refused`
      hint = `is the server running and is ${urlVar} right?`
      break
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `${where}: host not found`
      hint = `check the host in ${urlVar}`
      break
    case 'ETIMEDOUT':
      message = `${where}: connection timed out`
      hint = 'check the host, port and firewall'
      break
    case 'ER_DBACCESS_DENIED_ERROR':
      // The login worked; the user lacks rights on the database named in the URL.
      message = `${where}: access denied: ${reason}`
      hint = `the user logged in but may not use database "${options.database}": GRANT it the privileges (see README, Least privilege), or check the database in ${urlVar}`
      break
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      message = `${where}: access denied: ${reason}`
      hint = `check the user and password in ${urlVar}`
      // MariaDB refuses a plain login under require_secure_transport=ON with this very error (no
      // ER_SECURE_TRANSPORT_REQUIRED): say so when the login was unencrypted (tls.test.ts).
      if (options.ssl.mode === 'disabled') {
        hint +=
          '; a server with require_secure_transport=ON refuses unencrypted logins this way too: use ssl-mode=REQUIRED or stronger'
      }
      break
    case 'ER_BAD_DB_ERROR':
      message = `${where}: database "${options.database}" does not exist`
      hint = `create it first (CREATE DATABASE ...) or fix the database in ${urlVar}`
      break
    default:
      if (e?.code && TLS_CODES.has(e.code)) {
        message = `${where}: TLS handshake failed: ${reason}`
        hint = 'check ssl mode, the CA file and that the host name matches the certificate'
      } else {
        message = `${where}: cannot connect: ${reason}`
        hint = `check ${urlVar}`
      }
  }
  return new ConnectError(message, hint, { cause: err })
}

const CLOSE_TIMEOUT_MS = 5_000

/**
 * End a pool politely, or destroy its connections when a peer stopped answering: pool.end() waits for
 * every connection to say goodbye, and a stalled one never does, which would keep the process alive.
 */
async function closePool(
  pool: PromisePool,
  sockets: Set<import('node:net').Socket>,
  boundMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const ended = pool.end().then(
    () => true,
    () => true,
  )
  const expired = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), boundMs)
  })
  const polite = await Promise.race([ended, expired])
  clearTimeout(timer)
  // A half-closed socket waits for the peer's goodbye, which a stalled peer never sends: whatever is
  // still open a moment after the polite close is cut. Unref'd, the timer never delays a clean exit.
  const cut = () => {
    for (const socket of sockets) socket.destroy()
  }
  if (polite) setTimeout(cut, 1000).unref()
  else cut()
}
