import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/errors.js'
import { createMetrics } from '../../../src/observe/metrics.js'
import { registerSecret } from '../../../src/observe/redact.js'
import {
  type HealthServer,
  readiness,
  type StatusSnapshot,
  startHealthServer,
} from '../../../src/schedule/health.js'

const NOW = Date.parse('2025-06-01T12:00:00Z')

function snapshot(over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    pipeline: 'shop',
    schedule: { every: '60s', intervalSeconds: 60 },
    state: 'waiting',
    running: null,
    nextRunAt: null,
    consecutiveFailures: 0,
    ticksToSkip: 0,
    lastRun: {
      run: '1748779140.000001',
      status: 'ok',
      startedAt: new Date(NOW - 62_000).toISOString(),
      finishedAt: new Date(NOW - 60_000).toISOString(),
      seconds: 2,
      error: null,
    },
    lastSuccessAt: new Date(NOW - 60_000).toISOString(),
    tables: {},
    live: {},
    history: [],
    ...over,
  }
}

describe('readiness', () => {
  it('is ready when the last run succeeded less than two intervals ago', () => {
    expect(readiness(snapshot(), NOW)).toMatchObject({ ready: true })
  })

  it('is not ready before the first run finished', () => {
    expect(readiness(snapshot({ lastRun: null }), NOW)).toEqual({
      ready: false,
      reason: 'no run has finished yet',
    })
  })

  it('is not ready after a failed run, and says why', () => {
    const s = snapshot()
    s.lastRun = { ...s.lastRun!, status: 'failed', error: 'orders: table is gone' }
    expect(readiness(s, NOW)).toEqual({
      ready: false,
      reason: 'last run 1748779140.000001 failed: orders: table is gone',
    })
  })

  it('is not ready when the last success is older than two intervals', () => {
    const r = readiness(snapshot(), NOW + 61_000)
    expect(r.ready).toBe(false)
    expect(r.reason).toContain('more than twice the interval (120 s)')
  })
})

describe('health server', () => {
  let server: HealthServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  async function start(status: StatusSnapshot) {
    const metrics = createMetrics({ pipeline: 'shop', defaultMetrics: false })
    metrics.tableFinished({
      table: 'orders',
      status: 'ok',
      rowsRead: 4,
      inserted: 4,
      updated: 0,
      deleted: 0,
      unchanged: 0,
    })
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      status: () => status,
      registry: metrics.registry,
    })
    return (path: string, method = 'GET') => fetch(`http://127.0.0.1:${server!.port}${path}`, { method })
  }

  it('answers /healthz, /readyz, /metrics and /status', async () => {
    const get = await start(snapshot({ lastRun: null }))
    const healthz = await get('/healthz')
    expect(healthz.status).toBe(200)
    const readyz = await get('/readyz')
    expect(readyz.status).toBe(503)
    expect(await readyz.json()).toEqual({ ready: false, reason: 'no run has finished yet' })
    const metrics = await get('/metrics')
    expect(metrics.headers.get('content-type')).toContain('text/plain')
    expect(await metrics.text()).toContain(
      'dbsync_rows_total{table="orders",operation="inserted",pipeline="shop"} 4',
    )
    const status = await get('/status')
    expect(await status.json()).toMatchObject({ pipeline: 'shop', state: 'waiting' })
  })

  it('answers 404 for other paths and 405 for other methods', async () => {
    const get = await start(snapshot())
    expect((await get('/')).status).toBe(404)
    expect((await get('/healthz', 'POST')).status).toBe(405)
    const head = await get('/healthz', 'HEAD')
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('redacts secrets from /status', async () => {
    registerSecret('hunter2-health-test')
    const s = snapshot()
    s.lastRun = { ...s.lastRun!, status: 'failed', error: 'login as x:hunter2-health-test failed' }
    const get = await start(s)
    const body = await (await get('/status')).text()
    expect(body).not.toContain('hunter2-health-test')
    expect(body).toContain('***')
    expect(await (await get('/readyz')).text()).not.toContain('hunter2-health-test')
  })

  it('reports a port in use as a configuration error', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    try {
      const metrics = createMetrics({ pipeline: 'shop', defaultMetrics: false })
      const err = await startHealthServer({
        host: '127.0.0.1',
        port,
        status: snapshot,
        registry: metrics.registry,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).message).toContain('already in use')
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })
})
