/**
 * Lag, computed in one place for /metrics, /status, the status page and `dbsync status`: now minus the
 * newest cursor value synced, for tables whose cursor is a date or time. A table that receives no writes
 * lags by this measure too (its newest row grows old); the time of its last successful sync tells the two
 * apart.
 */

const TEMPORAL_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?)?$/

/**
 * Epoch ms of a cursor value written as MySQL prints DATE/DATETIME/TIMESTAMP, or undefined for other
 * cursors (integers, text) and for zero or invalid dates. The value is read as UTC: TIMESTAMP cursors are
 * (the session time zone is UTC); a DATETIME cursor filled in another zone is off by that zone's offset.
 */
export function cursorEpochMs(value: string): number | undefined {
  const m = TEMPORAL_RE.exec(value)
  if (!m) return undefined
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as number[]
  if (!y || !mo || !d || mo > 12 || d > 31) return undefined
  const frac = m[7] ? Number(m[7]) * 1000 : 0
  return Date.UTC(y, mo - 1, d, h, mi, s) + Math.floor(frac)
}

/** Seconds a table lags at `now` (epoch ms), or null when its cursor is not a date/time (or none is saved). */
export function tableLagSeconds(lastCursor: string | null | undefined, now: number): number | null {
  const ms = lastCursor ? cursorEpochMs(lastCursor) : undefined
  return ms === undefined ? null : Math.max(0, (now - ms) / 1000)
}

/** What a table's last runs said about its backlog (sync/job.ts TableResult.lag), and whether the last one succeeded. */
export interface PendingLag {
  /** Epoch ms of the oldest change the last run left for later; null when none was waiting. */
  oldestPendingMs: number | null
  /** Epoch ms of that run's cap: every change before it was copied. */
  caughtUpToMs: number | null
  /** False once a later run of the table failed or was interrupted: the backlog is unknown and growing. */
  lastRunOk: boolean
}

/**
 * Lag as the age of the oldest change not yet copied (issue 12): zero for a table whose last run left
 * nothing waiting, however old its newest row is; after a failed run, the age of the oldest change that
 * may be missing (the older of the pending change and the last cap).
 */
export function pendingLagSeconds(p: PendingLag, now: number): number | null {
  const from = p.lastRunOk ? p.oldestPendingMs : (p.oldestPendingMs ?? p.caughtUpToMs)
  if (from === null) return p.lastRunOk ? 0 : null
  return Math.max(0, (now - from) / 1000)
}

/** A table's lag from what is known of it: its runs' backlog when they measured one, else its newest cursor. */
export function knownLagSeconds(
  lastCursor: string | null | undefined,
  backlog: PendingLag | null | undefined,
  now: number,
): number | null {
  return backlog ? pendingLagSeconds(backlog, now) : tableLagSeconds(lastCursor, now)
}

/** The backlog after a table's run: its own measure when it succeeded, else the previous one, now stale. */
export function nextBacklog(
  previous: PendingLag | null | undefined,
  run: { status: string; lag?: { oldestPendingMs: number | null; caughtUpToMs: number | null } },
): PendingLag | null {
  if (run.status === 'ok') return run.lag ? { ...run.lag, lastRunOk: true } : (previous ?? null)
  return previous ? { ...previous, lastRunOk: false } : null
}
