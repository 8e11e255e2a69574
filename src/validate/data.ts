import pLimit, { type LimitFunction } from 'p-limit'
import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { errorMessage } from '../errors.js'
import { log } from '../observe/log.js'
import { type Session, withSession } from '../plan/session.js'
import { type ColumnDef, column, copiedColumns, type TableDef } from '../schema/table-def.js'
import type { SyncState } from '../state/sync-state.js'
import { compareByKey, compareWhole, sameHash } from './checksum.js'
import { concatFits, keyTerms } from './checksum-sql.js'
import { type DataReport, judgeHistory, repairCommand, rowKey, type TableDataReport } from './data-report.js'
import { pendingRule } from './pending.js'

export type { DataReport, RowKey, TableDataReport } from './data-report.js'
export { repairCommand, rowKey } from './data-report.js'

/** How `validate --data` and `sync --verify` compare. */
export interface DataCheckOptions {
  /** The --tables list. */
  only?: string[]
  /** Rows per chunk (default 10,000). */
  chunkRows?: number
  /** Keys listed per table (default 100); counting and drilling stop once this many are found. */
  maxMismatches?: number
  /** Chunks compared at once (default: the pipeline's concurrency). */
  concurrency?: number
  /** The --env file, repeated in the repair command. */
  envFile?: string
}

const CHUNK_ROWS = 10_000
const LEAF_ROWS = 500
const MAX_MISMATCHES = 100

/**
 * Compare source and target contents of the selected tables, in the caller's session (validate --data
 * opens one for its checks and the comparison) or in one of its own. Connection failures throw (exit 3);
 * a table that cannot be compared is reported with status 'error' and the others go on.
 */
export async function checkData(
  pipeline: Pipeline,
  opts: DataCheckOptions & { session?: Session } = {},
): Promise<DataReport> {
  if (opts.session) return compareData(opts.session, opts)
  return withSession(pipeline, { only: opts.only, missingTables: 'keep' }, (session) =>
    compareData(session, opts),
  )
}

async function compareData(session: Session, opts: DataCheckOptions): Promise<DataReport> {
  const started = Date.now()
  const { pipeline, pair, tables, sourceDefs } = session
  const { targetDefs, states } = await session.readTarget()
  const workers = Math.max(
    1,
    Math.min(opts.concurrency ?? pipeline.concurrency, pipeline.source.poolMax, pipeline.target.poolMax),
  )
  // One limiter for every table: tables proceed together, and at most `workers` queries run per side.
  const limit = pLimit(workers)
  const settings: TableSettings = {
    chunkRows: opts.chunkRows ?? CHUNK_ROWS,
    maxMismatches: opts.maxMismatches ?? MAX_MISMATCHES,
    limit,
  }
  const reports = await Promise.all(
    tables.map((c) =>
      checkTable(pair, c, sourceDefs.get(c.name)!, targetDefs.get(c.name), states.get(c.name), settings),
    ),
  )
  const differing = reports.filter((r) => r.status === 'mismatch').map((r) => r.table)
  return {
    pipeline: pipeline.name,
    consistent: reports.every((r) => r.status === 'consistent'),
    chunkRows: settings.chunkRows,
    tables: reports,
    repair_command: differing.length ? repairCommand(pipeline.file, differing, opts.envFile) : null,
    seconds: (Date.now() - started) / 1000,
  }
}

/** A mismatch as found, before its key is made readable. */
interface Found {
  chunk: number
  seq: number
  kind: 'missing' | 'extra' | 'differing'
  key: Buffer[]
  columns: string[]
}

interface TableSettings {
  chunkRows: number
  maxMismatches: number
  limit: LimitFunction
}

async function checkTable(
  pair: { source: Db; target: Db },
  config: TableConfig,
  sourceDef: TableDef,
  targetDef: TableDef | undefined,
  state: SyncState | undefined,
  settings: TableSettings,
): Promise<TableDataReport> {
  const started = Date.now()
  const columns = copiedColumns(sourceDef)
  const keyNames = config.primaryKey ?? sourceDef.primaryKey
  const report: TableDataReport = {
    table: config.name,
    rule:
      keyNames.length === 0
        ? 'no_key'
        : config.strategy === 'incremental' && config.cursor.length > 0
          ? 'incremental'
          : 'full_refresh',
    ruleDetail: '',
    status: 'consistent',
    keyColumns: keyNames,
    sourceRows: 0,
    targetRows: 0,
    chunks: 0,
    differingChunks: 0,
    pending: 0,
    counts: { missing: 0, extra: 0, differing: 0 },
    missing: [],
    extra: [],
    differing: [],
    undrilledChunks: 0,
    counts_complete: true,
    seconds: 0,
  }
  try {
    if (!targetDef) throw new Error('the table does not exist in the target (run sync)')
    const absent = columns.filter((c) => !column(targetDef, c.name)).map((c) => c.name)
    if (absent.length > 0) throw new Error(`columns missing in the target: ${absent.join(', ')} (run sync)`)
    if (report.rule === 'no_key') await checkWhole(pair, config.name, columns, report)
    else await checkByKey(pair, config, sourceDef, targetDef, columns, state, settings, report)
  } catch (err) {
    report.status = 'error'
    report.error = errorMessage(err)
    log().error(
      { event: 'validate_data_error', table: config.name, error: report.error },
      `${config.name}: ${report.error}`,
    )
  }
  judgeHistory(report, state, Boolean(targetDef))
  report.seconds = (Date.now() - started) / 1000
  return report
}

