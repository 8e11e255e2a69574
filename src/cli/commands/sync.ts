import type { Command } from 'commander'
import ora, { type Ora } from 'ora'
import { loadPipeline } from '../../config/load.js'
import { log } from '../../observe/log.js'
import { type RunResult, runSync, type SyncEvents } from '../../sync/run.js'
import { type CliContext, globals, pipelinePath, positiveInt, tablesOption } from '../program.js'
import { printResult, table } from '../render.js'

interface SyncFlags {
  pipeline?: string
  tables?: string[]
  fullRefresh?: boolean
  concurrency?: number
  every?: string
  cron?: string
  healthPort?: number
  verify?: boolean
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
    .option('--health-port <port>', 'serve /healthz, /readyz, /metrics, /status while scheduled', positiveInt)
    .option('--verify', 'compare source and target contents after the sync (validate --data)')
    .option('--json', 'print the summary as one JSON document')
    .action(async (flags: SyncFlags, cmd: Command) => {
      const g = globals(cmd)
      const pipeline = await loadPipeline(pipelinePath(flags.pipeline), g.envFile ? { envFile: g.envFile } : {})
      const controller = new AbortController()
      const stop = () => controller.abort()
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
      const live = flags.json || g.quiet ? null : liveView()
      try {
        const result = await runSync({
          pipeline,
          ...(flags.tables ? { only: flags.tables } : {}),
          fullRefresh: Boolean(flags.fullRefresh),
          ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
          signal: controller.signal,
          events: live ?? logEvents(),
        })
        live?.stop()
        printResult(Boolean(flags.json), result, () => renderRun(result))
        ctx.exitCode = result.status === 'failed' ? 1 : 0
      } finally {
        live?.stop()
        process.off('SIGTERM', stop)
        process.off('SIGINT', stop)
      }
    })
}

/** Without a terminal: one log line per table event. */
function logEvents(): SyncEvents {
  return {
    tableStart: (t) => log().info({ event: 'table_start', table: t.name, strategy: t.strategy }, `${t.name}: start`),
    tableRetry: (table, attempt, delayMs, err) =>
      log().warn(
        { event: 'table_retry', table, attempt, delay_ms: delayMs, err: (err as Error).message },
        `${table}: transient error, retrying in ${delayMs} ms`,
      ),
    tableEnd: (r) => {
      const fields = {
        event: 'table_end',
        table: r.table,
        status: r.status,
        rows: r.rowsRead,
        inserted: r.inserted,
        updated: r.updated,
        seconds: r.seconds,
        schema_changes: r.schemaChanges,
      }
      if (r.status === 'failed') log().error({ ...fields, error: r.error }, `${r.table}: failed: ${r.error}`)
      else log().info(fields, `${r.table}: ${r.status}, ${r.rowsRead} rows in ${r.seconds.toFixed(1)} s`)
      for (const w of r.warnings) log().warn({ event: 'table_warning', table: r.table }, `${r.table}: ${w}`)
    },
  }
}

/** In a terminal: one spinner line listing the running tables with rows and rows/s. */
function liveView(): (SyncEvents & { stop(): void }) | null {
  if (!process.stderr.isTTY) return null
  const running = new Map<string, { rows: number; started: number }>()
  const spinner: Ora = ora({ stream: process.stderr, text: 'starting' }).start()
  const refresh = () => {
    const parts = [...running].map(([name, s]) => {
      const secs = Math.max(0.001, (Date.now() - s.started) / 1000)
      return `${name} ${s.rows} rows (${Math.round(s.rows / secs)}/s)`
    })
    spinner.text = parts.length ? parts.join(' | ') : 'finishing'
  }
  const logged = logEvents()
  return {
    tableStart: (t) => {
      running.set(t.name, { rows: 0, started: Date.now() })
      refresh()
    },
    progress: (name, rows) => {
      const s = running.get(name)
      if (s) s.rows += rows
      refresh()
    },
    tableRetry: (...args) => logged.tableRetry?.(...args),
    tableEnd: (r) => {
      running.delete(r.table)
      const line = `${r.table}: ${r.status}, ${r.rowsRead} rows in ${r.seconds.toFixed(1)} s${r.error ? `: ${r.error}` : ''}`
      if (r.status === 'failed') spinner.fail(line)
      else spinner.succeed(line)
      spinner.start()
      refresh()
    },
    stop: () => spinner.stop(),
  }
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
    Number(t.seconds.toFixed(1)),
    t.status + (t.schemaChanges.length ? ` (${t.schemaChanges.join('; ')})` : ''),
  ])
  const failed = r.tables.filter((t) => t.status === 'failed')
  const lines = [
    table(['table', 'strategy', 'read', 'inserted', 'updated', 'deleted', 'seconds', 'status'], rows),
    '',
    `run ${r.loadId}: ${r.status}, ${r.tables.length} tables in ${r.seconds.toFixed(1)} s`,
    ...failed.map((t) => `  ${t.table}: ${t.error}`),
  ]
  return lines.join('\n')
}
