import pLimit, { type LimitFunction } from 'p-limit'
import { quoteId } from '../db/quote.js'
import { log } from '../observe/log.js'
import { type ColumnDef, copiedColumns } from '../schema/table-def.js'
import { readState } from '../state/sync-state.js'
import { type ChunkConns, compareByKey } from '../validate/checksum.js'
import { deleteKeysSql, type KeyTerm, keysIn, keyTerms } from '../validate/checksum-sql.js'
import { pendingRule } from '../validate/pending.js'
import { rawQuery } from '../validate/read-pair.js'
import { absentInSource, DELETE_BATCH } from './deletes.js'
import { nullColumns, type RowShape, type TableJob } from './job.js'
import { queryWithTimeout } from './read.js'
import type { RepairResult } from './repair-result.js'
import { encodeInserts, sendInserts, type WriteTarget } from './write.js'

export type { RepairResult }

/** Per chunk, as a verification counts it (the `result` label of dbsync_verify_chunks_total). */
export type ChunkOutcome = 'equal' | 'repaired' | 'pending' | 'differing'

export interface RepairOptions {
  /** false: compare only (a verification with repair off). */
  repair: boolean
  from?: Buffer[] | null
  maxChunks?: number
  chunkRows?: number
  limit?: LimitFunction
  /**
   * Counted into as each rewrite commits (a table retried after a failure half-way still reports the rows
   * its first attempt repaired); a new result when absent.
   */
  into?: RepairResult
  /** Each chunk's outcome, as it ends (metrics, throttling). */
  chunkDone?(outcome: ChunkOutcome, sourceRows: number): void
}

const CHUNK_ROWS = 10_000
const LEAF_ROWS = 500
/** Chunks compared at once per table; run.ts already syncs several tables at once. */
const WORKERS = 2

export function refreshRepair(seconds = 0): RepairResult {
  return { ...emptyRepair('refresh'), seconds }
}

export function emptyRepair(method: RepairResult['method']): RepairResult {
  return {
    method,
    chunks_compared: 0,
    chunks_repaired: 0,
    chunks_pending: 0,
    chunks_differing: 0,
    rows_deleted: 0,
    rows_inserted: 0,
    rows_updated: 0,
    extra_rows_kept: 0,
    seconds: 0,
  }
}

/**
 * Compare a synced table chunk by chunk (the `validate --data` engine) and re-copy the rows of the
 * chunks that differ. Runs after the table's sync, under the run lock, so nothing else writes the target.
 *
 * Each chunk is read in its own consistent snapshot of the source, opened after the sync's snapshot
 * closed: every source row it sees is at least as new as any version the sync wrote, so a rewrite never
 * makes the target older. Rows changed after the saved position (pending) are the next sync's and are
 * left alone. Per differing leaf (at most 500 source rows), ONE target transaction deletes the target
 * rows of the keys to rewrite (by the server's equality, so a key stored in another case goes too),
 * deletes the target keys the source lacks when the table has `deletes: detect`, and inserts the
 * snapshot's rows. Rows that compare equal are never written: their `_dlt_load_id` stays.
 */
