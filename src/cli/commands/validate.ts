import type { Command } from 'commander'
import { loadPipeline } from '../../config/load.js'
import { resolveTables } from '../../config/select.js'
import type { Pipeline, Strategy } from '../../config/types.js'
import { ConfigError } from '../../errors.js'
import { log } from '../../observe/log.js'
import { type Session, withSession } from '../../plan/session.js'
import { inventoryLines, type SourceInventory, sourceInventory } from '../../schema/inventory.js'
import { checkData } from '../../validate/data.js'
import { type CheckResult, checkSelectors, checkTables, type Issue } from '../../validate/rules.js'
import { type CliContext, globals, pipelinePath, positiveInt, tablesOption } from '../options.js'
import { printResult } from '../render.js'
import { renderDataReport } from '../render-data.js'

interface ValidateFlags {
  pipeline?: string
  offline?: boolean
  data?: boolean
  chunkRows?: number
  maxMismatches?: number
  tables?: string[]
  json?: boolean
}

export interface ValidateOptions {
  /** The pipeline file as the user named it (messages show this spelling). */
  file: string
  envFile?: string
  offline: boolean
  /** The --tables list. */
  only?: string[]
}

/** One selected table (online) or one `tables:` entry (offline, where no table names are known). */
export interface TableReport {
  name: string
  line: number
  strategy: Strategy
  cursor: string[]
  /** From the file, else the source's; empty when neither has one. Empty offline unless the file names it. */
  primaryKey: string[]
  status: 'ok' | 'warning' | 'error' | 'unchecked'
}

export interface ValidateResult {
  pipeline: string
  /** The pipeline file as given on the command line. */
  file: string
  valid: boolean
  offline: boolean
  tables: TableReport[]
  errors: Issue[]
  warnings: Issue[]
  /** Online: source tables no entry selects, and the views, triggers and routines dbsync does not copy. */
  source_objects?: SourceInventory
}

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check the pipeline file and, unless --offline, the tables and columns it names')
    .option('-p, --pipeline <file>', 'pipeline file (default: $DBSYNC_PIPELINE)')
    .option('--offline', 'check the file only; connect to no database')
    .option('--data', 'also compare source and target contents')
    .option('--chunk-rows <n>', 'with --data: rows per checksum chunk (default 10000)', positiveInt)
    .option('--max-mismatches <n>', 'with --data: keys listed per table (default 100)', positiveInt)
    .option('--tables <list>', 'only these tables (comma-separated, globs allowed)', tablesOption)
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: ValidateFlags, cmd: Command) => {
      if (flags.data && flags.offline) {
        throw new ConfigError(
          '--data compares the two databases and cannot run --offline',
          'drop --offline or --data',
        )
      }
      const g = globals(cmd)
      const opts = {
        file: pipelinePath(flags.pipeline),
        ...(g.envFile ? { envFile: g.envFile } : {}),
        ...(flags.tables ? { only: flags.tables } : {}),
        offline: Boolean(flags.offline),
      }
      // One load, one session: the checks and the --data comparison share the pools and the definitions.
      const pipeline = await loadPipeline(opts.file, opts.envFile ? { envFile: opts.envFile } : {})
      const { result, data } = opts.offline
        ? { result: validateOffline(pipeline, opts), data: undefined }
        : await withSession(pipeline, { only: opts.only, missingTables: 'keep' }, async (session) => {
            const result = await validateOnline(opts, session)
            // --data compares contents (validate/data.ts) once the file and its tables check out.
            const data =
              flags.data && result.valid
                ? await checkData(pipeline, {
                    ...opts,
                    session,
                    ...(flags.chunkRows ? { chunkRows: flags.chunkRows } : {}),
                    ...(flags.maxMismatches ? { maxMismatches: flags.maxMismatches } : {}),
                  })
                : undefined
            return { result, data }
          })
      const text = () =>
        data ? `${renderValidate(result)}\n\n${renderDataReport(data)}` : renderValidate(result)
      // An invalid file is an error like any other command's: its report goes to stderr.
      if (!result.valid && !flags.json) process.stderr.write(`${text()}\n`)
      else printResult(Boolean(flags.json), data ? { ...result, data } : result, text)
      // Errors here are configuration errors: the file names things the source does not have.
      ctx.exitCode = !result.valid ? 2 : data && !data.consistent ? 1 : 0
    })
}

