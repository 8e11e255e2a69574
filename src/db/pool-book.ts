import { connect as netConnect, type Socket } from 'node:net'
import type { Pool as CorePool } from 'mysql2'

/*
 * Our own record of each pool's connections and sockets, from mysql2's public API only: the pool's
 * 'connection'/'acquire'/'release' events, the `stream` option through which every socket is opened here,
 * and a connection's `stream`. Counts for the pool gauges, the cut on close, and the report of a process
 * held open (cli/main.ts).
 */

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
