import type { Connection } from 'mysql2/promise'
import type { Db } from '../db/connect.js'
import { destroyConnection } from '../db/driver.js'
import { quoteString } from '../db/quote.js'
import type { ColumnDef } from '../schema/table-def.js'

/**
 * A run's late-commit cap: the one upper bound (exclusive) below which every path that reads by a
 * temporal cursor (incremental run, first-load bound, full refresh position) takes rows. Read once per run
 * (readRunCap), floored per cursor column (capBound).
 */
export interface RunCap {
  /**
   * The cap as a UTC instant 'YYYY-MM-DD HH:MM:SS.ffffff', for TIMESTAMP cursors (the session is UTC);
   * null when positions are held for this run (the list of open transactions could not be shown fresh).
   */
  utc: string | null
  /** The same instant in the server's time zone (@@global.time_zone), for DATETIME and DATE cursors. */
  serverLocal: string | null
  /** The source clock when the cap was read, UTC and server-local: rows stamped at or after it are "future". */
  clock: { utc: string; serverLocal: string }
  /** Why the cap is weaker than it should be, or why positions are held; null when all is well. */
  warning: string | null
}

export interface CapOptions {
  /** How long to wait for a fresh INNODB_TRX before holding positions (default 10 s). */
  freshWithinMs?: number
  /**
   * Pause between reads of INNODB_TRX while waiting: pollMs to twice that, at random (default 150 ms: InnoDB
   * refreshes its copy only after 100 ms unread). The jitter keeps several dbsync processes polling one
   * source (pipelines, shared workers) from falling into step and leaving no 100 ms gap between them.
   */
  pollMs?: number
  /** Called once the cap is read, before any table starts: tests start a late transaction at that moment. */
  afterRead?: (cap: RunCap) => Promise<void>
}

// Transactions that can still commit rows stamped before now: those that have written, hold locks or are
// running a statement. A read-only one, or one that has only read so far, stamps what it writes later at or
// after now, above the cap anyway; leaving those out keeps other readers (our own snapshots, idle
// sessions) from holding every table back. `seen` is our marker transaction: only a copy of the list made
// after the marker began has it (InnoDB serves INNODB_TRX from a cache refreshed only when nobody read it
// for 100 ms, so a busy poller can keep an old copy in place for as long as it polls).
// trx_started is in the server's SYSTEM time zone (InnoDB formats it with localtime()), not the session's:
// it is converted to UTC; `back` tells a DST repeat hour (the hour before maps to the same local time).
const TRX_SQL = `SELECT s.seen, s.oldest, CONVERT_TZ(s.oldest, 'SYSTEM', '+00:00') AS oldest_utc,
    CONVERT_TZ(CONVERT_TZ(s.oldest, 'SYSTEM', '+00:00') - INTERVAL 1 HOUR, '+00:00', 'SYSTEM') AS back
  FROM (SELECT COALESCE(MAX(trx_mysql_thread_id = CONNECTION_ID()), 0) AS seen,
      MIN(CASE WHEN trx_mysql_thread_id <> CONNECTION_ID() AND trx_is_read_only = 0
        AND trx_autocommit_non_locking = 0
        AND (trx_rows_modified > 0 OR trx_lock_structs > 0 OR trx_query IS NOT NULL)
        THEN trx_started END) AS oldest
    FROM information_schema.INNODB_TRX) s`

export interface TrxRow {
  seen: number | string
  oldest: string | null
  oldest_utc: string | null
  back: string | null
}

/**
 * Read the run's cap from the source, once per run. A marker transaction of our own, on a fresh
 * connection (a new thread id, so no older copy of the list can hold it), must appear in INNODB_TRX before
 * the list is trusted; if it does not within `freshWithinMs`, positions are held (cap null) with a warning:
 * advancing past a transaction the list did not show could skip its rows for good.
 */
export async function readRunCap(source: Db, opts: CapOptions = {}): Promise<RunCap> {
  const freshWithinMs = opts.freshWithinMs ?? 10_000
  const pollMs = opts.pollMs ?? 150
  const conn = await source.dedicated()
  let ok = false
  try {
    const clockUtc = await scalar(conn, 'SELECT NOW(6) AS v')
    // A consistent snapshot starts the InnoDB transaction now, so it is listed without reading a table.
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')
    let capUtc: string | null = null
    let warning: string | null = null
    const deadline = Date.now() + freshWithinMs
    for (;;) {
      let row: TrxRow
      try {
        const [rows] = await conn.query({ sql: TRX_SQL, dateStrings: true })
        row = (rows as TrxRow[])[0]!
      } catch (err) {
        if (!isPrivilegeError(err)) throw err
        warning =
          'cannot read information_schema.INNODB_TRX (needs the PROCESS privilege): late commits are covered only by lag'
        capUtc = clockUtc
        break
      }
      if (Number(row.seen) === 1) {
        capUtc = minInstant(clockUtc, oldestStart(row))
        break
      }
      if (Date.now() + 2 * pollMs > deadline) {
        warning =
          `positions held: information_schema.INNODB_TRX did not show a fresh list of open transactions within ${freshWithinMs} ms ` +
          '(InnoDB refreshes it only after 100 ms unread; is something polling it constantly?)'
        break
      }
      await new Promise((r) => setTimeout(r, pollMs * (1 + Math.random())))
    }
    await conn.query('COMMIT')
    const local = await conn.query({
      sql: `SELECT CONVERT_TZ(?, '+00:00', @@global.time_zone) AS cap, CONVERT_TZ(?, '+00:00', @@global.time_zone) AS clock`,
      values: [capUtc ?? clockUtc, clockUtc],
      dateStrings: true,
    })
    const l = (local[0] as Array<{ cap: string | null; clock: string | null }>)[0]!
    ok = true
    return {
      utc: capUtc,
      serverLocal: capUtc === null ? null : normalize(l.cap ?? capUtc),
      clock: { utc: clockUtc, serverLocal: normalize(l.clock ?? clockUtc) },
      warning,
    }
  } finally {
    if (ok) await conn.end().catch(() => destroyConnection(conn))
    else destroyConnection(conn)
  }
}

