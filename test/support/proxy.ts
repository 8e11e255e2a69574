import { connect, createServer, type Server, type Socket } from 'node:net'

/** Counters of what the proxy did, for assertions and the figures a test reports. */
export interface ProxyStats {
  /** Client connections accepted and forwarded. */
  accepted: number
  /** Client connections reset at once because the proxy was refusing. */
  refused: number
  /** Connections cut by cutAll()/cutAfter(). */
  cut: number
  /** Times cutAll()/cutAfter() fired. */
  cutEvents: number
  /** Bytes forwarded client -> server and server -> client. */
  bytesUp: number
  bytesDown: number
}

/** A TCP proxy on a loopback port in front of one server, able to inject network faults. */
export interface TcpProxy {
  readonly host: string
  readonly port: number
  readonly stats: ProxyStats
  /** Connections currently open through the proxy. */
  readonly active: number
  /** The same mysql:// URL (user, password, database, query kept) pointing at the proxy instead. */
  url(serverUrl: string): string
  /**
   * Cut every open connection at once, as a network reset would: both sides see the connection die
   * (`reset`: an RST, the default; `close`: a FIN). Returns how many were cut.
   */
  cutAll(how?: 'reset' | 'close'): number
  /**
   * Cut every open connection once `bytes` more bytes have gone from the server to the clients: the
   * client gets exactly that many, so a cut lands in the middle of a result set. Resolves with the number
   * of connections cut when it fires.
   */
  cutAfter(bytes: number, how?: 'reset' | 'close'): Promise<number>
  /**
   * Stop forwarding in both directions while keeping every socket open (a hung network or server): bytes
   * stay in the kernel buffers, and new connections are accepted but not forwarded until resume().
   */
  stall(): void
  resume(): void
  /** Hold each chunk from the server back `ms` before reading the next: a slow link (0: full speed). */
  throttle(ms: number): void
  /** Reset every new connection right after accepting it (a server refusing clients), until accept(). */
  refuse(): void
  accept(): void
  /** Cut everything and stop listening. */
  close(): Promise<void>
}

export interface ProxyOptions {
  /** The server to forward to. */
  targetHost: string
  targetPort: number
  /** Where to listen; 127.0.0.1 by default. Any 127.x.y.z works on Linux (a host name a cert lacks). */
  listenHost?: string
}

interface Pair {
  client: Socket
  upstream: Socket
  /** The client's bytes received before the upstream connection was ready (or while stalled at start). */
  pending: Buffer[]
}

/** Starts a proxy on a free port of `listenHost` forwarding every connection to the target server. */
export async function startProxy(opts: ProxyOptions): Promise<TcpProxy> {
  const listenHost = opts.listenHost ?? '127.0.0.1'
  const pairs = new Set<Pair>()
  const stats: ProxyStats = { accepted: 0, refused: 0, cut: 0, cutEvents: 0, bytesUp: 0, bytesDown: 0 }
  let refusing = false
  let stalled = false
  // Armed by cutAfter(): bytes still to forward downstream before cutting, and who to tell.
  let cutBudget: { left: number; how: 'reset' | 'close'; done: (n: number) => void } | null = null
  let cutting = false
  let delayMs = 0

  function kill(socket: Socket, how: 'reset' | 'close'): void {
    if (socket.destroyed) return
    // resetAndDestroy needs a connected socket; one still connecting is simply destroyed.
    if (how === 'reset' && !socket.connecting) socket.resetAndDestroy()
    else socket.destroy()
  }

  function cutEverything(how: 'reset' | 'close'): number {
    const n = pairs.size
    for (const p of pairs) {
      kill(p.client, how)
      kill(p.upstream, how)
    }
    pairs.clear()
    stats.cut += n
    stats.cutEvents++
    return n
  }

  /**
   * Forward to the client with TCP's backpressure: a client that stops reading holds the server back, as
   * it would without the proxy, instead of the whole result set piling up here.
   */
  function send(pair: Pair, chunk: Buffer): void {
    if (!pair.client.write(chunk)) {
      pair.upstream.pause()
      pair.client.once('drain', () => {
        if (!stalled) pair.upstream.resume()
      })
    }
  }

  function forwardDown(pair: Pair, chunk: Buffer): void {
    // Between the cut's last bytes and the cut itself nothing more may pass: a client that has paused
    // reading leaves data queued here, and bytes after a gap would be a corrupted stream, not a cut one.
    if (cutting) return
    if (cutBudget === null) {
      stats.bytesDown += chunk.length
      send(pair, chunk)
      return
    }
    if (chunk.length < cutBudget.left) {
      cutBudget.left -= chunk.length
      stats.bytesDown += chunk.length
      send(pair, chunk)
      return
    }
    const head = chunk.subarray(0, cutBudget.left)
    const armed = cutBudget
    cutBudget = null
    cutting = true
    stats.bytesDown += head.length
    // The client gets the head of the chunk, then the connection dies: a result set cut mid-row.
    pair.client.write(head, () => {
      cutting = false
      armed.done(cutEverything(armed.how))
    })
  }

  const server: Server = createServer((client) => {
    if (refusing) {
      stats.refused++
      client.on('error', () => undefined)
      client.resetAndDestroy()
      return
    }
    stats.accepted++
    const upstream = connect({ host: opts.targetHost, port: opts.targetPort })
    const pair: Pair = { client, upstream, pending: [] }
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      if (!client.destroyed) client.destroy()
      if (!upstream.destroyed) upstream.destroy()
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.on('data', (chunk: Buffer) => {
      stats.bytesUp += chunk.length
      if (upstream.connecting) pair.pending.push(chunk)
      else upstream.write(chunk)
    })
    upstream.on('connect', () => {
      for (const chunk of pair.pending) upstream.write(chunk)
      pair.pending = []
    })
    upstream.on('data', (chunk: Buffer) => {
      forwardDown(pair, chunk)
      if (delayMs > 0) {
        upstream.pause()
        setTimeout(() => {
          if (!stalled) upstream.resume()
        }, delayMs)
      }
    })
    if (stalled) {
      client.pause()
      upstream.pause()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, listenHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('proxy: no listening address')

  return {
    host: listenHost,
    port: address.port,
    stats,
    get active() {
      return pairs.size
    },
    url(serverUrl: string) {
      const u = new URL(serverUrl)
      u.hostname = listenHost
      u.port = String(address.port)
      return u.toString()
    },
    cutAll(how = 'reset') {
      return cutEverything(how)
    },
    cutAfter(bytes: number, how = 'reset') {
      return new Promise<number>((resolve) => {
        cutBudget = { left: Math.max(0, bytes), how, done: resolve }
      })
    },
    throttle(ms: number) {
      delayMs = ms
    },
    stall() {
      stalled = true
      for (const p of pairs) {
        p.client.pause()
        p.upstream.pause()
      }
    },
    resume() {
      stalled = false
      for (const p of pairs) {
        p.client.resume()
        p.upstream.resume()
      }
    },
    refuse() {
      refusing = true
    },
    accept() {
      refusing = false
    },
    async close() {
      cutEverything('close')
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
