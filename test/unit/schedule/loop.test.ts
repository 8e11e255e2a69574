import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConnectError, LockError } from '../../../src/errors.js'
import { createMetrics, type Metrics } from '../../../src/observe/metrics.js'
import { Notifier } from '../../../src/observe/notify.js'
import { readiness } from '../../../src/schedule/health.js'
import { Scheduler, type TickOutcome } from '../../../src/schedule/loop.js'
import type { RunRequest } from '../../../src/schedule/runner.js'
import type { TableResult } from '../../../src/sync/job.js'
import type { RunResult } from '../../../src/sync/run.js'

const silent = pino({ level: 'silent' })
const settle = () => new Promise((r) => setImmediate(r))

function table(status: TableResult['status'], extra: Partial<TableResult> = {}): TableResult {
  return {
    table: 'orders',
    strategy: 'incremental',
    status,
    rowsRead: 5,
    inserted: 3,
    updated: 2,
    unchanged: 0,
    deleted: 0,
    seconds: 0.1,
    profile: { readWaitMs: 0, encodeMs: 0, writeMs: 0, indexMs: 0 },
    schemaChanges: [],
    warnings: [],
    ...(status === 'failed' ? { error: 'Unknown column (ER_BAD_FIELD_ERROR)' } : {}),
    ...extra,
  }
}

function result(req: RunRequest, status: RunResult['status']): RunResult {
  const t = table(status)
  req.events.tableEnd?.(t)
  const now = new Date().toISOString()
  return {
    loadId: req.loadId,
    pipeline: 'p',
    status,
    startedAt: now,
    finishedAt: now,
    seconds: 0.1,
    tables: [t],
  }
}

/** A scheduler whose runs are answered by `answer`, one call per run. */
function scheduler(
  answer: (req: RunRequest, n: number) => Promise<RunResult>,
  opts: { notifier?: Notifier; alignEvery?: boolean } = {},
) {
  const requests: RunRequest[] = []
  const metrics: Metrics = createMetrics({ pipeline: 'p', defaultMetrics: false })
  const s = new Scheduler({
    pipeline: 'p',
    spec: { everyMs: 60_000 },
    run: (req) => {
      requests.push(req)
      return answer(req, requests.length)
    },
    metrics,
    logger: silent,
    fullRefreshFirst: true,
    ...opts,
  })
  return { s, requests, metrics }
}

async function ticks(s: Scheduler, n: number): Promise<TickOutcome[]> {
  const out: TickOutcome[] = []
  for (let i = 0; i < n; i++) {
    out.push(s.tick())
    await settle()
  }
  return out
}

