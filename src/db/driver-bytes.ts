import type { ResultSetHeader } from 'mysql2'
import mysql from 'mysql2'
import type { PoolConnection } from 'mysql2/promise'
import { coreConnection, MYSQL2_VERSION, rowHookSupported } from './driver.js'

/*
 * A COM_QUERY sent from bytes dbsync already holds, next to driver.ts and under the same rule: the one
 * other place that touches mysql2 beyond its public API, pinned to the mysql2 version driver.ts pins.
 * mysql2 takes SQL text only as a string: the INSERT path's statement bytes became a string (V8 heap) and
 * then mysql2's own packet buffer, both garbage that, living as long as the statement runs on the server,
 * got promoted to the old generation. This sends the statement's own buffer as the packet.
 */

/** Only on the mysql2 versions driver.ts's contract test covers; elsewhere statements go as strings. */
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
