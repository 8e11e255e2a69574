import { createRequire } from 'node:module'
import { connect as netConnect, type Socket } from 'node:net'
import type { Pool as CorePool } from 'mysql2'
import type { Connection, PoolConnection } from 'mysql2/promise'
import { log } from '../observe/log.js'

/*
 * The one place dbsync touches mysql2 beyond its public API, and the one place that knows how mysql2
 * reports a lost connection. Everything here is pinned to what test/integration/driver-contract.test.ts
 * checks against mysql2's real objects on a real server; package.json pins mysql2 exactly for that reason.
 */

/** The mysql2 this process loaded, read from its package.json at start-up. */
export const MYSQL2_VERSION: string = (
  createRequire(import.meta.url)('mysql2/package.json') as { version: string }
).version

/**
 * The mysql2 versions whose Query command parses text rows through `_rowParser` the way the row hook
 * expects (lib/commands/query.js: `this._rowParser = ...` once the column definitions are in, then
 * `this._rowParser.next(packet)` per row, the packet's `offset` at the row's first byte). Widen it only
 * after the contract test passed on the new version.
 */
export const ROW_HOOK_TESTED = { from: '3.24.6', to: '3.24.6' } as const

/** Whether `version` lies in the tested range (inclusive; plain x.y.z, anything else is outside). */
export function rowHookSupported(version: string, range: { from: string; to: string } = ROW_HOOK_TESTED) {
  const v = parseVersion(version)
  const from = parseVersion(range.from)
  const to = parseVersion(range.to)
  return v !== null && from !== null && to !== null && compare(v, from) >= 0 && compare(v, to) <= 0
}

const ROW_HOOK_ENABLED = rowHookSupported(MYSQL2_VERSION)
let warned = false

function parseVersion(v: string): number[] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

/** A text-protocol row as mysql2 hands it over with `typeCast: false, rowsAsArray: true`. */
export type RawRow = Array<Buffer | null>

/** mysql2's own connection under the promise wrapper: streaming reads need its event-emitting commands. */
export interface CoreConnection {
  query(options: object): QueryCommand
  pause(): void
  resume(): void
  on(event: 'error', listener: (err: Error) => void): void
  removeListener(event: 'error', listener: (err: Error) => void): void
}

/** mysql2's Query command, as far as dbsync uses it (its public event interface). */
export interface QueryCommand {
  on(event: string, listener: (...args: never[]) => void): void
  removeListener(event: string, listener: (...args: never[]) => void): void
  stream(options?: object): AsyncIterable<RawRow> & { destroy(err?: Error): void }
}

/** The core connection under a promise connection (its public `connection` property). */
export function coreConnection(conn: PoolConnection | Connection): CoreConnection {
  return (conn as unknown as { connection: CoreConnection }).connection
}

/**
 * Hear of the connection's loss while a streaming query runs. mysql2 reports a lost connection to the
 * connection itself, not to a query started without a callback, so a read cut mid-result would otherwise
 * wait for its idle bound. Returns the function that stops listening.
 */
export function onConnectionLost(core: CoreConnection, lost: (err: Error) => void): () => void {
  core.on('error', lost)
  return () => core.removeListener('error', lost)
}

/** How mysql2 and Node name a connection that is gone: mysql2's own codes, the socket's, and the client's. */
const LOST_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])
/** CR_SERVER_GONE_ERROR, CR_SERVER_LOST: for errors mysql2 does not name. */
const LOST_ERRNOS = new Set([2006, 2013])
/** mysql2's messages for a command sent on, or cut off with, a dead connection. */
const LOST_MESSAGE = /Connection lost|closed state|Can't add new command when connection is in closed state/i

/**
 * Whether this error (itself, not its causes) says the connection is gone: the one place that knows how
 * mysql2 reports a lost connection. onConnectionLost hears of it during a streaming read; retries ask here.
 */
export function isConnectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null
  if (!e) return false
  if (typeof e.code === 'string' && LOST_CODES.has(e.code)) return true
  if (typeof e.errno === 'number' && LOST_ERRNOS.has(e.errno)) return true
  return LOST_MESSAGE.test(String(e.message))
}

/** What mysql2's row parser returns for a row the hook has already consumed. */
export const ROW_CONSUMED = Object.freeze({ consumed: true })

/** The hooked command's own property: mysql2 assigns its row parser to it. */
const ROW_PARSER = '_rowParser'

/** What a hook saw of mysql2 (the contract test reads it). */
export interface RowHook {
  /** How many parsers mysql2 assigned, and the hook set aside (one per result set). */
  replaced: number
}

/**
 * Have mysql2 hand each text-protocol row packet to `onRow` instead of building an array of Buffers per
 * row (a dozen objects a row, most of this process's work and garbage on a big copy). Returns null, and
 * leaves the command alone, when this mysql2 is outside the tested range or its Query has no row-parser
 * slot: the caller then takes the rows mysql2 emits, slower and never different.
 */
