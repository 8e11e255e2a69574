import type { Command } from 'commander'
import type { Strategy, TableConfig } from '../../config/types.js'
import type { Flavor } from '../../db/flavor.js'
import { plural } from '../../observe/text.js'
import { renderAlter } from '../../schema/ddl.js'
import { changeSummary, describeChange, diffTable, keptColumns } from '../../schema/diff.js'
import { introspect } from '../../schema/introspect.js'
import { firstLoadDdl, refreshDdl } from '../../schema/load-ddl.js'
import type { TableDef } from '../../schema/table-def.js'
import { connectPair } from '../../sync/run.js'
import { fullRefreshHint } from '../../sync/schema-sync.js'
import { resolveSelected } from '../../validate/resolve.js'
import { type CliContext, loadCommandPipeline, tablesOption } from '../program.js'
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
      const pair = await connectPair(pipeline)
      let result: DiffSchemaResult
      try {
        const { tables, sourceDefs } = await resolveSelected(pipeline, pair.source, flags.tables)
        const targetDefs = tables.length
          ? await introspect(
              pair.target,
              tables.map((t) => t.name),
            )
          : new Map()
        const diffs = tables.map((t) =>
          diffOne(t, sourceDefs.get(t.name)!, targetDefs.get(t.name), pair.target.flavor),
        )
        result = { pipeline: pipeline.name, differs: diffs.some((d) => d.status !== 'same'), tables: diffs }
      } finally {
        await Promise.all([pair.source.close(), pair.target.close()])
      }
      printResult(Boolean(flags.json), result, () => (flags.sql ? renderSql(result) : renderText(result)))
      ctx.exitCode = result.differs ? 1 : 0
    })
}

/**
 * One table's differences and the DDL the sync would run for them, from the same functions the sync
 * calls: for a new incremental table the CREATE TABLE of run.ts and the indexes incremental.ts adds after
 * the first load, renderAlter for an existing one, and for a full_refresh table the rebuild of
 * full-refresh.ts (staging table keeping target-only columns, indexes, RENAME).
 */
export function diffOne(
  config: TableConfig,
  source: TableDef,
  target: TableDef | undefined,
  flavor: Flavor,
): TableDiff {
  const base = {
    table: config.name,
    strategy: config.strategy,
    kept: target ? keptColumns(source, target) : [],
  }
  const full = config.strategy === 'full_refresh'
  if (!target) {
    const sql = full ? rebuildSql(config.name, source, undefined, flavor) : createSql(source, flavor)
    return { ...base, status: 'missing', changes: [], sql }
  }
  const changes = diffTable(source, target, flavor)
  if (changes.length === 0) return { ...base, status: 'same', changes: [], sql: [] }
  const summaries = changes.map(changeSummary)
  if (full)
    return {
      ...base,
      status: 'differs',
      changes: summaries,
      sql: rebuildSql(config.name, source, target, flavor),
    }
  const bad = changes.find((c) => c.kind === 'incompatible')
  if (bad) {
    const error = `${describeChange(bad)}; ${fullRefreshHint(config.name)}`
    return { ...base, status: 'incompatible', changes: summaries, sql: [], error }
  }
  return { ...base, status: 'differs', changes: summaries, sql: renderAlter(config.name, changes, flavor) }
}

const AFTER_LOAD = '-- once the rows are loaded:\n'

function createSql(source: TableDef, flavor: Flavor): string[] {
  const ddl = firstLoadDdl(source, flavor)
  const indexes = ddl.afterLoad()
  return [ddl.create, ...(indexes ? [AFTER_LOAD + indexes] : [])]
}

function rebuildSql(name: string, source: TableDef, target: TableDef | undefined, flavor: Flavor): string[] {
  const ddl = refreshDdl(name, source, target, target !== undefined, flavor)
  return [...ddl.prepare, ...ddl.afterLoad.map((s) => AFTER_LOAD + s), ...ddl.swap]
}

function renderText(r: DiffSchemaResult): string {
  const lines: string[] = []
  for (const t of r.tables) {
    const head = `${t.table} (${t.strategy})`
    const kept = t.kept.length
      ? `; the target keeps ${t.kept.join(', ')} (dropped in the source), written NULL from now on`
      : ''
    if (t.status === 'same') {
      lines.push(`${head}: no differences${kept}`)
      continue
    }
    if (t.status === 'missing') {
      lines.push(`${head}: missing in the target: create table`)
      continue
    }
    const n = t.changes.length
    lines.push(
      `${head}: ${n} difference${n === 1 ? '' : 's'}${t.strategy === 'full_refresh' ? ' (the next full refresh applies them)' : ''}`,
    )
    for (const c of t.changes) lines.push(`  ${c.description}`)
    if (t.error) lines.push(`  the next sync fails this table: ${fullRefreshHint(t.table)}`)
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