describe('Scheduler', () => {
  it('skips a tick that comes while a run is going, and never stacks it', async () => {
    let finish!: () => void
    const { s, requests, metrics } = scheduler(
      (req) => new Promise((resolve) => (finish = () => resolve(result(req, 'ok')))),
    )
    expect(s.tick()).toBe('started')
    expect(s.tick()).toBe('skipped')
    expect(s.tick()).toBe('skipped')
    expect(requests).toHaveLength(1)
    expect(s.snapshot().state).toBe('running')
    finish()
    await settle()
    expect(s.tick()).toBe('started')
    expect(requests).toHaveLength(2)
    expect(await metrics.registry.metrics()).toContain(
      'dbsync_ticks_skipped_total{reason="running",pipeline="p"} 2',
    )
  })

  it('keeps going after failed runs, skipping 0, 1, 3 ticks after 1, 2, 3 failures in a row', async () => {
    const { s, requests } = scheduler(async (req) => result(req, 'failed'))
    const outcomes = await ticks(s, 9)
    expect(outcomes).toEqual([
      'started',
      'started',
      'backoff',
      'started',
      'backoff',
      'backoff',
      'backoff',
      'started',
      'backoff',
    ])
    expect(requests).toHaveLength(4)
    expect(s.snapshot()).toMatchObject({ consecutiveFailures: 4, ticksToSkip: 6 })
  })

  it('resets the backoff after a successful run', async () => {
    const { s } = scheduler(async (req, n) => result(req, n <= 2 ? 'failed' : 'ok'))
    expect(await ticks(s, 5)).toEqual(['started', 'started', 'backoff', 'started', 'started'])
    expect(s.snapshot().consecutiveFailures).toBe(0)
  })

  it('retries a connection failure at the very next tick', async () => {
    const { s, metrics } = scheduler(async () => {
      throw new ConnectError('source db:3306: connection refused', 'is the server running?')
    })
    expect(await ticks(s, 4)).toEqual(['started', 'started', 'started', 'started'])
    const snap = s.snapshot()
    expect(snap.consecutiveFailures).toBe(4)
    expect(snap.lastRun).toMatchObject({ status: 'failed', error: 'source db:3306: connection refused' })
    expect(readiness(snap).ready).toBe(false)
    expect(await metrics.registry.metrics()).toContain('dbsync_runs_total{status="failed",pipeline="p"} 4')
  })

  it('does not count a run lock held elsewhere as a failure', async () => {
    const { s, metrics } = scheduler(async () => {
      throw new LockError('pipeline lock "dbsync:p" is held by another run')
    })
    await ticks(s, 2)
    expect(s.snapshot()).toMatchObject({ consecutiveFailures: 0, lastRun: null })
    expect(await metrics.registry.metrics()).toContain('dbsync_runs_total{status="locked",pipeline="p"} 2')
  })

  it('sends one failure message for a streak of failures and one recovery message', async () => {
    const sent: Array<{ status: string; failed_runs: number }> = []
    const fetchStub = (async (_url: string, init: RequestInit) => {
      sent.push(JSON.parse(String(init.body)))
      return new Response('ok')
    }) as typeof fetch
    const notifier = new Notifier(
      { webhook: 'http://hook.test/x', on: ['failure', 'recovery'] },
      { fetch: fetchStub },
    )
    const { s } = scheduler(async (req, n) => result(req, n <= 3 ? 'failed' : 'ok'), { notifier })
    // fail, fail, (skip), fail, (skip x3), ok
    expect(await ticks(s, 8)).toContain('backoff')
    await notifier.flush(1000)
    expect(sent.map((m) => [m.status, m.failed_runs])).toEqual([
      ['failure', 1],
      ['recovery', 3],
    ])
  })

  it('records each table and judges readiness from the last run', async () => {
    const { s } = scheduler(async (req) => result(req, 'ok'))
    await ticks(s, 1)
    const snap = s.snapshot()
    expect(snap.tables.orders).toMatchObject({ status: 'ok', rows: 5, inserted: 3, updated: 2, error: null })
    expect(snap.tables.orders?.lastSuccessAt).toBeTruthy()
    expect(readiness(snap)).toMatchObject({ ready: true })
  })

  it('applies --full-refresh to the first run only', async () => {
    const { s, requests } = scheduler(async (req) => result(req, 'ok'))
    await ticks(s, 3)
    expect(requests.map((r) => r.fullRefresh)).toEqual([true, false, false])
  })

  it('aborts the running run on stop and waits for it to end', async () => {
    const { s, requests } = scheduler(
      (req) =>
        new Promise((resolve) =>
          req.signal.addEventListener('abort', () => resolve(result(req, 'interrupted'))),
        ),
    )
    s.tick()
    expect(await s.stop(1000)).toBe(true)
    expect(requests[0]?.signal.aborted).toBe(true)
    expect(s.tick()).toBe('stopping')
    expect(s.snapshot().lastRun?.status).toBe('interrupted')
    expect(readiness(s.snapshot())).toEqual({ ready: false, reason: 'shutting down' })
  })

  it('gives up waiting at the shutdown bound', async () => {
    const { s } = scheduler(() => new Promise(() => {}))
    s.tick()
    expect(await s.stop(20)).toBe(false)
  })
})

describe('the first tick of an every schedule', () => {
  it('comes one interval after the first run, or on the next whole interval for shared workers', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 25, 300)
    expect(
      scheduler(async (r) => result(r, 'ok'))
        .s.firstTickAt(60_000, now)
        .toISOString(),
    ).toBe('2026-01-01T12:01:25.300Z')
    // Every instance of a shared pipeline ticks at the same times, whenever it started.
    const aligned = scheduler(async (r) => result(r, 'ok'), { alignEvery: true }).s
    expect(aligned.firstTickAt(60_000, now).toISOString()).toBe('2026-01-01T12:01:00.000Z')
    expect(aligned.firstTickAt(60_000, now + 20_000).toISOString()).toBe('2026-01-01T12:01:00.000Z')
  })
})