export function hookRowPackets(command: QueryCommand, onRow: (buf: Buffer, offset: number) => void) {
  if (!ROW_HOOK_ENABLED || !Object.hasOwn(command, ROW_PARSER)) {
    if (!warned) {
      warned = true
      log().warn(
        { event: 'row_hook_off', mysql2: MYSQL2_VERSION },
        `mysql2 ${MYSQL2_VERSION} is not the tested ${ROW_HOOK_TESTED.from}..${ROW_HOOK_TESTED.to}: bulk reads take mysql2's row arrays (slower, same bytes)`,
      )
    }
    return null
  }
  const hook: RowHook = { replaced: 0 }
  const parser = {
    next(packet: { buffer?: unknown; offset?: unknown }) {
      // A packet of another shape would be read at the wrong bytes: fail the read instead.
      if (!Buffer.isBuffer(packet.buffer) || typeof packet.offset !== 'number')
        throw new Error(`mysql2 ${MYSQL2_VERSION} handed the row hook a packet of an unknown shape`)
      onRow(packet.buffer, packet.offset)
      return ROW_CONSUMED
    },
  }
  Object.defineProperty(command, ROW_PARSER, {
    configurable: true,
    get: () => parser,
    // mysql2 assigns its own parser once a result's column definitions are in. That parser is set aside on
    // purpose, ours reads the same packets, and counted, so a test can see mysql2 really took this path.
    set: () => {
      hook.replaced++
    },
  })
  return hook
}

/** Every server socket of this process not yet closed, with its pool's label. */
const serverSockets = new Map<Socket, string>()

/** What server sockets are still open, for the report of a process that does not exit (cli/main.ts). */
export function openServerSockets(): string[] {
  return [...serverSockets.values()]
}

/** Connection counts of one pool, from its public events (PoolBook). */
export interface PoolCounts {
  inUse: number
  idle: number
}

/**
 * Our own record of a pool's connections, kept from mysql2's public pool events and the sockets: counts
 * for the pool gauges, and every socket, so that a close a stalled peer never acknowledges can still be
 * cut (mysql2's destroy() only half-closes with stream.end(), and a half-open socket keeps the process
 * alive). A connection handed straight from one request to a queued one emits no event: it stays busy.
 */
export class PoolBook {
  private readonly sockets = new Set<Socket>()
  private readonly pooled = new Set<unknown>()
  private readonly busy = new Set<unknown>()
  private wasCut = false

  /** `label` names the pool in the report of a process held open (side and address, no credentials). */
  constructor(private readonly label: string) {}

  /**
   * For mysql2's public `stream` option: open each connection's socket here, so that it is in the book
   * from its first byte. A pool emits 'connection' only for a handshake that finished before pool.end();
   * one still connecting then gets a Quit queued behind its handshake and no event, and when the peer
   * stalls or never answers that Quit, only cut() can end it. Keepalive and no-delay as mysql2 sets them.
   */
  socketFactory(host: string, port: number, keepAliveMs: number): () => Socket {
    return () => {
      const socket = netConnect({
        host,
        port,
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: keepAliveMs,
      })
      this.track(socket)
      return socket
    }
  }

  private track(socket: Socket): void {
    if (this.sockets.has(socket)) return
    // A straggler opening a connection after the cut (a retry racing the close) gets none.
    if (this.wasCut) socket.destroy()
    this.sockets.add(socket)
    serverSockets.set(socket, this.label)
    socket.once('close', () => {
      this.sockets.delete(socket)
      serverSockets.delete(socket)
    })
  }

  /** Follow the pool's connections: 'connection' adds one, 'acquire'/'release' move it. */
  follow(core: CorePool): void {
    core.on('acquire', (conn) => {
      if (this.pooled.has(conn)) this.busy.add(conn)
    })
    core.on('release', (conn) => this.busy.delete(conn))
  }

  /** Remember a connection's socket (a pooled one also counts toward the gauges); null when it has none. */
  watch(conn: unknown, pooled: boolean): Socket | null {
    const socket = socketOf(conn)
    if (!socket) return null
    // After a TLS upgrade the connection's stream is the TLS socket over the one socketFactory opened.
    this.track(socket)
    if (pooled) {
      this.pooled.add(conn)
      // 'acquire' comes after 'connection' for a new connection: it is busy from the start.
      this.busy.add(conn)
    }
    socket.once('close', () => {
      this.pooled.delete(conn)
      this.busy.delete(conn)
    })
    return socket
  }

  counts(): PoolCounts {
    return { inUse: this.busy.size, idle: Math.max(0, this.pooled.size - this.busy.size) }
  }

  /** Cut every socket at once: queries in flight fail with PROTOCOL_CONNECTION_LOST, nothing stays open. */
  cut(): void {
    this.wasCut = true
    for (const socket of this.sockets) socket.destroy()
  }
}

/** The socket under a mysql2 connection (its `stream`), or null. */
export function socketOf(conn: unknown): Socket | null {
  return (conn as { stream?: Socket } | null)?.stream ?? null
}
