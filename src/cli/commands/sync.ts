import type { Command } from 'commander'
import type { Pipeline } from '../../config/types.js'
import { ConfigError, errorMessage, LockError } from '../../errors.js'
import { type Logger, log } from '../../observe/log.js'
import { Notifier } from '../../observe/notify.js'
import { plural } from '../../observe/text.js'
import { errorFields, logRunEnd, runEvents } from '../../schedule/runner.js'
import type { ScheduledOutcome } from '../../schedule/serve.js'
import { resolveSchedule, type ScheduleSpec } from '../../schedule/spec.js'
import { newLoadId, type RunResult, runSync } from '../../sync/run.js'
import { checkData } from '../../validate/data.js'
import {
  type CliContext,
  type GlobalOptions,
  globals,
  loadCommandPipeline,
  portOption,
  positiveInt,
  tablesOption,
} from '../options.js'
import { liveView } from '../progress.js'
import { printResult, table } from '../render.js'
import { renderDataReport } from '../render-data.js'

interface SyncFlags {
  pipeline?: string
  tables?: string[]
  fullRefresh?: boolean
  concurrency?: number
  every?: string
  cron?: string
  healthPort?: number
  healthHost?: string
  verify?: boolean
  repair?: boolean
  json?: boolean
}

export function registerSync(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('run the pipeline once, or on a schedule with --every / --cron')
    .option('-p, --pipeline <file>', 'pipeline file (default: $DBSYNC_PIPELINE)')
    .option('--tables <list>', 'only these tables (comma-separated, globs allowed)', tablesOption)
    .option('--full-refresh', 'rebuild the selected tables from scratch and reset their positions')
    .option('--concurrency <n>', 'tables synced at once', positiveInt)
    .option('--every <duration>', 'run on an interval, e.g. 30s, 5m, 1h')
    .option('--cron <expr>', 'run on a cron schedule, e.g. "*/5 * * * *"')
    .option('--health-port <port>', 'serve /healthz, /readyz, /metrics, /status while scheduled', portOption)
    .option('--health-host <host>', 'the address the health endpoints listen on (default 0.0.0.0)')
    .option('--verify', 'compare source and target contents after the sync (validate --data)')
    .option('--repair', 'after syncing a table, compare it chunk by chunk and re-copy the chunks that differ')
    .option('--json', 'print the summary as one JSON document')
    .action(async (flags: SyncFlags, cmd: Command) => {
      const g = globals(cmd)
      const pipeline = await loadCommandPipeline(flags.pipeline, cmd)
      const spec = resolveSchedule({ every: flags.every, cron: flags.cron }, pipeline.schedule)
      if (spec) {
        const outcome = await syncScheduled(pipeline, spec, flags)
        // Scheduled mode stops cleanly with 0; a second signal ends it as the signal would (128 + n).
        ctx.exitCode = outcome.forced ? SIGNAL_EXIT[outcome.forced] : 0
        ctx.exitNow = Boolean(outcome.forced) || !outcome.clean
        return
      }
      if (flags.healthPort !== undefined || flags.healthHost !== undefined) {
        throw new ConfigError(
          `${flags.healthPort !== undefined ? '--health-port' : '--health-host'} only applies to a scheduled sync`,
          'add --every or --cron, or schedule: to the pipeline file',
        )
      }
      ctx.exitCode = await syncOnce(pipeline, flags, g)
    })
}

/**
 * A one-shot run stopped by a signal exits 128 + its number (130 / 143), as a shell reports it, so a CI
 * job killed by its timeout is never green. Batches in flight finish; what is committed stays.
 */
function stopOnSignal(logger: Logger, controller: AbortController) {
  let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined
  const stop = (sig: 'SIGINT' | 'SIGTERM') => {
    if (stoppedBy) return
    stoppedBy = sig
    logger.warn(
      { event: 'run_stopping', signal: sig },
      `${sig}: stopping after the batches in flight; committed rows stay`,
    )
    controller.abort()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return {
    stoppedBy: () => stoppedBy,
    dispose: () => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
    },
  }
}

