import type { Command } from 'commander'
import pLimit from 'p-limit'
import { resolveTables } from '../../config/select.js'
import type { Pipeline, TableConfig } from '../../config/types.js'
import type { Db } from '../../db/connect.js'
import { quoteId } from '../../db/quote.js'
import { plural } from '../../observe/text.js'
import { type PendingRows, planRepair, planTables, type RepairPlan, type TablePlan } from '../../plan/plan.js'
import { withSession } from '../../plan/session.js'
import { inventoryLines, type SourceInventory, sourceInventory } from '../../schema/inventory.js'
import type { TableDef } from '../../schema/table-def.js'
import { otherPipelines, type SyncState } from '../../state/sync-state.js'
import { rowShape } from '../../sync/job.js'
import { otherPipelineWarning } from '../../sync/run.js'
import { type CliContext, loadCommandPipeline, tablesOption } from '../options.js'
import { printResult, table } from '../render.js'

interface PlanFlags {
  pipeline?: string
  tables?: string[]
  repair?: boolean
  json?: boolean
}

/** A plan as `plan` shows it (text and --json): what the sync does, without the DDL and diff details. */
export type PlanView = Pick<
  TablePlan,
  | 'table'
  | 'strategy'
  | 'cursor'
  | 'lastCursor'
  | 'action'
  | 'summary'
  | 'schemaChanges'
  | 'pending'
  | 'deletes'
  | 'warnings'
>

export interface PlanResult {
  pipeline: string
  /** Whether information_schema.INNODB_TRX was readable on the source. */
  lateCommitCap: boolean
  tables: PlanView[]
  /** With --repair: what `sync --repair` would do per table. */
  repair?: RepairPlan[]
  /** Source tables no entry selects, and the views, triggers and routines dbsync does not copy. */
  source_objects: SourceInventory
}

/** Above this many rows (TABLE_ROWS) pending rows are estimated with EXPLAIN instead of counted. */
export const COUNT_LIMIT = 1_000_000

export function registerPlan(program: Command, ctx: CliContext): void {
  program
    .command('plan')
    .description('show what the next sync would do, per table; writes nothing')
    .option('-p, --pipeline <file>', 'pipeline file (default: $DBSYNC_PIPELINE)')
    .option('--tables <list>', 'only these tables (comma-separated, globs allowed)', tablesOption)
    .option('--repair', 'also show what sync --repair would do per table')
    .option('--json', 'print the plan as one JSON document')
    .action(async (flags: PlanFlags, cmd: Command) => {
      const pipeline = await loadCommandPipeline(flags.pipeline, cmd)
      const { plans, ...planned } = await plan(pipeline, flags.tables)
      const result = flags.repair ? { ...planned, repair: planRepair(plans) } : planned
      printResult(Boolean(flags.json), result, () => renderPlan(result))
      // A table the next sync would fail is a problem found, as for diff-schema's drift.
      ctx.exitCode = result.tables.some((t) => t.action === 'fails') ? 1 : 0
    })
}

/**
 * Read everything the planner needs and plan. Only reads: catalog queries, the state rows (readState does
 * not create `_sync_state`), COUNT(*) or EXPLAIN on the source. No lock, no table, no state row.
 */
export async function plan(
  pipeline: Pipeline,
  only?: string[],
): Promise<PlanResult & { plans: TablePlan[] }> {
  return withSession(pipeline, { only }, async (session) => {
    const { pair, tables, sourceDefs } = session
    const selected = new Set(resolveTables(pipeline, [...sourceDefs.keys()]).tables.map((t) => t.name))
    const [{ targetDefs, states }, lateCommitCap, others, inventory] = await Promise.all([
      session.readTarget(),
      canReadTransactions(pair.source),
      otherPipelines(
        pair.target,
        pipeline.name,
        tables.map((t) => t.name),
      ),
      sourceInventory(pair.source, sourceDefs.keys(), selected),
    ])
    const limit = pLimit(Math.max(1, Math.min(pipeline.concurrency, pipeline.source.poolMax)))
    const pending = new Map<string, PendingRows>()
    await Promise.all(
      tables.map((t) =>
        limit(async () => {
          const count = await pendingRows(
            pair,
            t,
            sourceDefs.get(t.name)!,
            targetDefs.has(t.name),
            states.get(t.name),
          )
          if (count) pending.set(t.name, count)
        }),
      ),
    )
    const plans = planTables(pipeline, tables, sourceDefs, targetDefs, states, pending, {
      lateCommitCap,
      targetFlavor: pair.target.flavor,
    })
    for (const p of plans) p.warnings.push(...otherPipelineWarning(others.get(p.table)))
    return {
      pipeline: pipeline.name,
      lateCommitCap,
      tables: plans.map(planView),
      source_objects: inventory,
      plans,
    }
  })
}