async function checkWhole(
  pair: { source: Db; target: Db },
  table: string,
  columns: ColumnDef[],
  report: TableDataReport,
) {
  report.ruleDetail = 'no primary key: row count and whole-table checksum only, no drill-down to rows'
  const { source, target } = await compareWhole(pair.source, pair.target, table, columns)
  report.chunks = 1
  report.sourceRows = Number(source.count)
  report.targetRows = Number(target.count)
  if (!sameHash(source, target)) {
    report.differingChunks = 1
    report.status = 'mismatch'
  }
}

async function checkByKey(
  pair: { source: Db; target: Db },
  config: TableConfig,
  sourceDef: TableDef,
  targetDef: TableDef,
  columns: ColumnDef[],
  state: SyncState | undefined,
  settings: TableSettings,
  report: TableDataReport,
) {
  const keyCols = report.keyColumns.map((name) => {
    const c = columns.find((x) => x.name === name)
    if (!c) throw new Error(`primary key column "${name}" is not a copied column of the source`)
    return c
  })
  const keys = {
    source: keyTerms(keyCols, pair.source.flavor),
    target: keyTerms(keyCols, pair.target.flavor),
  }
  let pending: string | null = null
  if (report.rule === 'incremental') {
    const rule = pendingRule(config, sourceDef, keys.source, pair.source, state)
    pending = rule.pending
    report.ruleDetail = rule.detail
  } else {
    report.ruleDetail = 'full refresh: every row judged'
  }
  // Listed in chunk order, whatever order concurrent chunks finish in.
  const found: Found[] = []
  const total = () => report.counts.missing + report.counts.extra + report.counts.differing
  const note = (chunk: number, kind: Found['kind'], key: Buffer[], columns: string[] = []) => {
    report.counts[kind]++
    if (found.length < settings.maxMismatches) found.push({ chunk, seq: found.length, kind, key, columns })
  }
  const totals = await compareByKey(
    pair.source,
    pair.target,
    {
      table: config.name,
      columns,
      keys,
      pending,
      chunkRows: settings.chunkRows,
      leafRows: Math.min(LEAF_ROWS, settings.chunkRows),
      limit: settings.limit,
      targetSnapshot: true,
      concat:
        readInKeyOrder(report.keyColumns, sourceDef, targetDef) && concatFits(columns, settings.chunkRows),
    },
    {
      missing: (chunk, key, isPending) => isPending || note(chunk, 'missing', key),
      differing: (chunk, key, cols, isPending) => isPending || note(chunk, 'differing', key, cols),
      extra: (chunk, list) => {
        for (const key of list) note(chunk, 'extra', key)
      },
      drill: () => total() < settings.maxMismatches,
    },
  )
  Object.assign(report, {
    sourceRows: totals.sourceRows,
    targetRows: totals.targetRows,
    chunks: totals.chunks,
    differingChunks: totals.differingChunks,
    undrilledChunks: totals.undrilledChunks,
    pending: totals.pending,
  })
  found.sort((a, b) => a.chunk - b.chunk || a.seq - b.seq)
  for (const f of found) {
    const key = rowKey(report.keyColumns, f.key)
    if (f.kind === 'differing') report.differing.push({ key, columns: f.columns })
    else report[f.kind].push(key)
  }
  if (total() > 0 || totals.undrilledChunks > 0) report.status = 'mismatch'
  report.counts_complete = totals.undrilledChunks === 0
}

/**
 * Whether both sides read a key range in the same row order, so a chunk can be hashed as SHA1 of its
 * joined rows (checksum-hash.ts): the compared key is the primary key on both sides. A declared key
 * without that index would be read in another order on each side (chunks would differ, rows not).
 */
function readInKeyOrder(keys: string[], sourceDef: TableDef, targetDef: TableDef): boolean {
  const same = (pk: string[]) => pk.length === keys.length && pk.every((k, i) => k === keys[i])
  return same(sourceDef.primaryKey) && same(targetDef.primaryKey)
}
