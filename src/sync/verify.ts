import type { Pipeline, TableConfig, VerifySettings } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { claimTable, type RunLock } from '../db/lock.js'
import { errorMessage } from '../errors.js'
import { log } from '../observe/log.js'
import { redact } from '../observe/redact.js'
import { introspect } from '../schema/introspect.js'
import type { TableDef } from '../schema/table-def.js'
import {
  ensureVerifyTable,
  readVerifyPosition,
  saveVerifyPosition,
  type VerifyPosition,
} from '../state/verify-state.js'
import type { RunCap } from './cap.js'
import { type RowShape, rowShape, type TableJob, type TableResult } from './job.js'
import { type ChunkOutcome, repairTable } from './repair.js'
import { sleep } from './retry.js'
import type { VerifyMetrics, VerifyStatus } from './verify-status.js'

export type { VerifyMetrics, VerifyStatus } from './verify-status.js'

interface TableVerify extends VerifyPosition {
  settings: VerifySettings
  lastError: string | null
}

/** The least verification time a run gets, whatever its syncs took. */
const MIN_SLICE_MS = 1000
/** Chunk rows when the rate allows it; a slower rate makes chunks smaller, so no chunk takes long. */
const CHUNK_ROWS = 10_000

/**
 * Scheduled verification (`verify:` in the pipeline): between syncs, under the run's lock, compare each
 * due table chunk by chunk with the source and, with `repair: true`, re-copy what differs (repair.ts).
 *
 * Throttled two ways so it never starves the syncs: at most `max_rows_per_second` source rows per second
 * (it sleeps between chunks), and at most `budgetMs` per run; a pass that does not fit goes on at the next
 * run from the chunk where it stopped. A table is due `every` after its last full pass ended. Positions
 * are saved on the target after every chunk (state/verify-state.ts): a restarted process resumes the pass
 * where the last one stopped, and knows when each table was last verified in full.
 */
export class Verifier {
  private readonly tables = new Map<string, TableVerify>()
  private ensured = false

