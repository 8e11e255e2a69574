import type { Command } from 'commander'
import { parseDuration } from '../../config/duration.js'
import type { Pipeline } from '../../config/types.js'
import { connect } from '../../db/connect.js'
import { duration, type PipelineReport, readReport, reportProblems } from '../../state/report.js'
import { type CliContext, loadCommandPipeline } from '../options.js'
import { printResult, table } from '../render.js'

interface StatusFlags {
  pipeline?: string
  maxLag?: string
  json?: boolean
}

export interface StatusResult extends PipelineReport {
  /** Empty when all is well; otherwise why the command exits 1. */
  problems: string[]
  max_lag_seconds: number | null
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("each table's last run, result, lag and rows, read from the target; exit 1 on a problem")
    .option('-p, --pipeline <file>', 'pipeline file (default: $DBSYNC_PIPELINE)')
    .option('--max-lag <duration>', 'exit 1 when a table lags (or last synced) more than this, e.g. 10m')
    .option('--json', 'print the status as one JSON document')
    .action(async (flags: StatusFlags, cmd: Command) => {
      const maxLagMs = flags.maxLag === undefined ? undefined : parseDuration(flags.maxLag, '--max-lag')
      const pipeline = await loadCommandPipeline(flags.pipeline, cmd)
      const result = await status(pipeline, maxLagMs)
      printResult(Boolean(flags.json), result, () => renderStatus(result))
      ctx.exitCode = result.problems.length ? 1 : 0
    })
}

/** Read the report from the target alone: a cron deployment's probe needs no source connection. */
export async function status(pipeline: Pipeline, maxLagMs?: number): Promise<StatusResult> {
  const target = await connect(pipeline.target)
  try {
    const expected = pipeline.tables.filter((s) => !s.exclude && !s.isGlob).map((s) => s.pattern)
    const report = await readReport(target, pipeline.name, { expected, runs: 10 })
    return {
      ...report,
      problems: reportProblems(report, maxLagMs),
      max_lag_seconds: maxLagMs === undefined ? null : maxLagMs / 1000,
    }
  } finally {
    await target.close()
  }
}

/** The status, with who holds the table and how far its load in key ranges is, when those apply. */
function statusText(t: StatusResult['tables'][number]): string {
  const notes = [
    ...(t.held_by ? [t.held_by] : []),
    ...(t.key_ranges ? [`key ranges ${t.key_ranges.done}/${t.key_ranges.total}`] : []),
  ]
  return notes.length ? `${t.status} (${notes.join(', ')})` : t.status
}

function renderStatus(r: StatusResult): string {
  const rows = r.tables.map((t) => [
    t.table,
    t.strategy ?? '-',
    statusText(t),
    t.last_run_at ? ago(t.last_run_at, r.checked_at) : '-',
    t.last_success_at ? ago(t.last_success_at, r.checked_at) : '-',
    t.lag_seconds === null ? '-' : duration(t.lag_seconds),
    t.rows_synced,
  ])
  const lines = [table(['table', 'strategy', 'status', 'last run', 'last success', 'lag', 'rows'], rows)]
  const errors = r.tables.filter((t) => t.error && t.status !== 'ok')
  if (errors.length) lines.push('', 'errors:', ...errors.map((t) => `  ${t.table}: ${t.error}`))
  const last = r.runs[0]
  lines.push(
    '',
    last
      ? `last run ${last.load_id}: ${last.status}, started ${ago(last.started_at, r.checked_at)}` +
          (last.seconds === null ? '' : `, took ${duration(last.seconds)}`)
      : 'no run recorded',
  )
  if (r.lock_held) lines.push('a run holds the pipeline lock now')
  lines.push(
    r.problems.length
      ? `pipeline ${r.pipeline}: ${r.problems.length} problem(s):\n${r.problems.map((p) => `  ${p}`).join('\n')}`
      : `pipeline ${r.pipeline}: ok`,
  )
  return lines.join('\n')
}

function ago(at: string, now: string): string {
  return `${duration(Math.max(0, (Date.parse(now) - Date.parse(at)) / 1000))} ago`
}
