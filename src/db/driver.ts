import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import type { ResultSetHeader } from 'mysql2'
import mysql from 'mysql2'
import type { Connection, PoolConnection } from 'mysql2/promise'
import { log } from '../observe/log.js'

/*
 * The one place dbsync touches mysql2 beyond its public API (the row hook, the statement-bytes packet),
 * and the one place that knows how mysql2 reports a lost connection. Pool counts and sockets, which need
 * only its public API, are kept in pool-book.ts. Everything here is pinned to what test/integration/driver-contract.test.ts
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

/**
 * Destroy a connection so that every command still on it fails (PROTOCOL_CONNECTION_LOST) instead of never
 * settling. mysql2's destroy() marks the connection as closing and then ignores its socket's close, so a
 * query left on it (a read prefetched when the attempt failed on the other side, the snapshot closed under
 * it) stayed pending for good, and the timer bounding it by query_timeout held a finished run's process
 * open for that long. Cutting the socket first is a network cut as mysql2 knows it: it fails what is in
 * flight and queued, and the pool drops the connection; destroy() then finds nothing left to do.
 */
export function destroyConnection(conn: PoolConnection | Connection): void {
  const socket = (coreConnection(conn) as unknown as { stream?: Socket }).stream
  if (!socket || socket.destroyed) {
    conn.destroy()
    return
  }
  socket.once('close', () => conn.destroy())
  socket.destroy()
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

/*
 * A COM_QUERY sent from bytes dbsync already holds, on the same tested mysql2 versions as the row hook.
 * mysql2 takes SQL text only as a string: the INSERT path's statement bytes became a string (V8 heap) and
 * then mysql2's own packet buffer, both garbage that, living as long as the statement runs on the server,
 * got promoted to the old generation. This sends the statement's own buffer as the packet.
 */

/** Only on the mysql2 versions the contract test covers; elsewhere statements go as strings. */
export const BYTES_QUERY_ENABLED = rowHookSupported(MYSQL2_VERSION)
/** Bytes a statement buffer keeps free at its start for the packet header (the longest form). */
export const PACKET_HEADER_ROOM = 7
/** mysql2's client flag for query attributes: COM_QUERY then carries two more header bytes. */
const CLIENT_QUERY_ATTRIBUTES = 0x08000000
/** Packets this long or longer are split by mysql2; those go as strings (sql-writer text()). */
export const MAX_BYTES_PACKET = 16777215 - 16

interface CoreQuery {
  _connection: unknown
  options: unknown
  _queryOptions: object
  _setTimeout(): void
}
type QueryClass = new (options: object, cb: (err: Error | null, res?: unknown) => void) => CoreQuery

/** mysql2's Query command class, taken from a command mysql2 itself made (its module is not exported). */
const Query = (
  mysql as unknown as {
    createQuery(o: object, cb: () => void, _: undefined, config: object): { constructor: QueryClass }
  }
).createQuery({ sql: '' }, () => undefined, undefined, {}).constructor
const resultsetHeader = (Query.prototype as unknown as { resultsetHeader: unknown }).resultsetHeader
const queryOptions = (
  mysql as unknown as { ConnectionConfig: { queryOptions(c: unknown, o: object): unknown } }
).ConnectionConfig.queryOptions

/** Query's start(), with the packet built from `buf[PACKET_HEADER_ROOM..end)` instead of a string. */
class BytesQuery extends Query {
  constructor(
    private readonly buf: Buffer,
    private readonly end: number,
    cb: (err: Error | null, res?: unknown) => void,
  ) {
    super({ sql: '' }, cb)
  }

  start(
    _packet: unknown,
    connection: {
      config: { clientFlags: number }
      serverCapabilityFlags?: number
      writePacket(p: object): void
    },
  ) {
    this._connection = connection
    this.options = queryOptions(connection.config, this._queryOptions)
    this._setTimeout()
    const flags = connection.config.clientFlags & (connection.serverCapabilityFlags ?? 0)
    const attrs = (flags & CLIENT_QUERY_ATTRIBUTES) !== 0
    // COM_QUERY: 3-byte length, sequence id, command 0x03, then (with query attributes) a parameter
    // count of 0 and one parameter set, then the SQL text.
    const start = attrs ? 0 : 2
    const packet = this.buf.subarray(start, this.end)
    packet[4] = 0x03
    if (attrs) {
      packet[5] = 0
      packet[6] = 1
    }
    connection.writePacket({
      buffer: packet,
      length: () => packet.length,
      writeHeader(sequenceId: number) {
        packet.writeUIntLE(packet.length - 4, 0, 3)
        packet[3] = sequenceId
      },
    })
    return resultsetHeader
  }
}

/**
 * Run the SQL text in `buf[PACKET_HEADER_ROOM..end)` on `conn`; resolves with the server's OK result. The
 * buffer must stay unchanged until the returned promise settles (the socket may still be sending it).
 */
export function queryBytes(conn: PoolConnection, buf: Buffer, end: number): Promise<ResultSetHeader> {
  return new Promise((resolve, reject) => {
    const cmd = new BytesQuery(buf, end, (err, res) => (err ? reject(err) : resolve(res as ResultSetHeader)))
    ;(coreConnection(conn) as unknown as { addCommand(c: unknown): void }).addCommand(cmd)
  })
}