function planView(p: TablePlan): PlanView {
  const { table, strategy, cursor, lastCursor, action, summary, schemaChanges, pending, deletes, warnings } =
    p
  return { table, strategy, cursor, lastCursor, action, summary, schemaChanges, pending, deletes, warnings }
}

// The late-commit cap reads INNODB_TRX, which needs the PROCESS privilege (sync/snapshot.ts).
async function canReadTransactions(source: Db): Promise<boolean> {
  try {
    await source.pool.query('SELECT 1 FROM information_schema.INNODB_TRX LIMIT 1')
    return true
  } catch {
    return false
  }
}

/**
 * The rows the next sync reads: all of them for a new table, a full_refresh table or a first load, else
 * those after the saved position (compared as the sync compares them). Big tables get the
 * optimizer's estimate instead of a COUNT(*) that would scan them. Null when the sync would not get as far.
 */
export async function pendingRows(
  pair: { source: Db; target: Db },
  config: TableConfig,
  def: TableDef,
  inTarget: boolean,
  state: SyncState | undefined,
  countLimit = COUNT_LIMIT,
): Promise<PendingRows | null> {
  const from = quoteId(def.name)
  const big = def.estimatedRows > countLimit
  const lastCursor = state?.lastCursor ?? null
  // A first load (or its resumption) copies the whole table, as a full refresh does.
  if (
    config.strategy === 'full_refresh' ||
    !inTarget ||
    !state ||
    state.phase === 'initial' ||
    lastCursor === null
  ) {
    if (big) return { rows: def.estimatedRows, estimated: true }
    return { rows: await countRows(pair.source, `SELECT COUNT(*) AS n FROM ${from}`), estimated: false }
  }
  let cursor: ReturnType<typeof rowShape>['cursor']
  try {
    cursor = rowShape({ config, sourceDef: def, target: pair.target }).cursor
  } catch {
    return null // a missing cursor or key column: the planner reports the failure
  }
  if (!cursor) return null
  // As incremental.ts reads: after (cursor, key) when a key is saved, else from the cursor value itself
  // (the bound a first load leaves). Rows tied on the cursor with a larger key are not counted.
  const op = state.lastKey ? '>' : '>='
  const where = `${cursor.expr} ${op} ${cursor.literal(Buffer.from(lastCursor, 'utf8'))}`
  if (!big)
    return {
      rows: await countRows(pair.source, `SELECT COUNT(*) AS n FROM ${from} WHERE ${where}`),
      estimated: false,
    }
  const [rows] = await pair.source.pool.query(`EXPLAIN SELECT 1 FROM ${from} WHERE ${where}`)
  const first = (rows as Array<{ rows?: string | number | null; filtered?: string | number | null }>)[0]
  const estimate = Number(first?.rows ?? def.estimatedRows) * (Number(first?.filtered ?? 100) / 100)
  return { rows: Math.round(estimate), estimated: true }
}

async function countRows(db: Db, text: string): Promise<number> {
  const [rows] = await db.pool.query(text)
  return Number((rows as Array<{ n: string | number }>)[0]?.n ?? 0)
}

function renderPlan(r: PlanResult): string {
  const rows = r.tables.map((t) => [
    t.table,
    t.strategy,
    t.cursor.join(', ') || '-',
    t.lastCursor ?? '-',
    t.summary,
    t.deletes ? 'on' : 'off',
  ])
  const lines = [table(['table', 'strategy', 'cursor', 'last cursor', 'action', 'deletes check'], rows)]
  const changes = r.tables.flatMap((t) => t.schemaChanges.map((c) => `  ${t.table}: ${c}`))
  if (changes.length) lines.push('', 'schema changes:', ...changes)
  if (r.repair) lines.push('', 'repair:', ...r.repair.map((p) => `  ${p.table}: ${p.summary}`))
  const warnings = r.tables.flatMap((t) => t.warnings.map((w) => `  ${t.table}: ${w}`))
  if (warnings.length) lines.push('', 'warnings:', ...warnings)
  const inventory = inventoryLines(r.source_objects)
  if (inventory.length) lines.push('', ...inventory)
  const fails = r.tables.filter((t) => t.action === 'fails').length
  lines.push(
    '',
    `plan for ${r.pipeline}: ${plural(r.tables.length, 'table')}${fails ? `, ${fails} would fail` : ''}; nothing was changed`,
  )
  return lines.join('\n')
}