  constructor(
    private readonly budgetMs: number,
    private readonly metrics?: VerifyMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Run the due tables' slices, one table after another, until the budget counted from the run's start
   * is spent; at least one chunk's worth of time per run, so a pass always advances, even when the syncs
   * alone take longer than the budget.
   */
  async run(
    jobs: Array<{ job: TableJob; shape: RowShape }>,
    signal: AbortSignal,
    runStarted = this.now(),
    hold?: HoldTable,
  ): Promise<void> {
    const deadline = Math.max(runStarted + this.budgetMs, this.now() + MIN_SLICE_MS)
    for (const { job, shape } of jobs) {
      const settings = job.config.verify
      if (!settings || signal.aborted || this.now() >= deadline) continue
      const held = hold ? await this.hold(hold, job.config.name) : null
      // workers: shared: another instance holds the table's claim, and verifies it while it does.
      if (hold && !held) continue
      try {
        // Under a claim the position is read again: another instance may have moved the pass on.
        const t = await this.entry(job, settings, held !== null)
        if (t.passStarted === null && !this.due(t)) continue
        await this.slice(held ? { ...job, lock: held } : job, shape, t, deadline, signal)
      } finally {
        await held?.release().catch(() => undefined)
      }
    }
  }

  private async hold(hold: HoldTable, table: string): Promise<Pick<RunLock, 'held' | 'release'> | null> {
    try {
      return await hold(table)
    } catch (err) {
      log().warn(
        { event: 'verify_error', table, error: redact(errorMessage(err)) },
        `${table}: verification: cannot take the table's claim: ${redact(errorMessage(err))}`,
      )
      return null
    }
  }

  status(): Record<string, VerifyStatus> {
    const out: Record<string, VerifyStatus> = {}
    for (const [name, t] of this.tables) {
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
      out[name] = {
        every_seconds: t.settings.everyMs / 1000,
        repair: t.settings.repair,
        max_rows_per_second: t.settings.maxRowsPerSecond,
        in_progress: t.passStarted !== null,
        pass_started_at: iso(t.passStarted),
        last_full_at: iso(t.lastFull),
        next_due_at: t.passStarted !== null ? null : iso((t.lastFull ?? this.now()) + t.settings.everyMs),
        chunks: { ...t.chunks },
        rows_repaired: t.rowsRepaired,
        last_error: t.lastError,
      }
    }
    return out
  }

  /** The table's entry; on first sight, from the position saved on the target by an earlier process. */
  private async entry(job: TableJob, settings: VerifySettings, refresh: boolean): Promise<TableVerify> {
    const name = job.config.name
    let t = this.tables.get(name)
    if (!t || refresh) {
      const saved = await readVerifyPosition(job.target, job.pipeline, name).catch((err: unknown) => {
        log().warn(
          { event: 'verify_error', table: name, error: redact(errorMessage(err)) },
          `${name}: verification: cannot read the saved position, starting afresh`,
        )
        return null
      })
      if (!t) {
        t = {
          next: null,
          passStarted: null,
          lastFull: null,
          chunks: emptyChunks(),
          rowsRepaired: 0,
          settings,
          lastError: null,
        }
        this.tables.set(name, t)
      }
      if (saved) Object.assign(t, saved)
      if (t.lastFull !== null) this.metrics?.verifyFull(name, t.lastFull)
    }
    t.settings = settings
    return t
  }

  private async save(job: TableJob, t: TableVerify): Promise<void> {
    if (!this.ensured) {
      await ensureVerifyTable(job.target)
      this.ensured = true
    }
    await saveVerifyPosition(job.target, job.pipeline, job.config.name, t)
  }

  private due(t: TableVerify): boolean {
    return t.lastFull === null || this.now() - t.lastFull >= t.settings.everyMs
  }

  /** Compare one chunk at a time from where the pass stands, until the table ends or the budget does. */
  private async slice(job: TableJob, shape: RowShape, t: TableVerify, deadline: number, signal: AbortSignal) {
    const table = job.config.name
    const rate = t.settings.maxRowsPerSecond
    if (t.passStarted === null) {
      t.passStarted = this.now()
      t.next = null
      t.chunks = emptyChunks()
      t.rowsRepaired = 0
    }
    try {
      while (!signal.aborted && this.now() < deadline) {
        const started = this.now()
        let rows = 0
        const r = await repairTable(job, shape, {
          repair: t.settings.repair,
          from: t.next,
          maxChunks: 1,
          chunkRows: Math.min(CHUNK_ROWS, rate),
          chunkDone: (outcome, sourceRows) => {
            rows += sourceRows
            t.chunks[outcome]++
            this.metrics?.verifyChunk(table, outcome)
          },
        })
        if (signal.aborted) return
        t.rowsRepaired += r.rows_inserted + r.rows_updated + r.rows_deleted
        t.next = r.next
        t.lastError = null
        if (r.next === null) {
          t.passStarted = null
          t.lastFull = this.now()
        }
        await this.save(job, t)
        if (r.next === null) {
          this.metrics?.verifyFull(table, t.lastFull!)
          log().info(
            { event: 'verify_pass_end', table, ...t.chunks, rows_repaired: t.rowsRepaired },
            `${table}: verified (${t.chunks.equal} chunks equal, ${t.chunks.repaired} repaired, ` +
              `${t.chunks.pending} pending, ${t.chunks.differing} differing)`,
          )
          return
        }
        // The rate limit: this chunk's rows at max_rows_per_second, less the time it took.
        const wait = (rows / rate) * 1000 - (this.now() - started)
        if (wait > 0) await sleep(Math.min(wait, Math.max(0, deadline - this.now())), signal)
      }
    } catch (err) {
      // A verification failure never fails the run: the rows are synced; the pass resumes next time.
      t.lastError = redact(errorMessage(err))
      log().warn(
        { event: 'verify_error', table, error: t.lastError },
        `${table}: verification: ${t.lastError}`,
      )
    }
  }
}

/** `workers: shared`: take a table's claim for its verification; null when another instance holds it. */
export type HoldTable = (table: string) => Promise<Pick<RunLock, 'held' | 'release'> | null>

function emptyChunks(): Record<ChunkOutcome, number> {
  return { equal: 0, repaired: 0, pending: 0, differing: 0 }
}

/**
 * After a run's tables are synced, still under its lock: the scheduled verification of the tables that
 * synced ok and set `verify:`. Tables without a key, and full_refresh tables (rebuilt every run), are not
 * verified. Without a run lock (`workers: shared`) each table is verified under its own claim, taken again
 * for the verification: no two instances verify (or sync) a table at once, and the pass goes on from the
 * position saved on the target, whichever instance made it.
 */
export async function verifyAfterRun(
  verifier: Verifier,
  run: {
    pipeline: Pipeline
    pair: { source: Db; target: Db }
    tables: TableConfig[]
    sourceDefs: ReadonlyMap<string, TableDef>
    results: TableResult[]
    loadId: string
    signal: AbortSignal
    /** The run lock; null with `workers: shared`, where each table's claim is taken instead. */
    lock: Pick<RunLock, 'held'> | null
    cap: RunCap
    /** When the run started (ms): the verification budget counts from there. */
    startedAt: number
  },
): Promise<void> {
  const ok = new Set(run.results.filter((r) => r.status === 'ok').map((r) => r.table))
  const chosen = run.tables.filter(
    (t) =>
      t.verify &&
      ok.has(t.name) &&
      t.strategy === 'incremental' &&
      (t.primaryKey ?? run.sourceDefs.get(t.name)?.primaryKey ?? []).length > 0,
  )
  if (chosen.length === 0 || run.signal.aborted) return
  const targetDefs = await introspect(
    run.pair.target,
    chosen.map((t) => t.name),
  )
  const jobs = chosen.map((config) => {
    const job: TableJob = {
      pipeline: run.pipeline.name,
      config,
      source: run.pair.source,
      target: run.pair.target,
      sourceDef: run.sourceDefs.get(config.name)!,
      targetDef: targetDefs.get(config.name),
      state: undefined,
      loadId: run.loadId,
      queryTimeoutMs: run.pipeline.queryTimeoutMs,
      progress: () => undefined,
      signal: run.signal,
      lock: run.lock ?? UNCLAIMED,
      cap: run.cap,
    }
    return { job, shape: rowShape(job) }
  })
  const { target } = run.pair
  const hold: HoldTable | undefined = run.lock
    ? undefined
    : (table) => claimTable(target, run.pipeline.name, table)
  await verifier.run(jobs, run.signal, run.startedAt, hold)
}

/** A job's lock before its claim is taken (Verifier.run replaces it): never held. */
const UNCLAIMED: Pick<RunLock, 'held'> = {
  held: async () => {
    throw new Error('verification without the table claim')
  },
}
