import type { PoolConnection } from 'mysql2/promise'
import {
  coreConnection,
  destroyConnection,
  hookRowPackets,
  onConnectionLost,
  type RawRow,
  ROW_CONSUMED,
} from '../db/driver.js'
import { errorMessage } from '../errors.js'
import { log } from '../observe/log.js'
import type { StateUpdate } from '../state/sync-state.js'
import type { TableJob } from './job.js'
import { isLocalInfileRefused, loadDataStatement, loadRows, RowEncoder } from './load-data.js'
import type { BatchSink } from './sink.js'
import { recycleChunks } from './tsv-chunks.js'
import { inBatchTransaction, type WriteTarget } from './write.js'

/*
 * The bulk path of first loads and full refreshes: one streaming read of the source, each row encoded as
 * LOAD DATA text the moment it arrives (so no batch of row objects is ever held, and the garbage collector
 * only meets short-lived values), and batches loaded into the target on up to two connections at once,
 * committed strictly in order, each with the position it completes.
 */

/**
 * A batch closes at batch_size rows or at this many encoded bytes: wide rows do not make big batches, and
 * at most four batches are held (two loading, one ready, one filling). Kept small for the sake of memory:
 * each MB held here is about a MB of resident memory more on a table of big BLOBs (at 4 MB the blobs bench
 * peaked 20 MB higher); a LOAD DATA of 1 MB is already large enough that its fixed cost does not show.
 */
export const BULK_BATCH_BYTES = 1024 * 1024

/** One batch of rows, encoded for LOAD DATA. */
export interface EncodedBatch {
  chunks: Buffer[]
  rows: number
  /** Encoded size in bytes. */
  bytes: number
  /** The key of the batch's last row (copied out of the packet); null for a table without a key. */
  lastKey: Buffer[] | null
  /** The buffers behind `chunks`, recycled once they are sent. */
  buffers: Buffer[]
  /** The stream's last batch, known as such when it is made (its state can be the load's final one). */
  final: boolean
}

export interface StreamOptions {
  /** A batch closes at this many rows... */
  batchRows: number
  /** ...or this many encoded bytes, whichever comes first. */
  batchBytes: number
  /** Numbering of the first row, for the _dlt_id of tables without a key. */
  ordinalBase: number
  /** The stream fails when no row arrives for this long (paused time included). */
  idleTimeoutMs: number
  profile?: { readWaitMs: number; encodeMs: number }
}

/**
 * Stream `text` on `conn` and yield its rows as encoded batches. The connection (and its socket) is paused
 * while a finished batch waits to be taken: one batch is encoded ahead of the writer, never more.
 */
export async function* encodedBatches(
  conn: PoolConnection,
  text: string,
  w: WriteTarget,
  opts: StreamOptions,
): AsyncGenerator<EncodedBatch> {
  const core = coreConnection(conn)
  const command = core.query({ sql: text, typeCast: false, rowsAsArray: true })
  const profile = opts.profile
  let encoder = new RowEncoder(w, opts.ordinalBase)
  const ready: EncodedBatch[] = []
  let ended = false
  let failure: Error | null = null
  let wake: (() => void) | null = null
  const notify = () => {
    const f = wake
    wake = null
    f?.()
  }
  // A read that stops receiving rows must not wait forever: it fails when no batch fills for
  // idleTimeoutMs. Time paused behind a slow writer counts too, so the bound is generous (query_timeout).
  const timer = setTimeout(() => {
    failure = Object.assign(
      new Error(`no rows from the source for ${opts.idleTimeoutMs} ms: the connection stalled`),
      { code: 'ETIMEDOUT' },
    )
    destroyConnection(conn)
    notify()
  }, opts.idleTimeoutMs)
  const rowDone = () => {
    if (encoder.rows < opts.batchRows && encoder.bytes < opts.batchBytes) return
    ready.push(finishBatch(encoder))
    encoder = new RowEncoder(w, encoder.nextOrdinal)
    timer.refresh()
    // Hold the source until the batch is taken; packets already received wait inside mysql2.
    core.pause()
    notify()
  }
  // Rows are encoded straight from their packets as mysql2 parses them (db/driver.ts)...
  hookRowPackets(command, (buf, offset) => {
    // Timed one row in SAMPLE: two clock reads a row cost more than encoding a narrow row does.
    const timed = profile !== undefined && encoder.rows % SAMPLE === 0
    const started = timed ? performance.now() : 0
    encoder.addPacket(buf, offset)
    if (timed) profile.encodeMs += (performance.now() - started) * SAMPLE
    rowDone()
  })
  // ...or, where the driver does not offer the hook, from the rows mysql2 emits: slower, never different.
  const onResult = (row: RawRow | typeof ROW_CONSUMED) => {
    // The row the hook consumed comes by as this marker: anything else is a row the hook never saw.
    if (row === ROW_CONSUMED) return
    const started = profile ? performance.now() : 0
    encoder.add(row as RawRow)
    if (profile) profile.encodeMs += performance.now() - started
    rowDone()
  }
  command.on('result', onResult)
  command.on('end', () => {
    if (encoder.rows > 0) ready.push(finishBatch(encoder, true))
    ended = true
    notify()
  })
  const fail = (err: Error) => {
    failure ??= err
    notify()
  }
  command.on('error', fail)
  const stopListening = onConnectionLost(core, fail)
  try {
    for (;;) {
      const next = ready.shift()
      if (next) {
        timer.refresh()
        if (ready.length === 0) core.resume()
        yield next
        continue
      }
      if (failure) throw failure
      if (ended) return
      const waitStart = performance.now()
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      if (profile) profile.readWaitMs += performance.now() - waitStart
    }
  } finally {
    clearTimeout(timer)
    command.removeListener('result', onResult)
    stopListening()
    if (!ended) {
      // Stopped early (an error, a shutdown, a stall): the connection is mid-result and cannot be reused.
      destroyConnection(conn)
    }
  }
}