/** Run the pipeline once (then --verify), print the summary; returns the exit code. */
async function syncOnce(pipeline: Pipeline, flags: SyncFlags, g: GlobalOptions): Promise<number> {
  const loadId = newLoadId()
  const logger = log().child({ pipeline: pipeline.name, run: loadId })
  const notifier = pipeline.notify ? new Notifier(pipeline.notify, { logger }) : undefined
  const controller = new AbortController()
  const signals = stopOnSignal(logger, controller)
  const live = flags.json || g.quiet ? null : await liveView(logger)
  logger.info({ event: 'run_start' }, `run ${loadId}: start`)
  try {
    const result = await runSync({
      pipeline,
      ...(flags.tables ? { only: flags.tables } : {}),
      fullRefresh: Boolean(flags.fullRefresh),
      repair: Boolean(flags.repair),
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      signal: controller.signal,
      loadId,
      events: live ?? runEvents(logger),
    })
    live?.stop()
    logRunEnd(logger, result)
    // --verify: the `validate --data` comparison of the same tables, right after the run.
    const verify =
      flags.verify && !controller.signal.aborted
        ? await checkData(pipeline, {
            ...(g.envFile ? { envFile: g.envFile } : {}),
            ...(flags.tables ? { only: flags.tables } : {}),
            ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
          })
        : undefined
    printResult(Boolean(flags.json), verify ? { ...result, verify } : result, () =>
      verify ? `${renderRun(result)}\n\n${renderDataReport(verify)}` : renderRun(result),
    )
    if (result.status === 'failed') {
      const failed = result.tables.filter((t) => t.status === 'failed')
      notifier?.runFinished({
        pipeline: pipeline.name,
        run: loadId,
        status: 'failed',
        failedTables: failed.map((t) => ({ table: t.table, ...(t.error ? { error: t.error } : {}) })),
      })
    }
    const stoppedBy = signals.stoppedBy()
    if (stoppedBy) return SIGNAL_EXIT[stoppedBy]
    return result.status === 'failed' || (verify && !verify.consistent) ? 1 : 0
  } catch (err) {
    logger.error({ event: 'run_error', ...errorFields(err) }, `run failed: ${errorMessage(err)}`)
    if (!(err instanceof LockError)) {
      notifier?.runFinished({
        pipeline: pipeline.name,
        run: loadId,
        status: 'failed',
        error: errorMessage(err),
      })
    }
    throw err
  } finally {
    live?.stop()
    signals.dispose()
    // One process, one run: without a history there is no recovery to tell, only the failure to send.
    await notifier?.flush(NOTIFY_FLUSH_MS)
  }
}

/** 128 + the signal's number, as a shell reports a process the signal ended. */
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = {
  SIGINT: 130,
  SIGTERM: 143,
}

/** A one-shot run waits this long for its failure message before exiting. */
const NOTIFY_FLUSH_MS = 10_000

/** Runs forever on `spec` until a signal; main.ts exits once it returns. */
async function syncScheduled(
  pipeline: Pipeline,
  spec: ScheduleSpec,
  flags: SyncFlags,
): Promise<ScheduledOutcome> {
  if (flags.verify) {
    throw new ConfigError(
      '--verify cannot be combined with a schedule',
      'run dbsync validate --data on its own',
    )
  }
  if (flags.repair) {
    throw new ConfigError(
      '--repair cannot be combined with a schedule',
      'run dbsync sync --repair once on its own, or set verify: { every: 6h, repair: true } in the pipeline file',
    )
  }
  const port = flags.healthPort ?? pipeline.health?.port
  const host = flags.healthHost ?? pipeline.health?.host ?? '0.0.0.0'
  if (flags.healthHost !== undefined && port === undefined) {
    throw new ConfigError(
      '--health-host needs a port',
      'add --health-port, or health: port: to the pipeline file',
    )
  }
  const health = port !== undefined ? { ...pipeline.health, port, host } : pipeline.health
  // Loaded here: the HTTP server and prom-client cost a one-shot run (cron, CI) startup time for nothing.
  const { runScheduled } = await import('../../schedule/serve.js')
  const outcome = await runScheduled({
    pipeline,
    spec,
    ...(health ? { health } : {}),
    ...(flags.tables ? { only: flags.tables } : {}),
    fullRefresh: Boolean(flags.fullRefresh),
    ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
  })
  if (flags.json) printResult(true, outcome.last ?? null, () => '')
  return outcome
}

/** The summary table printed after a run. */
export function renderRun(r: RunResult): string {
  const rows = r.tables.map((t) => [
    t.table,
    t.strategy,
    t.rowsRead,
    t.inserted,
    t.updated,
    t.deleted,
    t.seconds.toFixed(1),
    t.status + (t.schemaChanges.length ? ` (${t.schemaChanges.join('; ')})` : ''),
  ])
  const failed = r.tables.filter((t) => t.status === 'failed')
  const lines = [
    table(['table', 'strategy', 'read', 'inserted', 'updated', 'deleted', 'seconds', 'status'], rows),
    ...renderRepairs(r),
    '',
    `run ${r.loadId}: ${r.status}, ${plural(r.tables.length, 'table')} in ${r.seconds.toFixed(1)} s`,
    ...failed.map((t) => `  ${t.table}: ${t.error}`),
  ]
  return lines.join('\n')
}

/** The repair lines of a `sync --repair` run, one per table. */
function renderRepairs(r: RunResult): string[] {
  const done = r.tables.filter((t) => t.repair)
  if (done.length === 0) return []
  return [
    '',
    'repair:',
    ...done.map(({ table: name, repair: p }) =>
      p!.method === 'refresh'
        ? `  ${name}: rebuilt by the full refresh`
        : `  ${name}: ${p!.chunks_compared} chunks compared, ${p!.chunks_repaired} repaired ` +
          `(${p!.rows_inserted} rows inserted, ${p!.rows_updated} updated, ${p!.rows_deleted} deleted), ` +
          `${p!.chunks_pending} with pending rows left to the next sync` +
          (p!.extra_rows_kept ? `, ${p!.extra_rows_kept} extra target rows kept (deletes: ignore)` : '') +
          ` in ${p!.seconds.toFixed(1)} s`,
    ),
  ]
}
