import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort, get, sample, startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'

describe('sync on a schedule', () => {
  const fx = useScheduleFixture()
  const { pipeline, rowCount, expectNoPassword } = fx

  it('keeps the target in sync and serves /healthz, /readyz, /metrics and /status', async () => {
    await fx.dbs().source.query(`CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50),
      updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`)
    await fx.dbs().source.query(`INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
    const port = await freePort()
    const file = await pipeline('sched', '  - name: items\n', 'health:\n  port: 1\n  host: 127.0.0.1\n')
    const d = startDaemon([
      '--log-level',
      'debug',
      'sync',
      '-p',
      file,
      '--every',
      '2s',
      '--health-port',
      String(port),
    ])

    const ready = await waitFor('/readyz 200', async () =>
      (await get(port, '/readyz')).status === 200 ? true : undefined,
    )
    expect(ready).toBe(true)
    expect(await rowCount('items')).toBe(3)

    // A new source row lands within two intervals.
    const t0 = Date.now()
    await fx.dbs().source.query(`INSERT INTO items (id, name) VALUES (4, 'd')`)
    await waitFor('row 4 in the target', async () => {
      const [r] = await fx.dbs().target.query('SELECT name FROM items WHERE id = 4')
      return (r as unknown[]).length === 1 ? true : undefined
    })
    expect(Date.now() - t0).toBeLessThan(2 * 2000)

    const healthz = await get(port, '/healthz')
    expect(healthz.status).toBe(200)
    const readyz = await get(port, '/readyz')
    expect(readyz.status).toBe(200)
    expect(JSON.parse(readyz.body)).toMatchObject({ ready: true })

    // Let a run finish after row 4, so the counters include it.
    await waitFor('4 inserted rows counted', async () => {
      const m = (await get(port, '/metrics')).body
      return (sample(m, 'dbsync_rows_total', { table: 'items', operation: 'inserted' }) ?? 0) >= 4
        ? true
        : undefined
    })
    const metrics = await get(port, '/metrics')
    expect(metrics.type).toContain('text/plain')
    const m = metrics.body
    expect(sample(m, 'dbsync_rows_total', { table: 'items', operation: 'read' })).toBeGreaterThanOrEqual(4)
    expect(sample(m, 'dbsync_runs_total', { status: 'ok', pipeline: 'sched' })).toBeGreaterThanOrEqual(2)
    expect(sample(m, 'dbsync_run_duration_seconds_count')).toBeGreaterThanOrEqual(2)
    const lastOk = sample(m, 'dbsync_last_success_timestamp_seconds', { table: 'items' }) ?? 0
    expect(Math.abs(Date.now() / 1000 - lastOk)).toBeLessThan(30)
    const lag = sample(m, 'dbsync_replication_lag_seconds', { table: 'items' })
    expect(lag).toBeGreaterThanOrEqual(0)
    expect(lag).toBeLessThan(120)
    for (const side of ['source', 'target']) {
      // Pools stay open between runs, so at least one connection per side is open (idle or in use).
      const open =
        (sample(m, 'dbsync_pool_connections', { side, state: 'idle' }) ?? 0) +
        (sample(m, 'dbsync_pool_connections', { side, state: 'in_use' }) ?? 0)
      expect(open).toBeGreaterThan(0)
      expect(sample(m, 'dbsync_pool_connections', { side, state: 'waiting' })).toBe(0)
    }
    expect(sample(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(sample(m, 'dbsync_consecutive_failures')).toBe(0)

    const status = JSON.parse((await get(port, '/status')).body)
    expect(status).toMatchObject({
      pipeline: 'sched',
      schedule: { every: '2s', interval_seconds: 2 },
      consecutive_failures: 0,
    })
    expect(status.last_run.status).toBe('ok')
    expect(status.tables.items).toMatchObject({ status: 'ok', error: null })
    expect((await get(port, '/nope')).status).toBe(404)

    d.child.kill('SIGTERM')
    expect(await d.exit).toBe(0)

    // Structured logs: every run has start, per-table result and end with pipeline, run, event.
    const ev = d.events()
    const ends = ev.filter((e) => e.event === 'table_end')
    expect(ends.length).toBeGreaterThanOrEqual(2)
    for (const e of ends) {
      expect(e).toMatchObject({ pipeline: 'sched', table: 'items', status: 'ok' })
      expect(typeof e.run).toBe('string')
      expect(e).toHaveProperty('rows')
      expect(e).toHaveProperty('seconds')
      expect(e).toHaveProperty('schema_changes')
    }
    const runIds = new Set(ev.filter((e) => e.event === 'run_start').map((e) => e.run))
    expect(new Set(ev.filter((e) => e.event === 'run_end').map((e) => e.run))).toEqual(runIds)
    expectNoPassword(d.stderr(), m, JSON.stringify(status))
  })

  it('skips ticks while a run is still going instead of stacking them', async () => {
    await fx.dbs().source.query(`CREATE TABLE slow (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)`)
    await fx.dbs().source.query(`INSERT INTO slow VALUES (1, '2024-01-01 00:00:00')`)
    const port = await freePort()
    const file = await pipeline('slowpipe', '  - name: slow\n')
    // The test's session holds a write lock, so the run's read of `slow` waits until it is released.
    await fx.dbs().source.query('LOCK TABLES slow WRITE')
    let locked = true
    try {
      const d = startDaemon(['sync', '-p', file, '--every', '1s', '--health-port', String(port)])
      await waitFor(
        'two skipped ticks',
        () => d.events().filter((e) => e.event === 'tick_skipped').length >= 2 || undefined,
      )
      const status = JSON.parse((await get(port, '/status')).body)
      expect(status.state).toBe('running')
      await fx.dbs().source.query('UNLOCK TABLES')
      locked = false
      await waitFor('the run to end', () => d.events().some((e) => e.event === 'run_end') || undefined)
      const m = (await get(port, '/metrics')).body
      expect(sample(m, 'dbsync_ticks_skipped_total', { reason: 'running' })).toBeGreaterThanOrEqual(2)
      d.child.kill('SIGTERM')
      expect(await d.exit).toBe(0)
      // Never two runs at once: each run_start is followed by its own run_end before the next starts.
      let open: unknown = null
      for (const e of d.events()) {
        if (e.event === 'run_start') {
          expect(open).toBeNull()
          open = e.run
        } else if (e.event === 'run_end') {
          expect(e.run).toBe(open)
          open = null
        }
      }
      const skipped = d.events().filter((e) => e.event === 'tick_skipped')
      expect(skipped[0]).toMatchObject({ reason: 'running', pipeline: 'slowpipe' })
    } finally {
      if (locked) await fx.dbs().source.query('UNLOCK TABLES')
    }
  })

  it('posts one failure and one recovery message to the webhook', async () => {
    const messages: Array<Record<string, unknown>> = []
    const hook = createHttpServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        messages.push(JSON.parse(body) as Record<string, unknown>)
        res.end('ok')
      })
    })
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
    const hookPort = (hook.address() as { port: number }).port
    try {
      // No updated_at yet: the table fails until the column is added.
      await fx.dbs().source.query(`CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2))`)
      await fx.dbs().source.query(`INSERT INTO orders VALUES (1, 9.99)`)
      const port = await freePort()
      const file = await pipeline(
        'hookpipe',
        '  - name: orders\n',
        `notify:\n  webhook: http://127.0.0.1:${hookPort}/hook\n  on: [failure, recovery]\n`,
      )
      const d = startDaemon(['sync', '-p', file, '--every', '1s', '--health-port', String(port)])
      await waitFor('the failure message', () => messages.length >= 1 || undefined)
      expect(messages[0]).toMatchObject({ status: 'failure', pipeline: 'hookpipe' })
      expect(String(messages[0]!.text)).toContain('hookpipe')
      expect(String(messages[0]!.text)).toContain('orders')
      const readyz = await get(port, '/readyz')
      expect(readyz.status).toBe(503)
      expect(JSON.parse(readyz.body).reason).toContain('failed')

      await fx
        .dbs()
        .source.query(
          'ALTER TABLE orders ADD COLUMN updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)',
        )
      await waitFor('the recovery message', () => messages.length >= 2 || undefined)
      await waitFor('/readyz 200', async () =>
        (await get(port, '/readyz')).status === 200 ? true : undefined,
      )
      // Two more successful runs (ticks every second) send nothing: a recovery is announced once.
      const ended = () => d.events().filter((e) => e.event === 'run_end' && e.status === 'ok').length
      const okRuns = ended()
      await waitFor('two more runs', () => ended() >= okRuns + 2 || undefined)
      expect(messages.map((x) => x.status)).toEqual(['failure', 'recovery'])
      expect(String(messages[1]!.text)).toContain('recovered')
      d.child.kill('SIGTERM')
      expect(await d.exit).toBe(0)
      expectNoPassword(d.stderr(), JSON.stringify(messages))
    } finally {
      hook.closeAllConnections()
      await new Promise((r) => hook.close(r))
    }
  })

  it('logs a connection failure at a tick and connects at a later one', async () => {
    await fx.dbs().source.query(`CREATE TABLE later (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)`)
    await fx.dbs().source.query(`INSERT INTO later VALUES (1, '2024-01-01 00:00:00')`)
    // The source is reached through a TCP proxy that is not listening yet.
    const real = new URL(fx.dbs().sourceUrl)
    const proxyPort = await freePort()
    const port = await freePort()
    const file = await pipeline('latepipe', '  - name: later\n', '', proxyPort)
    const d = startDaemon(['sync', '-p', file, '--every', '1s', '--health-port', String(port)])
    await waitFor('a connection error', () => d.events().some((e) => e.event === 'run_error') || undefined)
    const err = d.events().find((e) => e.event === 'run_error')!
    expect(err).toMatchObject({ pipeline: 'latepipe', exit_code: 3 })
    expect(String(err.error)).toContain('source')
    expect((await get(port, '/healthz')).status).toBe(200)
    expect((await get(port, '/readyz')).status).toBe(503)

    const sockets = new Set<Socket>()
    const proxy: Server = createTcpServer((client) => {
      const upstream = tcpConnect(Number(real.port || 3306), real.hostname)
      sockets.add(client).add(upstream)
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r))
    try {
      await waitFor('/readyz 200', async () =>
        (await get(port, '/readyz')).status === 200 ? true : undefined,
      )
      expect(await rowCount('later')).toBe(1)
      d.child.kill('SIGTERM')
      expect(await d.exit).toBe(0)
      expectNoPassword(d.stderr())
    } finally {
      // close() waits for open connections: end them first, or a failed test would hang here.
      for (const sock of sockets) sock.destroy()
      await new Promise((r) => proxy.close(r))
    }
  })
})
