import { keysAfter } from '../db/keyset.js'
import { quoteId } from '../db/quote.js'
import { introspect } from '../schema/introspect.js'
import { firstLoadDdl } from '../schema/load-ddl.js'
import { bulkCopy, loadDataAccepted } from './bulk.js'
import { type IncrementalRun, stateOf } from './incremental-run.js'
import type { RowShape, TableJob } from './job.js'
import type { RawRow } from './read.js'
import { executeDdl } from './schema-sync.js'
import type { Snapshot } from './snapshot.js'
import { writeBatch } from './write.js'

/**
 * The first load of an incremental table: the whole table in primary-key order (a sequential scan of the
 * clustered index, through LOAD DATA), saving the key position with each batch, so a killed first load
 * resumes where it stopped. Before it starts it fixes a cursor bound B (see initialBound). Every row
 * changed after the load began carries a cursor value at or above B, so once the load is done the
 * incremental position becomes "cursor >= B" and those rows are read again; rows below B were committed
 * before the first snapshot and the key-order copy saw them. Returns false if the run was asked to stop.
 */
export async function firstLoad(run: IncrementalRun, cap: string | undefined): Promise<boolean> {
  const { job, pos, w } = run
  // The bound is fixed once: a resumed first load keeps the one it started with. A new one reads the bound
  // and the key its position will end at in one query, now: the snapshot answers the same after the load.
  const resuming = job.state?.phase === 'initial' && job.state.lastCursor !== null
  const end = resuming ? null : await boundAndLastKey(run.snap, run.shape, job, cap)
  pos.lastCursor = resuming ? job.state!.lastCursor : end!.bound
  pos.lastKey = resuming ? job.state!.lastKey : null
  // Rows already in the target that this load did not write (a table switched from full refresh, a
  // copy made before dbsync) are merged row by row: the upsert counts what it really changed.
  const foreign = !resuming && job.targetDef !== undefined && (await hasRows(job))
  // A table created by this run holds no rows yet: its batches can load two at a time.
  const fresh = job.targetDef === undefined && !resuming
  // Created with all its indexes (a small table: load-ddl.ts), it needs nothing once its rows are in, so
  // its last batch commits the final position itself: one transaction a table fewer (many small tables).
  const final = end && fresh && !firstLoadDdl(job.sourceDef, job.target.flavor).deferred ? end : null
  let finished = false
  if (!foreign && (await loadDataAccepted(w))) {
    finished = await bulkFirstLoad(run, fresh ? 2 : 1, final)
  } else {
    await keysetFirstLoad(run, fresh)
  }
  if (job.signal.aborted) return false
  if (!finished) await finishPosition(run, end)
  w.mode = 'upsert'
  run.result.lastCursor = pos.lastCursor
  return true
}

/**
 * After the rows: the deferred indexes, then the position, saved: after the last row at the bound. Every
 * row up to it was in the copy; an empty table (or one whose cursors are all NULL) keeps no position and
 * is copied whole again next run.
 */
async function finishPosition(run: IncrementalRun, end: LoadEnd | null): Promise<void> {
  const { job, pos } = run
  const indexStart = performance.now()
  await finishInitialLoad(job)
  run.result.profile.indexMs += performance.now() - indexStart
  if (end) pos.lastKey = end.lastKey
  else
    pos.lastKey = pos.lastCursor === null ? null : await lastKeyAt(run.snap, run.shape, job, pos.lastCursor)
  run.w.mode = 'upsert'
  await writeBatch(run.w, [], { ...stateOf(job, pos.lastCursor, pos.lastKey), rowsDelta: 0 })
}

/**
 * The key-order copy by multi-row INSERTs, where LOAD DATA is refused or unfit: plain INSERTs two batches
 * at a time into a table this load created (no row can be there: a duplicate would fail, not merge),
 * INSERT … ON DUPLICATE KEY UPDATE one batch at a time otherwise.
 */
async function keysetFirstLoad(run: IncrementalRun, fresh: boolean): Promise<void> {
  run.w.mode = fresh ? 'insert' : 'upsert'
  run.writer.parallel = fresh ? 2 : 1
  try {
    for await (const r of run.readEncoded({ where: [], order: run.keyTerms, after: run.pos.lastKey })) {
      run.pos.lastKey = r.last
      await run.write(r.batch, 'initial')
      if (run.job.signal.aborted) break
    }
    await run.writer.flush()
  } finally {
    run.w.mode = 'upsert'
    run.writer.parallel = 1
  }
}

/**
 * The first load's copy in primary-key order, streamed through LOAD DATA (bulk.ts), each batch committed
 * with the key position it reaches; with `final`, the stream's last batch commits the finished position
 * instead. Returns whether it did (then nothing is left to save).
 */