/** `validate --offline`: the file alone; the entries are listed unchecked. */
export function validateOffline(pipeline: Pipeline, opts: ValidateOptions): ValidateResult {
  const tables = pipeline.tables
    .filter((s) => !s.exclude)
    .map(
      (s): TableReport => ({
        name: s.pattern,
        line: s.line,
        strategy: s.strategy,
        cursor: s.cursor,
        primaryKey: s.primaryKey ?? [],
        status: 'unchecked',
      }),
    )
  return report(pipeline, opts, tables, checkSelectors(pipeline))
}

/** Check the selected tables against the source the session introspected. */
export async function validateOnline(opts: ValidateOptions, session: Session): Promise<ValidateResult> {
  const { pipeline, pair, sourceDefs, resolved, views } = session
  log().debug({ event: 'validate_connected', pipeline: pipeline.name }, 'connected to source and target')
  const checked = checkTables(pipeline, resolved, sourceDefs, views)
  const tables = resolved.tables.map((t): TableReport => {
    // An issue is this table's when it names the table, or the entry (a glob) that selected it.
    const pattern = pipeline.tables.find((s) => s.line === t.line)?.pattern
    const mine = (issues: Issue[]) =>
      issues.some((i) => i.line === t.line && (i.table === t.name || i.table === pattern))
    return {
      name: t.name,
      line: t.line,
      strategy: t.strategy,
      cursor: t.cursor,
      primaryKey: t.primaryKey ?? sourceDefs.get(t.name)?.primaryKey ?? [],
      status: mine(checked.errors) ? 'error' : mine(checked.warnings) ? 'warning' : 'ok',
    }
  })
  const selected = new Set(resolveTables(pipeline, [...sourceDefs.keys()]).tables.map((t) => t.name))
  const inventory = await sourceInventory(pair.source, sourceDefs.keys(), selected)
  return { ...report(pipeline, opts, tables, checked), source_objects: inventory }
}

function report(
  pipeline: Pipeline,
  opts: ValidateOptions,
  tables: TableReport[],
  checked: CheckResult,
): ValidateResult {
  return {
    pipeline: pipeline.name,
    file: opts.file,
    valid: checked.errors.length === 0,
    offline: opts.offline,
    tables,
    errors: checked.errors,
    warnings: checked.warnings,
  }
}

/** Text: one line per table, then the errors and warnings with `file:line:`, then a summary line. */
export function renderValidate(r: ValidateResult): string {
  const lines: string[] = []
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`
  if (!r.offline) {
    const rows = r.tables.map((t) => [
      t.status === 'warning' ? 'warn' : t.status,
      t.name,
      t.strategy,
      [
        t.cursor.length > 0 ? `cursor=${t.cursor.join(',')}` : '',
        `key=${t.primaryKey.length > 0 ? t.primaryKey.join(',') : 'none'}`,
      ]
        .filter((s) => s !== '')
        .join(' '),
    ])
    const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((row) => (row[i] ?? '').length)))
    for (const row of rows)
      lines.push(
        row
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
  }
  const issueLines = (label: string, issues: Issue[]) => {
    for (const i of issues) {
      lines.push(`${label}: ${r.file}:${i.line}: ${i.message}`)
      if (i.hint) lines.push(`  hint: ${i.hint}`)
    }
  }
  if (lines.length > 0 && r.errors.length + r.warnings.length > 0) lines.push('')
  issueLines('error', r.errors)
  issueLines('warning', r.warnings)
  if (lines.length > 0) lines.push('')
  const inventory = r.source_objects ? inventoryLines(r.source_objects) : []
  if (inventory.length) lines.push(...inventory, '')

  const notes = [
    ...(r.errors.length > 0 ? [count(r.errors.length, 'error')] : []),
    ...(r.warnings.length > 0 ? [count(r.warnings.length, 'warning')] : []),
  ]
  const scope = r.offline
    ? `offline: ${count(r.tables.length, 'table selector')}`
    : count(r.tables.length, 'table')
  lines.push(`pipeline ${r.pipeline}: ${r.valid ? 'valid' : 'invalid'} (${[scope, ...notes].join(', ')})`)
  return lines.join('\n')
}
