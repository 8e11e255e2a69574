/**
 * The typed pipeline: what `loadPipeline()` returns and the rest of the code consumes.
 * Pure data: no database, no I/O.
 */

export type Strategy = 'incremental' | 'full_refresh'
export type DeletesMode = 'ignore' | 'detect'
export type SslMode = 'disabled' | 'preferred' | 'required' | 'verify-ca' | 'verify-identity'

/** TLS settings after merging the URL's `ssl-*` parameters with the `ssl:` block (the block wins). */
export interface SslOptions {
  mode: SslMode
  /** PEM contents (already read from the files named in the pipeline), not paths. */
  ca?: string
  cert?: string
  key?: string
}

/** Plain connection options for one side; `db/` connects with these and knows nothing of YAML. */
export interface ConnectionOptions {
  /** 'source' or 'target': used in messages ("source db.example:3306: access denied"). */
  side: 'source' | 'target'
  host: string
  port: number
  user: string
  /** Registered with observe/redact as soon as it is read. */
  password: string
  database: string
  ssl: SslOptions
  poolMax: number
  /** How long a request waits for a connection the server refuses (max_connections) before it fails. */
  acquireTimeoutMs: number
  /** Milliseconds for the TCP connect + handshake. */
  connectTimeoutMs: number
  /** A pooled connection on which nothing moves for this long is failed (query_timeout). */
  stallTimeoutMs: number
  /**
   * caching_sha2_password (MySQL 8's default) over a connection without TLS sends the password encrypted
   * with the server's RSA key: `publicKey` (PEM, from server-public-key-path) or, only when `fetch` is set
   * (get-server-public-key=true), the key the server sends, which a man in the middle could replace.
   */
  rsaKey?: { publicKey?: string; fetch: boolean }
}

/** One entry of `tables:` as written, after `defaults:` were merged into it. */
export interface TableSelector {
  /** A table name or a glob (`*`, `?`, `[abc]`). */
  pattern: string
  isGlob: boolean
  exclude: boolean
  /** 1-based line in the pipeline file, for messages. */
  line: number
  strategy: Strategy
  /** Set when neither the entry nor `defaults` names a strategy and it follows from the cursor's absence. */
  strategyInferred?: true
  cursor: string[]
  primaryKey?: string[]
  batchSize: number
  lagMs: number
  deletes: DeletesMode
  /** `verify:` after merging defaults; absent when neither the table nor `defaults` sets it. */
  verify?: VerifySettings
  /** Key-range loading of a whole table; absent: DEFAULT_PARALLEL. */
  parallel?: ParallelSettings
}

/** Loading one big table in key ranges at once (sync/range-load.ts). */
export interface ParallelSettings {
  /** Split a whole-table load when the source estimates at least this many rows. */
  aboveRows: number
  /** Rows per range. */
  rangeRows: number
  /** Ranges this instance loads at once. */
  workers: number
}

/**
 * Two ranges at once: on a 2-core machine shared by source, target and dbsync, four at once cost about the
 * same CPU in total (3M narrow rows, the servers' CPU included: 24.8-27.2 s for four, 26.5-28.8 s for two,
 * within that machine's noise) and peaked at 150-173 MB against 103-114 MB. Where the servers have cores
 * to spare, `parallel.workers` raises it.
 */
export const DEFAULT_PARALLEL: ParallelSettings = { aboveRows: 2_000_000, rangeRows: 500_000, workers: 2 }

/** Scheduled verification of a table (sync/verify.ts). */
export interface VerifySettings {
  everyMs: number
  repair: boolean
  maxRowsPerSecond: number
}

/** A concrete table to sync, resolved from the selectors against the source's table names. */
export interface TableConfig {
  name: string
  strategy: Strategy
  /** Set when neither the entry nor `defaults` names a strategy and it follows from the cursor's absence. */
  strategyInferred?: true
  /** Modifier columns; the first non-NULL value counts. Empty for full_refresh without a cursor. */
  cursor: string[]
  /** Set when the file names one; otherwise the source's primary key is used. */
  primaryKey?: string[]
  batchSize: number
  lagMs: number
  deletes: DeletesMode
  verify?: VerifySettings
  /** Key-range loading of a whole table; absent: DEFAULT_PARALLEL. */
  parallel?: ParallelSettings
  /** Line of the selector that chose this table. */
  line: number
}

export interface RetryPolicy {
  /** Attempts per table for transient errors (1 = no retry). */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export interface Pipeline {
  /** Absolute path of the pipeline file. */
  file: string
  name: string
  source: ConnectionOptions
  target: ConnectionOptions
  concurrency: number
  /**
   * `single`: one run at a time under the pipeline lock. `shared`: several instances split the tables,
   * each table under its own claim on the target (sync/claims.ts).
   */
  workers: 'single' | 'shared'
  tables: TableSelector[]
  retry: RetryPolicy
  schedule?: { everyMs?: number; cron?: string }
  health?: { port: number; host: string }
  notify?: { webhook: string; on: Array<'failure' | 'recovery'> }
  /** Milliseconds to wait for running batches on SIGTERM before exiting. */
  shutdownTimeoutMs: number
  /** A source read or target write still running after this long is abandoned and retried. */
  queryTimeoutMs: number
}