export async function repairTable(
  job: TableJob,
  shape: RowShape,
  opts: RepairOptions = { repair: true },
): Promise<RepairResult & { next: Buffer[] | null }> {
  const started = Date.now()
  const table = job.config.name
  const out = opts.into ?? emptyRepair('chunks')
  const cols = copiedColumns(job.sourceDef)
  const keyCols = shape.keyCodecs.map((c) => cols.find((x) => x.name === c.name) as ColumnDef)
  const keys = { source: keyTerms(keyCols, job.source.flavor), target: keyTerms(keyCols, job.target.flavor) }
  const state = (await readState(job.target, job.pipeline, table)).get(table)
  const pending =
    job.config.strategy === 'incremental' && job.config.cursor.length > 0
      ? pendingRule(job.config, job.sourceDef, keys.source, job.source, state).pending
      : null
  const w = repairWriter(job, shape)
  const repaired = new Set<number>()
  const kept = new Set<number>()
  const totals = await compareByKey(
    job.source,
    job.target,
    {
      table,
      columns: cols,
      keys,
      pending,
      chunkRows: opts.chunkRows ?? CHUNK_ROWS,
      leafRows: Math.min(LEAF_ROWS, opts.chunkRows ?? CHUNK_ROWS),
      limit: opts.limit ?? pLimit(WORKERS),
      targetSnapshot: false,
      signal: job.signal,
      ...(opts.from ? { from: opts.from } : {}),
      ...(opts.maxChunks !== undefined ? { maxChunks: opts.maxChunks } : {}),
    },
    {
      leaf: async (chunk, found, conns) => {
        const absent = await absentKeys(table, keys.source, found.extra, conns)
        const doomed = job.config.deletes === 'detect' ? absent : []
        if (doomed.length < absent.length) {
          out.extra_rows_kept += absent.length
          kept.add(chunk)
        }
        const rewrite = [...found.missing, ...found.differing]
        if (rewrite.length + doomed.length === 0) return
        if (!opts.repair) {
          kept.add(chunk)
          return
        }
        await rewriteLeaf(w, shape, keys, rewrite, doomed, conns)
        out.rows_inserted += found.missing.length
        out.rows_updated += found.differing.length
        out.rows_deleted += doomed.length
        repaired.add(chunk)
      },
      chunkEnd: (chunk, _range, equal, rows) => {
        const outcome: ChunkOutcome = equal
          ? 'equal'
          : repaired.has(chunk)
            ? 'repaired'
            : kept.has(chunk)
              ? 'differing'
              : 'pending'
        if (outcome === 'repaired') out.chunks_repaired++
        else if (outcome === 'pending') out.chunks_pending++
        else if (outcome === 'differing') out.chunks_differing++
        opts.chunkDone?.(outcome, rows)
      },
    },
  )
  out.chunks_compared += totals.chunks
  out.seconds += (Date.now() - started) / 1000
  log().debug(
    { event: 'repair_checked', table, ...out },
    `${table}: ${out.chunks_compared} chunks compared, ${out.chunks_repaired} repaired`,
  )
  return { ...out, next: totals.next }
}

/** The upsert target of a repair: the table itself, rows stamped with the run's load id. */
function repairWriter(job: TableJob, shape: RowShape): WriteTarget {
  return {
    target: job.target,
    table: job.config.name,
    label: job.config.name,
    codecs: shape.codecs,
    nullColumns: nullColumns(job),
    keyIndexes: shape.keyIndexes,
    mode: 'upsert',
    loadId: job.loadId,
    timeoutMs: job.queryTimeoutMs,
  }
}

/** Target keys the source lacks, by the source's own equality (a key in another case is held). */
async function absentKeys(table: string, keys: KeyTerm[], extra: Buffer[][], conns: ChunkConns) {
  const absent: Buffer[][] = []
  for (let i = 0; i < extra.length; i += DELETE_BATCH) {
    absent.push(...(await absentInSource(table, keys, extra.slice(i, i + DELETE_BATCH), conns.source)))
  }
  return absent
}

/** One leaf's rewrite: read the rows from the chunk's source snapshot, then one target transaction. */
async function rewriteLeaf(
  w: WriteTarget,
  shape: RowShape,
  keys: { source: KeyTerm[]; target: KeyTerm[] },
  rewrite: Buffer[][],
  doomed: Buffer[][],
  conns: ChunkConns,
): Promise<void> {
  const rows =
    rewrite.length > 0
      ? await rawQuery(
          conns.source,
          `SELECT ${shape.codecs.map((c) => c.select).join(', ')} FROM ${quoteId(w.table)} WHERE ${keysIn(keys.source, rewrite)}`,
        )
      : []
  const conn = conns.target
  await conn.query('START TRANSACTION')
  try {
    const gone = [...rewrite, ...doomed]
    // In bounded statements: a range may hold many target rows the source lacks.
    for (let i = 0; i < gone.length; i += DELETE_BATCH) {
      const sql = deleteKeysSql(w.table, keys.target, gone.slice(i, i + DELETE_BATCH))
      await queryWithTimeout(conn, { sql }, w.timeoutMs)
    }
    if (rows.length > 0) await sendInserts(conn, w, encodeInserts(w, rows))
    await queryWithTimeout(conn, { sql: 'COMMIT' }, w.timeoutMs)
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