/**
 * The oldest open writer's start as a UTC instant, one second early: trx_started is cut to the second,
 * and a statement takes its NOW() a moment before it first touches InnoDB. In a DST repeat hour the
 * earlier of the two instants counts (the safe side).
 */
export function oldestStart(row: TrxRow): string | null {
  if (row.oldest === null) return null
  let utc = row.oldest_utc ?? row.oldest
  if (row.back !== null && normalize(row.back) === normalize(row.oldest)) utc = shiftSeconds(utc, -3600)
  return shiftSeconds(utc, -1)
}

function minInstant(a: string, b: string | null): string {
  const [x, y] = [normalize(a), b === null ? null : normalize(b)]
  return y !== null && y < x ? y : x
}

/** 'YYYY-MM-DD HH:MM:SS[.f]' → 'YYYY-MM-DD HH:MM:SS.ffffff', so instants compare as text. */
function normalize(v: string): string {
  const [whole, frac = ''] = v.split('.')
  return `${whole}.${frac.padEnd(6, '0').slice(0, 6)}`
}

/**
 * Where "ahead of the source clock" begins for a cursor: the next whole second after the clock (the next day
 * for a DATE), so a row stamped in the current second (rounded up by MySQL) is not taken for a future one.
 * Anything from the cap up to here is read by later runs as the cap moves on.
 */
export function futureBound(cap: RunCap, columns: Pick<ColumnDef, 'dataType' | 'columnType'>[]): string {
  const instant = columns[0]?.dataType === 'timestamp' ? cap.clock.utc : cap.clock.serverLocal
  const next = shiftSeconds(instant.slice(0, 19), cursorPrecision(columns) < 0 ? 86_400 : 1)
  return cursorPrecision(columns) < 0 ? next.slice(0, 10) : next.slice(0, 19)
}

function shiftSeconds(v: string, seconds: number): string {
  const n = normalize(v)
  const ms = Date.parse(`${n.slice(0, 19).replace(' ', 'T')}Z`) + seconds * 1000
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}${n.slice(19)}`
}

async function scalar(conn: Connection, text: string): Promise<string> {
  const [rows] = await conn.query({ sql: text, dateStrings: true })
  const v = (rows as Array<{ v: string | null }>)[0]?.v
  if (!v) throw new Error('the source did not report its clock')
  return normalize(v)
}

function isPrivilegeError(err: unknown): boolean {
  const code = (err as { code?: string }).code
  return (
    code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' ||
    code === 'ER_TABLEACCESS_DENIED_ERROR' ||
    code === 'ER_ACCESS_DENIED_ERROR'
  )
}

/** Cursor types a cap applies to: the ones whose values are instants on the source clock. */
const CAPPED_TYPES = new Set(['date', 'datetime', 'timestamp'])

/** Whether the cursor (all of its columns) holds instants the cap can bound. */
export function cursorIsCapped(columns: Pick<ColumnDef, 'dataType'>[]): boolean {
  return columns.length > 0 && columns.every((c) => CAPPED_TYPES.has(c.dataType))
}

/**
 * The cap as a literal for one cursor, floored to the cursor's precision: DATE to the day, DATETIME(n) and
 * TIMESTAMP(n) to n fractional digits. Rows are read strictly below it, so a transaction that begins just
 * after the cap was read, in the same second (or millisecond), stamps a value at or above the floored cap
 * (the server truncates or rounds up, never down) and is read by a later run instead of sorting below the
 * saved position. TIMESTAMP compares in UTC (the session's zone), DATE and DATETIME in the server's zone.
 * Null when positions are held.
 */
export function capBound(cap: RunCap, columns: Pick<ColumnDef, 'dataType' | 'columnType'>[]): string | null {
  const instant = columns[0]?.dataType === 'timestamp' ? cap.utc : cap.serverLocal
  if (instant === null) return null
  return quoteString(floorTo(instant, cursorPrecision(columns)))
}

/** Fractional digits kept by every cursor column; -1 for a DATE (whole days). */
export function cursorPrecision(columns: Pick<ColumnDef, 'dataType' | 'columnType'>[]): number {
  let p = 6
  for (const c of columns) {
    if (c.dataType === 'date') return -1
    const m = /\((\d)\)/.exec(c.columnType)
    p = Math.min(p, m ? Number(m[1]) : 0)
  }
  return p
}

/** Cut 'YYYY-MM-DD HH:MM:SS.ffffff' down to `digits` fractional digits (-1: the date alone). */
export function floorTo(instant: string, digits: number): string {
  const n = normalize(instant)
  if (digits < 0) return n.slice(0, 10)
  if (digits === 0) return n.slice(0, 19)
  return n.slice(0, 20 + digits)
}
