import type { Command } from 'commander'
import type { Strategy } from '../../config/types.js'
import { plural } from '../../observe/text.js'
import { planTables } from '../../plan/plan.js'
import { refusalSummary } from '../../plan/refusal.js'
import { withSession } from '../../plan/session.js'
import { fullRefreshHint, type TablePlan } from '../../plan/table-plan.js'
import { changeSummary, describeChange } from '../../schema/diff.js'
import { type CliContext, loadCommandPipeline, tablesOption } from '../options.js'
import { printResult } from '../render.js'

interface DiffSchemaFlags {
  pipeline?: string
  tables?: string[]
  sql?: boolean
  json?: boolean
}

export interface TableDiff {
  table: string
  strategy: Strategy
  /** `missing`: the table is not in the target yet; `incompatible`: an incremental sync would refuse it. */
  status: 'same' | 'differs' | 'missing' | 'incompatible'
  changes: Array<Record<string, string | null>>
  /** The DDL the next sync runs for this table, exactly; empty when it runs none. */
  sql: string[]
  /** Why the sync would refuse the table, and the way out. */
  error?: string
  /** Target columns the source dropped: kept, and written NULL from then on (not drift: nothing to apply). */
  kept: string[]
}

export interface DiffSchemaResult {
  pipeline: string
  /** True when any selected table differs: the command then exits 1. */
  differs: boolean
  tables: TableDiff[]
}

export function registerDiffSchema(program: Command, ctx: CliContext): void {
  program
    .command('diff-schema')
    .description('compare source and target table definitions; exit 1 when they differ')
    .option('-p, --pipeline <file>', 'pipeline file (default: $DBSYNC_PIPELINE)')
    .option('--tables <list>', 'only these tables (comma-separated, globs allowed)', tablesOption)
    .option('--sql', 'print the DDL that sync would run')
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: DiffSchemaFlags, cmd: Command) => {
      const pipeline = await loadCommandPipeline(flags.pipeline, cmd)
      const result = await withSession(pipeline, { only: flags.tables }, async (session) => {
        const { targetDefs } = await session.readTarget()
        // The DDL does not depend on the saved positions: none are passed.
        const plans = planTables(
          pipeline,
          session.tables,
          session.sourceDefs,
          targetDefs,
          new Map(),
          new Map(),
          {
            lateCommitCap: true,
            targetFlavor: session.pair.target.flavor,
          },
        )
        const diffs = plans.map(diffOne)
        return { pipeline: pipeline.name, differs: diffs.some((d) => d.status !== 'same'), tables: diffs }
      })
      printResult(Boolean(flags.json), result, () => (flags.sql ? renderSql(result) : renderText(result)))
      ctx.exitCode = result.differs ? 1 : 0
    })
}

/**
 * One table's differences and the DDL the sync would run for them: the planner's, exactly (for a new
 * incremental table the CREATE TABLE and the indexes added after the first load, ALTER TABLE for an
 * existing one, and for a full_refresh table the rebuild: staging table keeping target-only columns,
 * indexes, RENAME).
 */
export function diffOne(p: TablePlan): TableDiff {
  const base = { table: p.table, strategy: p.strategy, kept: p.kept }
  const changes = p.changes.map(changeSummary)
  const sql = [...p.ddl.before, ...p.ddl.afterLoad.map((s) => AFTER_LOAD + s), ...p.ddl.swap]
  if (p.kind === 'refused') {
    const bad = p.refusals.find((r) => r.reason === 'incompatible')
    const error = bad
      ? describeChange(bad.changes[0]!)
      : refusalSummary(p.table, p.refusals[0]).replace(/^fails: /, '')
    const status = bad ? 'incompatible' : !p.targetExists ? 'missing' : changes.length ? 'differs' : 'same'
    return { ...base, status, changes, sql: [], error: bad ? `${error}; ${fullRefreshHint(p.table)}` : error }
  }
  if (!p.targetExists) return { ...base, status: 'missing', changes: [], sql }
  if (changes.length === 0) return { ...base, status: 'same', changes: [], sql: [] }
  return { ...base, status: 'differs', changes, sql }
}

const AFTER_LOAD = '-- once the rows are loaded:\n'

function renderText(r: DiffSchemaResult): string {
  const lines: string[] = []
  for (const t of r.tables) {
    const head = `${t.table} (${t.strategy})`
    const kept = t.kept.length
      ? `; the target keeps ${t.kept.join(', ')} (dropped in the source), written NULL from now on`
      : ''
    // A table the sync refuses for its key or cursor: it runs no DDL, and says why.
    const refused =
      t.error && t.status !== 'incompatible' ? [`  the next sync fails this table: ${t.error}`] : []
    if (t.status === 'same') {
      lines.push(`${head}: no differences${kept}`, ...refused)
      continue
    }
    if (t.status === 'missing') {
      lines.push(`${head}: missing in the target${refused.length ? '' : ': create table'}`, ...refused)
      continue
    }
    const n = t.changes.length
    lines.push(
      `${head}: ${n} difference${n === 1 ? '' : 's'}${t.strategy === 'full_refresh' ? ' (the next full refresh applies them)' : ''}`,
    )
    for (const c of t.changes) lines.push(`  ${c.description}`)
    if (t.status === 'incompatible')
      lines.push(`  the next sync fails this table: ${fullRefreshHint(t.table)}`)
    else lines.push(...refused)
  }
  const differ = r.tables.filter((t) => t.status !== 'same').length
  lines.push(
    '',
    differ
      ? `${differ} of ${plural(r.tables.length, 'table')} ${differ === 1 ? 'differs' : 'differ'}`
      : `no differences in ${plural(r.tables.length, 'table')}`,
  )
  return lines.join('\n')
}

function renderSql(r: DiffSchemaResult): string {
  const parts: string[] = []
  for (const t of r.tables) {
    if (t.status === 'same') continue
    if (t.error) {
      parts.push(`-- ${t.table}: no DDL, the sync fails this table: ${t.error}`)
      continue
    }
    const note = t.strategy === 'full_refresh' ? ' (full_refresh: every sync rebuilds it like this)' : ''
    parts.push(`-- ${t.table}${note}\n${t.sql.map((s) => `${s};`).join('\n')}`)
  }
  return parts.length ? parts.join('\n\n') : '-- no differences'
}
