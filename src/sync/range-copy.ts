import { sql } from 'kysely'
import { DEFAULT_PARALLEL } from '../config/types.js'
import { codecTerms, keysAfter } from '../db/keyset.js'
import { tryLock } from '../db/lock.js'
import { quoteId } from '../db/quote.js'
import { InterruptedError, SyncError } from '../errors.js'
import { log } from '../observe/log.js'
import { instanceName } from '../state/claims.js'
import { type KeyRange, markRangeDone, type RangePlan, rangePending } from '../state/ranges.js'
import { bulkCopy } from './bulk.js'
import { nullColumns, type RowShape, type TableJob, type TableResult } from './job.js'
import { rangeLockName, rangeWhere } from './ranges.js'
import type { RawRow } from './read.js'
import type { Snapshot } from './snapshot.js'
import { openSnapshot } from './snapshot.js'
import type { WriteTarget } from './write.js'

/*
 * The workers of a range load: each takes a pending range under its own named lock on the target, reads
 * it in a snapshot of its own and loads it into the staging table, then marks it done. The lock dies with
 * its session, so a killed worker's range is free at once, still 'pending', for the next worker to load.
 */

/**
 * The boundary keys of ranges of `step` rows: each the key `step` rows after the previous one, in key
 * order. Together one pass over the primary key, in short queries the server answers from the index.
 */
export async function keyBoundaries(
  snap: Snapshot,
  shape: RowShape,
  job: Pick<TableJob, 'sourceDef' | 'signal'>,
  step: number,
): Promise<Buffer[][]> {
  const terms = codecTerms(shape.keyCodecs)
  const order = terms.map((t) => t.expr).join(', ')
  const bounds: Buffer[][] = []
  let prev: Buffer[] | null = null
  for (;;) {
    if (job.signal.aborted) throw new InterruptedError('interrupted while planning key ranges')
    const where = prev ? ` WHERE ${keysAfter(terms, prev)}` : ''
    const [rows] = await snap.conn.query({
      sql:
        `SELECT ${terms.map((t) => t.select).join(', ')} FROM ${quoteId(job.sourceDef.name)}${where} ` +
        `ORDER BY ${order} LIMIT 1 OFFSET ${step - 1}`,
      typeCast: false,
      rowsAsArray: true,
    })
    const row = (rows as unknown as RawRow[])[0]
    if (!row) return bounds
    prev = row as Buffer[]
    bounds.push(prev)
  }
}

/**
 * Load the plan's pending ranges into `stage`, `workers` at once. Ranges another worker holds are left to
 * it; with `wait`, each of those is waited for afterwards (its lock frees when it is done or its worker
 * died) and loaded here if it is still pending. Returns the ranges this call loaded.
 */
export async function loadRanges(
  job: TableJob,
  shape: RowShape,
  plan: RangePlan,
  stage: string,
  result: TableResult,
  opts: { wait: boolean },
): Promise<number> {
  const queue = plan.ranges.filter((r) => !r.done)
  const held: KeyRange[] = []
  let loaded = 0
  const workers = Math.min((job.config.parallel ?? DEFAULT_PARALLEL).workers, queue.length)
  const worker = async () => {
    for (let r = queue.shift(); r && !job.signal.aborted; r = queue.shift()) {
      const outcome = await loadRange(job, shape, plan, r, stage, result, 0)
      if (outcome === 'held') held.push(r)
      if (outcome === 'loaded') loaded++
    }
  }
  await Promise.all(Array.from({ length: workers }, worker))
  if (!opts.wait) return loaded
  const waitSeconds = Math.ceil(job.queryTimeoutMs / 1000)
  for (const r of held) {
    if (job.signal.aborted) break
    const outcome = await loadRange(job, shape, plan, r, stage, result, waitSeconds)
    if (outcome === 'held') {
      throw new SyncError(
        `table ${job.config.name}: key range ${r.no} was still being loaded elsewhere after ${waitSeconds} s`,
        'the next run carries on with the ranges that are not done',
      )
    }
    if (outcome === 'loaded') loaded++
  }
  return loaded
}

type Outcome = 'held' | 'not-pending' | 'loaded'

async function loadRange(
  job: TableJob,
  shape: RowShape,
  plan: RangePlan,
  range: KeyRange,
  stage: string,
  result: TableResult,
  waitSeconds: number,
): Promise<Outcome> {
  const name = rangeLockName(plan.pipeline, plan.table, range.no)
  const lock = await tryLock(job.target, name, `table ${plan.table}'s key range ${range.no}`, waitSeconds)
  if (!lock) return 'held'
  try {
    // Asked under the lock: another worker may have loaded it since the plan was read.
    if (!(await rangePending(job.target, plan, range.no))) return 'not-pending'
    const where = rangeWhere(codecTerms(shape.keyCodecs), range)
    const cond = where ? ` WHERE ${where}` : ''
    // A worker killed mid-range left the batches it had committed: they go, and the range is read again
    // whole, in a new snapshot (the saved position was fixed before the first one: range-load.ts).
    await sql.raw(`DELETE FROM ${quoteId(stage)}${cond}`).execute(job.target.kysely)
    const rows = await copyRange(job, shape, stage, cond, result)
    // Marked done only while the range is still ours: a lost lock may mean another worker reloads it.
    await lock.held(true)
    await markRangeDone(job.target, plan, range.no, { rows, instance: instanceName() })
    log().debug(
      { event: 'range_done', table: plan.table, range: range.no, rows },
      `${plan.table}: key range ${range.no} loaded (${rows} rows)`,
    )
    return 'loaded'
  } finally {
    await lock.release()
  }
}

/** One range, read in its own snapshot and streamed into the staging table through LOAD DATA. */
async function copyRange(
  job: TableJob,
  shape: RowShape,
  stage: string,
  cond: string,
  result: TableResult,
): Promise<number> {
  const w = { ...stageTarget(job, shape, stage), profile: result.profile }
  const order = codecTerms(shape.keyCodecs)
    .map((t) => t.expr)
    .join(', ')
  const text =
    `SELECT ${shape.codecs.map((c) => c.select).join(', ')} FROM ${quoteId(job.sourceDef.name)}${cond} ` +
    `ORDER BY ${order}`
  let rows = 0
  const snap = await openSnapshot(job.source)
  let failed = true
  try {
    const { stopped } = await bulkCopy(job, w, snap.conn, text, {
      parallel: 1,
      committed: (n) => {
        rows += n
        result.rowsRead += n
        result.inserted += n
        job.progress(n)
      },
      stateFor: () => null,
    })
    if (stopped) throw new InterruptedError('interrupted before the swap: the finished key ranges are kept')
    failed = false
  } finally {
    await snap.close(failed)
  }
  return rows
}

/** Where a range load writes: the staging table, through LOAD DATA. */
export function stageTarget(job: TableJob, shape: RowShape, stage: string): WriteTarget {
  return {
    target: job.target,
    table: stage,
    label: job.config.name,
    codecs: shape.codecs,
    nullColumns: nullColumns(job),
    keyIndexes: shape.keyIndexes,
    mode: 'load',
    loadId: job.loadId,
    timeoutMs: job.queryTimeoutMs,
  }
}
