import type { Pipeline } from '../config/types.js'
import { errorMessage } from '../errors.js'
import { log } from '../observe/log.js'
import { createMetrics } from '../observe/metrics.js'
import { Notifier } from '../observe/notify.js'
import { type PipelineReport, readReport } from '../state/report.js'
import type { RunResult } from '../sync/run.js'
import { Verifier } from '../sync/verify.js'
import { type HealthServer, startHealthServer } from './health.js'
import { Scheduler } from './loop.js'
import { type PageModel, pageModel } from './page-model.js'
import { PairRunner } from './runner.js'
import type { ScheduleSpec } from './spec.js'

/**
 * How scheduled mode ended: `clean` unless a run had to be abandoned at the shutdown deadline (it may still
 * be unwinding on its destroyed connections, so the CLI exits at once rather than wait for it); `forced`
 * when a second signal cut the shutdown short.
 */
export interface ScheduledOutcome {
  last: RunResult | undefined
  clean: boolean
  forced?: 'SIGINT' | 'SIGTERM'
}

export interface ScheduledOptions {
  pipeline: Pipeline
  spec: ScheduleSpec
  /** --health-port / health: in the file; no HTTP server without it. */
  health?: { port: number; host: string }
  only?: string[]
  fullRefresh?: boolean
  concurrency?: number
  /** Where signals come from; `process` outside tests. */
  signals?: NodeJS.EventEmitter
}

/**
 * Run the pipeline on its schedule until SIGTERM or SIGINT, then shut down gracefully:
 * stop ticking, abort the running run (its current batches commit, it records itself "interrupted"),
 * close the pools and the HTTP server, all within pipeline.shutdownTimeoutMs. A second signal ends the
 * process at once by re-raising it (exit 130/143): every batch commits with its position, so the state
 * is consistent whatever moment that lands on.
 * Returns the last run's result.
 */
export async function runScheduled(opts: ScheduledOptions): Promise<ScheduledOutcome> {
  const { pipeline } = opts
  const logger = log().child({ pipeline: pipeline.name })
  const metrics = createMetrics({ pipeline: pipeline.name })
  const runner = new PairRunner(pipeline, opts.only, opts.concurrency, {
    acquired: (side, seconds) => metrics.poolAcquired(side, seconds),
    error: (side, kind) => metrics.poolError(side, kind),
  })
  metrics.setPoolSource(() => runner.pools())
  const notifier = pipeline.notify ? new Notifier(pipeline.notify, { logger }) : undefined
  const scheduler = new Scheduler({
    pipeline: pipeline.name,
    spec: opts.spec,
    run: (req) => runner.run(req),
    metrics,
    ...(notifier ? { notifier } : {}),
    logger,
    fullRefreshFirst: Boolean(opts.fullRefresh),
    alignEvery: pipeline.workers === 'shared',
  })
  // A verification takes at most half of each interval (10 minutes at most): the syncs always come first.
  const verifier = new Verifier(Math.max(1000, Math.min(scheduler.intervalMs() / 2, 600_000)), metrics)
  runner.verifier = verifier
  let health: HealthServer | undefined
  if (opts.health) {
    health = await startHealthServer({
      host: opts.health.host,
      port: opts.health.port,
      status: () => ({ ...scheduler.snapshot(), verify: verifier.status() }),
      registry: metrics.registry,
      page: () => pageData(pipeline.name, scheduler, runner),
      logger,
    })
  }

  const signals = opts.signals ?? process
  let stopped!: () => void
  const done = new Promise<void>((resolve) => {
    stopped = resolve
  })
  let received = 0
  let forced: 'SIGINT' | 'SIGTERM' | undefined
  let clean = true
  const onSignal = (sig: NodeJS.Signals) => {
    received++
    if (received > 1) {
      logger.warn({ event: 'shutdown_forced', signal: sig }, `${sig} again: exiting now`)
      // Return at once, shutdown unfinished: the CLI (main.ts, the one place that exits) ends the process
      // with 128 + the signal's number, as the signal's default action would.
      forced = sig === 'SIGINT' ? 'SIGINT' : 'SIGTERM'
      stopped()
      return
    }
    void shutdown(sig).finally(stopped)
  }

  const shutdown = async (sig: NodeJS.Signals) => {
    const bound = pipeline.shutdownTimeoutMs
    // Keep a quarter of the bound (at most 2 s) for what follows the run: closing its connections if it
    // is stuck, pending webhooks, and the pools and the HTTP server.
    const reserve = Math.min(2_000, Math.floor(bound / 4))
    logger.info(
      { event: 'shutdown', signal: sig, timeout_ms: bound },
      `${sig}: stopping; the running tables finish their current batch (at most ${bound / 1000} s)`,
    )
    clean = await scheduler.stop(bound - reserve)
    if (!clean) {
      logger.warn(
        { event: 'shutdown_timeout', timeout_ms: bound },
        'the run did not stop in time: closing its connections',
      )
      runner.destroy()
      await scheduler.settle(reserve / 4)
    }
    await notifier?.flush(reserve / 4)
    await runner.close()
    await health?.close()
    logger.info({ event: 'shutdown_done', clean }, 'stopped')
  }

  signals.on('SIGTERM', onSignal)
  signals.on('SIGINT', onSignal)
  try {
    scheduler.start()
    await done
  } finally {
    signals.off('SIGTERM', onSignal)
    signals.off('SIGINT', onSignal)
  }
  return { last: scheduler.lastResult, clean, ...(forced ? { forced } : {}) }
}

/** The status page's inputs: the run history is read from the target through the runner's pool. */
async function pageData(pipeline: string, scheduler: Scheduler, runner: PairRunner): Promise<PageModel> {
  const target = runner.target()
  let report: PipelineReport | null = null
  let reportError: string | null = target ? null : 'not connected to the target yet'
  if (target) {
    try {
      report = await readReport(target, pipeline, { runs: 50 })
    } catch (err) {
      reportError = errorMessage(err)
    }
  }
  return pageModel({
    snapshot: scheduler.snapshot(),
    report,
    reportError,
    pools: runner.pools(),
    memory: process.memoryUsage(),
    now: Date.now(),
  })
}