/** The profile's encoding time is measured on one row in this many (and scaled). */
const SAMPLE = 16

function finishBatch(encoder: RowEncoder, final = false): EncodedBatch {
  const key = encoder.lastKey
  const lastKey = key.length > 0 ? key.map((v) => v ?? EMPTY) : null
  const { rows, bytes } = encoder
  const chunks = encoder.finish()
  return { rows, bytes, chunks, lastKey, buffers: encoder.buffers, final }
}

const EMPTY = Buffer.alloc(0)

/**
 * Copy the rows of `text` (read on `conn`) into `w` through LOAD DATA: the streaming read, the ordered
 * loader, and on failure waiting for every batch still loading, so no commit runs on behind a retry.
 * `stateFor` gives each batch the state committed with it (null: none, as for a staging table). Stops
 * after the current batch when the run is asked to; returns whether it was.
 */
export async function bulkCopy(
  job: Pick<TableJob, 'config' | 'queryTimeoutMs' | 'signal'>,
  w: WriteTarget,
  conn: PoolConnection,
  text: string,
  opts: {
    parallel: number
    committed: (rows: number) => void
    stateFor: (batch: EncodedBatch) => StateUpdate | null
  },
): Promise<{ stopped: boolean }> {
  const loader = new OrderedLoader(w, opts.parallel, opts.committed)
  try {
    const batches = encodedBatches(conn, text, w, {
      batchRows: job.config.batchSize,
      batchBytes: BULK_BATCH_BYTES,
      ordinalBase: 0,
      idleTimeoutMs: job.queryTimeoutMs,
      ...(w.profile ? { profile: w.profile } : {}),
    })
    for await (const batch of batches) {
      await loader.push(batch, opts.stateFor(batch))
      if (job.signal.aborted) break
    }
    await loader.flush()
  } catch (err) {
    await loader.flush().catch(() => undefined)
    throw err
  }
  return { stopped: job.signal.aborted }
}

/** The run (load id) in which each target last took LOAD DATA LOCAL: asked once a run, not once a table. */
const acceptedIn = new WeakMap<WriteTarget['target'], string>()

/**
 * Whether the target takes LOAD DATA LOCAL: an empty load, rolled back, the first time in a run. A server
 * with local_infile=OFF (MySQL 8's default) or a proxy refuses it; the caller then writes multi-row
 * INSERTs, and says so in the log.
 */
export async function loadDataAccepted(w: WriteTarget): Promise<boolean> {
  if (acceptedIn.get(w.target) === w.loadId) return true
  const conn = await w.target.pool.getConnection()
  let ok = false
  try {
    await conn.query('START TRANSACTION')
    try {
      await loadRows(conn, w, loadDataStatement(w), [], 0)
    } catch (err) {
      if (!isLocalInfileRefused(err)) throw err
      log().warn(
        { event: 'load_data_refused', table: w.label },
        `${w.label}: the target refuses LOAD DATA LOCAL INFILE (${errorMessage(err)}); using INSERT instead`,
      )
      await conn.query('ROLLBACK')
      ok = true
      return false
    }
    await conn.query('ROLLBACK')
    ok = true
    acceptedIn.set(w.target, w.loadId)
    return true
  } finally {
    if (ok) conn.release()
    else destroyConnection(conn)
  }
}

/**
 * Loads encoded batches into the target, up to `parallel` at once on separate connections: while one
 * batch's LOAD DATA runs, the next one's runs too, and the server uses more than one core. Commits stay in
 * order: a batch's transaction waits, after its LOAD DATA, until the batch before it has committed, and only
 * then writes its state and commits. So the state in `_sync_state` always covers exactly the rows committed
 * before it, and moves only forward. Run with `parallel` > 1 only into a table that holds no rows in the
 * ranges being loaded (a fresh first load, a staging table): REPLACE on an existing row takes gap locks
 * that a concurrent batch's inserts could wait on.
 */
export class OrderedLoader implements BatchSink<EncodedBatch> {
  private readonly inflight: Array<Promise<void>> = []
  private last: Promise<void> = Promise.resolve()

  constructor(
    private readonly w: WriteTarget,
    private readonly parallel: number,
    private readonly committed: (rows: number) => void,
  ) {}

  /** Start loading a batch; returns once there is room for the next one. */
  async push(batch: EncodedBatch, state: StateUpdate | null): Promise<void> {
    while (this.inflight.length >= this.parallel) await this.inflight.shift()
    const before = this.last
    const task = this.loadOne(batch, state, before)
    // Awaited by a later push or by flush; until then its failure must not count as unhandled.
    task.catch(() => undefined)
    this.inflight.push(task)
    this.last = task
  }

  /** Wait for every batch pushed so far; throws the first failure. */
  async flush(): Promise<void> {
    const all = this.inflight.splice(0)
    const results = await Promise.allSettled(all)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  }

  private async loadOne(batch: EncodedBatch, state: StateUpdate | null, before: Promise<void>) {
    const w = this.w
    await inBatchTransaction(w, state, async (conn) => {
      await loadRows(conn, w, loadDataStatement(w), batch.chunks, batch.rows)
      // Every byte has been read and acknowledged: the buffers can take the next batches.
      recycleChunks(batch.buffers)
      // A batch whose predecessor failed must not commit: its state would claim rows that are not there.
      await before
    })
    this.committed(batch.rows)
  }
}