async function bulkFirstLoad(run: IncrementalRun, parallel: number, final: LoadEnd | null): Promise<boolean> {
  const { job, shape, result, keyTerms } = run
  const { lastCursor, lastKey } = run.pos
  const where = lastKey ? ` WHERE ${keysAfter(keyTerms, lastKey)}` : ''
  const text =
    `SELECT ${shape.codecs.map((c) => c.select).join(', ')} FROM ${quoteId(job.sourceDef.name)}${where} ` +
    `ORDER BY ${keyTerms.map((t) => t.expr).join(', ')}`
  let finished = false
  await bulkCopy(job, run.w, run.snap.conn, text, {
    parallel,
    committed: (rows) => {
      result.rowsRead += rows
      result.inserted += rows
      job.progress(rows)
    },
    stateFor: (batch) => {
      if (final && batch.final) {
        // bulkCopy returns only once every batch pushed has committed, this one included.
        finished = true
        run.pos.lastKey = final.lastKey
        return { ...stateOf(job, final.bound, final.lastKey), rowsDelta: batch.rows }
      }
      return { ...stateOf(job, lastCursor, batch.lastKey), phase: 'initial', rowsDelta: batch.rows }
    },
  })
  return finished
}

/** Where a first load's position ends: the cursor bound B and the largest key among the rows at B. */
interface LoadEnd {
  bound: string | null
  lastKey: Buffer[] | null
}

/**
 * The cursor bound B of a first load: the largest cursor value in the snapshot, below the late-commit cap
 * for a temporal cursor. Rows changed after the load began are stamped at or above the cap (or, for a
 * version-number cursor, above the largest value: writers only ever raise it), so they are at or above B.
 * Taking the largest existing value rather than the cap itself keeps a quiet table's position at its
 * newest row, so rows later written with a back-dated cursor between the two are still read.
 * With it, in the same query (one round trip a table), lastKeyAt's key: the row at B with the largest key.
 * The bound is MAX's own value, so it compares as before (MAX and ORDER BY differ on ENUM, for one).
 */
async function boundAndLastKey(
  snap: Snapshot,
  shape: RowShape,
  job: TableJob,
  cap: string | undefined,
): Promise<LoadEnd> {
  const cursor = shape.cursor!
  const keys = shape.keyCodecs
  const table = quoteId(job.sourceDef.name)
  const below = cap !== undefined ? ` WHERE ${cursor.expr} < ${cap}` : ''
  const max = `(SELECT MAX(${cursor.expr}) FROM ${table}${below})`
  const [rows] = await snap.conn.query({
    sql:
      `SELECT ${max}, ${keys.map((k) => k.select).join(', ')} FROM ${table} WHERE ${cursor.expr} = ${max} ` +
      `ORDER BY ${keys.map((k) => `${quoteId(k.name)} DESC`).join(', ')} LIMIT 1`,
    typeCast: false,
    rowsAsArray: true,
  })
  const row = (rows as unknown as RawRow[])[0]
  if (!row?.[0]) return { bound: null, lastKey: null }
  return { bound: row[0].toString('utf8'), lastKey: row.slice(1) as Buffer[] }
}

/** The largest primary key among the rows whose cursor equals `bound`. */
export async function lastKeyAt(
  snap: Snapshot,
  shape: RowShape,
  job: TableJob,
  bound: string,
): Promise<Buffer[] | null> {
  const cursor = shape.cursor!
  const keys = shape.keyCodecs
  const [rows] = await snap.conn.query({
    sql:
      `SELECT ${keys.map((k) => k.select).join(', ')} FROM ${quoteId(job.sourceDef.name)} ` +
      `WHERE ${cursor.expr} = ${cursor.literal(Buffer.from(bound, 'utf8'))} ` +
      `ORDER BY ${keys.map((k) => `${quoteId(k.name)} DESC`).join(', ')} LIMIT 1`,
    typeCast: false,
    rowsAsArray: true,
  })
  const row = (rows as unknown as RawRow[])[0]
  return row ? (row as Buffer[]) : null
}

/** Add the indexes a first load deferred. */
async function finishInitialLoad(job: TableJob): Promise<void> {
  // A table this attempt created with all its indexes (a small one: load-ddl.ts) has none to add; one an
  // earlier run created is asked, whatever it was created with.
  if (job.targetDef === undefined && !firstLoadDdl(job.sourceDef, job.target.flavor).deferred) return
  const defs = await introspect(job.target, [job.config.name])
  const current = defs.get(job.config.name)
  const existing = new Set(current?.indexes.map((i) => i.name) ?? [])
  const alter = firstLoadDdl(job.sourceDef, job.target.flavor).afterLoad(existing)
  if (alter) await executeDdl(job.target, job.config.name, alter)
}

async function hasRows(job: TableJob): Promise<boolean> {
  const [rows] = await job.target.pool.query(`SELECT 1 FROM ${quoteId(job.config.name)} LIMIT 1`)
  return (rows as unknown[]).length > 0
}
