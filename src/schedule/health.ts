import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import { ConfigError } from '../errors.js'
import { type Logger, log } from '../observe/log.js'
import { redact, redactValue } from '../observe/redact.js'
import { renderPage } from './page.js'
import type { PageModel } from './page-model.js'
import { statusDocument } from './page-model.js'

// The /status shapes live in status.ts (page-model.ts reads them too); importers of the server read them here.
export type { LiveTable, RunPoint, RunSummary, StatusSnapshot, TableStatus } from './status.js'

import type { StatusSnapshot } from './status.js'

export interface Readiness {
  ready: boolean
  reason: string
}

/**
 * Ready when the last finished run succeeded and finished less than two intervals ago: one late tick is
 * tolerated, a missed second one is not.
 */
export function readiness(s: StatusSnapshot, now = Date.now()): Readiness {
  if (s.state === 'stopping') return { ready: false, reason: 'shutting down' }
  const last = s.lastRun
  if (!last) return { ready: false, reason: 'no run has finished yet' }
  if (last.status !== 'ok') {
    return {
      ready: false,
      reason: `last run ${last.run} ${last.status}${last.error ? `: ${last.error}` : ''}`,
    }
  }
  const ageSeconds = (now - Date.parse(last.finishedAt)) / 1000
  const limit = 2 * s.schedule.intervalSeconds
  if (ageSeconds > limit) {
    return {
      ready: false,
      reason: `last run finished ${Math.round(ageSeconds)} s ago, more than twice the interval (${limit} s)`,
    }
  }
  return { ready: true, reason: `last run ${last.run} ok, finished ${Math.round(ageSeconds)} s ago` }
}

export interface HealthServerOptions {
  host: string
  /** 0 picks a free port (tests). */
  port: number
  status(): StatusSnapshot
  registry: Registry
  /** The status page's data; without it `/` is not served. */
  page?(): Promise<PageModel>
  /** Carries the pipeline field; the process logger by default. */
  logger?: Logger
}

export interface HealthServer {
  host: string
  port: number
  close(): Promise<void>
}

/**
 * /healthz, /readyz, /metrics and /status on node:http: four read-only routes need no framework.
 * Everything that leaves goes through redact(), like logs do.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const logger = opts.logger ?? log()
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      logger.error(
        { event: 'http_error', path: req.url, err: (err as Error).message },
        `health server: ${(err as Error).message}`,
      )
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'internal error' }))
      else res.end()
    })
  })
  // A scrape or probe must not hold a connection open past shutdown.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${opts.host}:${opts.port}`
      if (err.code === 'EADDRINUSE') {
        reject(
          new ConfigError(
            `health port ${where} is already in use`,
            'pick another port with --health-port or health.port',
          ),
        )
      } else if (err.code === 'EACCES') {
        reject(
          new ConfigError(
            `health port ${where}: permission denied`,
            'ports below 1024 need privileges; use e.g. 8080',
          ),
        )
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(
          new ConfigError(
            `health.host ${opts.host} is not an address of this machine`,
            'use 0.0.0.0 or 127.0.0.1',
          ),
        )
      } else reject(err)
    })
    server.listen(opts.port, opts.host, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  logger.info(
    { event: 'health_listen', host: opts.host, port },
    `serving ${opts.page ? '/ (status page) ' : ''}/healthz /readyz /metrics /status on ${opts.host}:${port}`,
  )
  return {
    host: opts.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function handle(opts: HealthServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    send(res, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }))
    return
  }
  switch (path) {
    case '/healthz':
      // Alive is all it says: a failing database is /readyz's business, and a restart would not fix it.
      send(res, 200, 'application/json', JSON.stringify({ status: 'alive' }))
      return
    case '/readyz': {
      const r = readiness(opts.status())
      send(res, r.ready ? 200 : 503, 'application/json', redact(JSON.stringify(r)))
      return
    }
    case '/metrics':
      send(res, 200, opts.registry.contentType, redact(await opts.registry.metrics()))
      return
    case '/status':
      send(
        res,
        200,
        'application/json',
        `${JSON.stringify(redactValue(statusDocument(opts.status())), null, 2)}\n`,
      )
      return
    case '/':
      if (opts.page) {
        // A fresh nonce per response: the only thing the page may load is its own inline stylesheet.
        const nonce = randomBytes(16).toString('base64')
        res.setHeader(
          'content-security-policy',
          `default-src 'none'; style-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        )
        res.setHeader('x-content-type-options', 'nosniff')
        res.setHeader('referrer-policy', 'no-referrer')
        send(res, 200, 'text/html; charset=utf-8', redact(renderPage(await opts.page(), nonce)))
        return
      }
      notFound(res)
      return
    default:
      notFound(res)
  }
}

function notFound(res: ServerResponse): void {
  send(
    res,
    404,
    'application/json',
    JSON.stringify({ error: 'not found', paths: ['/', '/healthz', '/readyz', '/metrics', '/status'] }),
  )
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}
