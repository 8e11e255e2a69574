import { Cron } from 'croner'
import { errorMessage, LockError } from '../errors.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import type { Notifier } from '../observe/notify.js'
import { newLoadId, type RunResult } from '../sync/run.js'
import { errorFields, logRunEnd, type RunRequest, runEvents } from './runner.js'
import { backoffTicks, describeSchedule, type ScheduleSpec } from './spec.js'
import { RunRecord, type RunSummary, type StatusSnapshot } from './status.js'

export type TickOutcome = 'started' | 'skipped' | 'backoff' | 'stopping'

export interface SchedulerOptions {
  pipeline: string
  spec: ScheduleSpec
  /** Starts one run; PairRunner.run in production, a fake in unit tests. */
  run(req: RunRequest): Promise<RunResult>
  metrics: Metrics
  notifier?: Notifier
  /** Carries the pipeline field. */
  logger: Logger
  /** --full-refresh applies to the first run only: repeating it every interval is never what is meant. */
  fullRefreshFirst?: boolean
  /**
   * Tick on whole multiples of `every` since the epoch (workers: shared), so the instances of a pipeline
   * run together and each table is synced once per tick rather than once per instance.
   */
  alignEvery?: boolean
}

interface Current {
  loadId: string
  startedAt: number
  controller: AbortController
  done: Promise<void>
}

/**
 * Starts runs on ticks, one at a time. A tick during a run is skipped and logged, never queued; a failed
 * run never stops the schedule. Keeps what /status and /readyz report.
 */
export class Scheduler {
  private current: Current | undefined
  private cron: Cron | undefined
  private stopping = false
  private started = 0
  private failures = 0
  private ticksToSkip = 0
  private readonly record = new RunRecord()
  /** The last RunResult, for the --json summary at exit. */
  lastResult: RunResult | undefined

  constructor(private readonly opts: SchedulerOptions) {}

  /** Start ticking. With `every`, the first run starts at once; a cron schedule waits for its first time. */
  start(): void {
    const { everyMs, cron } = this.opts.spec
    const tick = () => void this.tick()
    // croner's `interval` is the minimum number of seconds between triggers of an every-second pattern;
    // startAt one interval out, because the first run starts right now.
    this.cron =
      everyMs !== undefined
        ? new Cron('* * * * * *', { interval: everyMs / 1000, startAt: this.firstTickAt(everyMs) }, tick)
        : new Cron(cron ?? '', tick)
    this.opts.logger.info(
      {
        event: 'schedule_start',
        ...describeSchedule(this.opts.spec),
        next_run: this.cron.nextRun()?.toISOString() ?? null,
      },
      `scheduled: ${everyMs !== undefined ? `every ${everyMs / 1000}s` : `cron "${cron}"`}`,
    )
    if (everyMs !== undefined) this.tick()
  }

  /** The first tick after the run that starts now: one interval out, or the next whole multiple of it. */
  firstTickAt(everyMs: number, now = Date.now()): Date {
    if (!this.opts.alignEvery) return new Date(now + everyMs)
    return new Date((Math.floor(now / everyMs) + 1) * everyMs)
  }

  /** The milliseconds between two ticks (for a cron schedule, between its next two times). */
  intervalMs(): number {
    if (this.opts.spec.everyMs !== undefined) return this.opts.spec.everyMs
    const cron = this.cron ?? new Cron(this.opts.spec.cron ?? '', { paused: true })
    const [a, b] = cron.nextRuns(2)
    if (!this.cron) cron.stop()
    return a && b ? b.getTime() - a.getTime() : 60_000
  }

  tick(): TickOutcome {
    const { logger, metrics } = this.opts
    if (this.stopping) return 'stopping'
    if (this.current) {
      metrics.tickSkipped('running')
      const secs = Math.round((Date.now() - this.current.startedAt) / 1000)
      logger.warn(
        { event: 'tick_skipped', reason: 'running', run: this.current.loadId, running_seconds: secs },
        `tick skipped: run ${this.current.loadId} is still going after ${secs} s`,
      )
      return 'skipped'
    }
    if (this.ticksToSkip > 0) {
      this.ticksToSkip--
      metrics.tickSkipped('backoff')
      logger.debug(
        { event: 'tick_skipped', reason: 'backoff', ticks_left: this.ticksToSkip },
        'tick skipped: backing off',
      )
      return 'backoff'
    }
    this.startRun()
    return 'started'
  }

