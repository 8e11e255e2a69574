import type { Pipeline } from '../config/types.js'
import type { Db } from '../db/connect.js'
import type { PoolHooks } from '../db/pool-guard.js'
import { DbsyncError, errorMessage, LockError } from '../errors.js'
import type { Logger } from '../observe/log.js'
import type { Metrics, PoolSample } from '../observe/metrics.js'
import { plural } from '../observe/text.js'
import { connectPair, type RunResult, runSync, type SyncEvents } from '../sync/run.js'
import type { Verifier } from '../sync/verify.js'

/** Connection counts of a side's pool, for the pool gauges (kept from the pool's events: db/driver.ts). */
export function poolStats(db: Db): Omit<PoolSample, 'side'> {
  return { ...db.poolCounts(), max: db.options.poolMax }
}

/** Destroy every connection of a pool at once: queries in flight fail, which frees a stuck run. */
function destroyPool(db: Db): void {
  db.destroy()
  void db.close()
}

export interface RunRequest {
  signal: AbortSignal
  loadId: string
  events: SyncEvents
  fullRefresh: boolean
}

/**
 * Runs the pipeline again and again on one pair of pools. The pools stay open between runs (mysql2
 * replaces dead connections on its own), and are dropped after a run that threw, so the next run
 * reconnects from scratch; a ConnectError leaves no pair behind, so the next tick simply tries again.
 */
export class PairRunner {
  private pair: { source: Db; target: Db } | undefined
  /** Scheduled verification, run after each sync under its lock (`verify:` in the pipeline). */
  verifier: Verifier | undefined

  constructor(
    private readonly pipeline: Pipeline,
    private readonly only?: string[],
    private readonly concurrency?: number,
    private readonly hooks?: PoolHooks,
  ) {}

  async run(req: RunRequest): Promise<RunResult> {
    this.pair ??= await connectPair(this.pipeline, this.hooks)
    try {
      return await runSync({
        pipeline: this.pipeline,
        pair: this.pair,
        loadId: req.loadId,
        signal: req.signal,
        events: req.events,
        fullRefresh: req.fullRefresh,
        // A table dropped from the source between runs fails alone; the others keep syncing.
        missingTables: 'fail',
        // The lag metric's backlog (observe/lag.ts).
        measureLag: true,
        ...(this.verifier ? { verifier: this.verifier } : {}),
        ...(this.only ? { only: this.only } : {}),
        ...(this.concurrency ? { concurrency: this.concurrency } : {}),
      })
    } catch (err) {
      // Another process holding the lock says nothing about our connections.
      if (!(err instanceof LockError)) await this.close()
      throw err
    }
  }

  /** The target pool, while connected (the status page reads the run history through it). */
  target(): Db | undefined {
    return this.pair?.target
  }

  pools(): PoolSample[] {
    if (!this.pair) return []
    return [
      { side: 'source', ...poolStats(this.pair.source) },
      { side: 'target', ...poolStats(this.pair.target) },
    ]
  }

  async close(): Promise<void> {
    const pair = this.pair
    this.pair = undefined
    if (pair) await Promise.all([pair.source.close(), pair.target.close()])
  }

  /** At the shutdown deadline: kill the connections so nothing keeps the process alive. */
  destroy(): void {
    const pair = this.pair
    this.pair = undefined
    if (pair) {
      destroyPool(pair.source)
      destroyPool(pair.target)
    }
  }
}

/** Fields for a thrown error: message, hint and the server's code, whatever layer wrapped it. */
export function errorFields(err: unknown): Record<string, unknown> {
  const e = err as {
    code?: unknown
    errno?: unknown
    sqlState?: unknown
    cause?: { code?: unknown; errno?: unknown }
  }
  const code = e?.code ?? e?.cause?.code
  const errno = e?.errno ?? e?.cause?.errno
  return {
    error: errorMessage(err),
    ...(err instanceof DbsyncError && err.hint ? { hint: err.hint } : {}),
    ...(err instanceof DbsyncError ? { exit_code: err.exitCode } : {}),
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof errno === 'number' ? { errno } : {}),
    ...(typeof e?.sqlState === 'string' ? { sql_state: e.sqlState } : {}),
  }
}

/**
 * Log lines (and metrics, when given) for one run's table events. `logger` carries pipeline and run;
 * each line adds table and event, so a run can be followed with `jq 'select(.run == "...")'`.
 */
export function runEvents(
  logger: Logger,
  metrics?: Metrics,
  after?: Pick<SyncEvents, 'tableEnd'>,
): SyncEvents {
  return {
    tableStart: (t) =>
      logger.info(
        { event: 'table_start', table: t.name, strategy: t.strategy },
        `${t.name}: start (${t.strategy})`,
      ),
    progress: (table, rows) => metrics?.rowsRead(table, rows),
    tableRetry: (table, attempt, delayMs, err) =>
      logger.warn(
        { event: 'table_retry', table, attempt, delay_ms: delayMs, ...errorFields(err) },
        `${table}: transient error, retrying in ${delayMs} ms: ${errorMessage(err)}`,
      ),
    tableEnd: (r) => {
      const fields = {
        event: 'table_end',
        table: r.table,
        status: r.status,
        strategy: r.strategy,
        rows: r.rowsRead,
        inserted: r.inserted,
        updated: r.updated,
        unchanged: r.unchanged,
        deleted: r.deleted,
        seconds: r.seconds,
        schema_changes: r.schemaChanges,
      }
      const p = r.profile
      logger.debug(
        {
          event: 'table_profile',
          table: r.table,
          read_wait_ms: Math.round(p.readWaitMs),
          encode_ms: Math.round(p.encodeMs),
          write_ms: Math.round(p.writeMs),
          index_ms: Math.round(p.indexMs),
        },
        `${r.table}: waited ${ms(p.readWaitMs)} for source rows, encoded in ${ms(p.encodeMs)}, ` +
          `wrote in ${ms(p.writeMs)}, built indexes in ${ms(p.indexMs)}`,
      )
      const changes = r.schemaChanges.length ? ` (${r.schemaChanges.join('; ')})` : ''
      if (r.status === 'failed') logger.error({ ...fields, error: r.error }, `${r.table}: failed: ${r.error}`)
      else
        logger.info(
          fields,
          `${r.table}: ${r.status}, ${plural(r.rowsRead, 'row')} in ${r.seconds.toFixed(1)} s${changes}`,
        )
      for (const w of r.warnings)
        logger.warn({ event: 'table_warning', table: r.table, warning: w }, `${r.table}: ${w}`)
      metrics?.tableFinished(r)
      after?.tableEnd?.(r)
    },
  }
}

/** The run_end line: status, totals and the failed tables. */
export function logRunEnd(logger: Logger, r: RunResult): void {
  const failed = r.tables.filter((t) => t.status === 'failed')
  const fields = {
    event: 'run_end',
    status: r.status,
    seconds: r.seconds,
    tables: r.tables.length,
    rows: r.tables.reduce((n, t) => n + t.rowsRead, 0),
    ...(failed.length ? { failed_tables: failed.map((t) => t.table) } : {}),
  }
  const msg = `run ${r.loadId}: ${r.status}, ${plural(r.tables.length, 'table')}, ${plural(fields.rows, 'row')} in ${r.seconds.toFixed(1)} s`
  if (r.status === 'failed') logger.error(fields, msg)
  else logger.info(fields, msg)
}

function ms(n: number): string {
  return `${(n / 1000).toFixed(2)} s`
}