  private startRun(): void {
    const loadId = newLoadId()
    const startedAt = Date.now()
    const controller = new AbortController()
    const logger = this.opts.logger.child({ run: loadId })
    const first = this.started++ === 0
    this.opts.metrics.runStarted()
    logger.info({ event: 'run_start' }, `run ${loadId}: start`)
    const logged = runEvents(logger, this.opts.metrics, {
      tableEnd: (r) => this.record.tableEnded(loadId, r),
    })
    const events: RunRequest['events'] = {
      ...logged,
      tableStart: (t, expectedRows) => {
        this.record.tableStarted(t.name, t.strategy, expectedRows)
        logged.tableStart?.(t, expectedRows)
      },
      progress: (table, rows) => {
        this.record.progress(table, rows)
        logged.progress?.(table, rows)
      },
    }
    const done = this.opts
      .run({
        signal: controller.signal,
        loadId,
        events,
        fullRefresh: first && Boolean(this.opts.fullRefreshFirst),
      })
      .then(
        (result) => this.finished(logger, result),
        (err: unknown) => this.threw(logger, loadId, startedAt, err),
      )
      .finally(() => {
        this.current = undefined
      })
    this.current = { loadId, startedAt, controller, done }
  }

  private finished(logger: Logger, r: RunResult): void {
    this.lastResult = r
    logRunEnd(logger, r)
    this.opts.metrics.runFinished(r.status, r.seconds)
    const failed = r.tables.filter((t) => t.status === 'failed')
    const error = failed.length ? failed.map((t) => `${t.table}: ${t.error}`).join('; ') : null
    this.record.runFinished(r, error)
    this.afterRun(logger, r.status === 'failed' ? 'failed' : r.status, true)
    this.opts.notifier?.runFinished({
      pipeline: this.opts.pipeline,
      run: r.loadId,
      status: r.status,
      ...(error ? { error } : {}),
      failedTables: failed.map((t) => ({ table: t.table, ...(t.error ? { error: t.error } : {}) })),
    })
  }

  private threw(logger: Logger, loadId: string, startedAt: number, err: unknown): void {
    const seconds = (Date.now() - startedAt) / 1000
    if (err instanceof LockError) {
      // Another process is syncing this pipeline: not our failure, and it will free the lock when done.
      this.opts.metrics.runFinished('locked', seconds)
      logger.warn({ event: 'run_locked', ...errorFields(err) }, `run skipped: ${err.message}`)
      return
    }
    const connect = (err as { exitCode?: number }).exitCode === 3
    logger.error(
      { event: 'run_error', ...errorFields(err), seconds },
      `run failed: ${errorMessage(err)}${connect ? ' (retrying at the next tick)' : ''}`,
    )
    this.opts.metrics.runFinished('failed', seconds)
    this.record.runThrew(loadId, startedAt, seconds, errorMessage(err))
    // A database that cannot be reached is retried at the next tick: the run resumes as soon as it is back.
    this.afterRun(logger, 'failed', !connect)
    this.opts.notifier?.runFinished({
      pipeline: this.opts.pipeline,
      run: loadId,
      status: 'failed',
      error: errorMessage(err),
    })
  }

  private afterRun(logger: Logger, status: RunSummary['status'], backOff: boolean): void {
    if (status === 'failed') {
      this.failures++
      this.ticksToSkip = backOff ? backoffTicks(this.failures, this.intervalMs()) : 0
      if (this.ticksToSkip > 0) {
        logger.warn(
          { event: 'backoff', failures: this.failures, ticks_skipped: this.ticksToSkip },
          `${this.failures} failed runs in a row: skipping the next ${this.ticksToSkip} ticks`,
        )
      }
    } else if (status === 'ok') {
      this.failures = 0
      this.ticksToSkip = 0
    }
    this.opts.metrics.setConsecutiveFailures(this.failures)
  }

  /**
   * Stop ticking and ask the running run to stop after its current batches. Resolves true when it ended
   * within `timeoutMs` (or none was running), false at the timeout.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true
    this.cron?.stop()
    const current = this.current
    if (!current) return true
    current.controller.abort()
    return settled(current.done, timeoutMs)
  }

  /** Wait up to `timeoutMs` for the running run, if any, to end. */
  settle(timeoutMs: number): Promise<boolean> {
    return this.current ? settled(this.current.done, timeoutMs) : Promise.resolve(true)
  }

  snapshot(): StatusSnapshot {
    const next = this.stopping ? null : (this.cron?.nextRun() ?? null)
    return {
      pipeline: this.opts.pipeline,
      schedule: { ...describeSchedule(this.opts.spec), intervalSeconds: this.intervalMs() / 1000 },
      state: this.stopping ? 'stopping' : this.current ? 'running' : 'waiting',
      running: this.current
        ? { run: this.current.loadId, startedAt: new Date(this.current.startedAt).toISOString() }
        : null,
      nextRunAt: next?.toISOString() ?? null,
      consecutiveFailures: this.failures,
      ticksToSkip: this.ticksToSkip,
      ...this.record.view(),
    }
  }
}

function settled(p: Promise<void>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    void p.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
