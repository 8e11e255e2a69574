import { Cron } from 'croner'
import { tryParseDuration } from '../config/duration.js'
import type { Pipeline } from '../config/types.js'
import { ConfigError, errorMessage } from '../errors.js'

/** When runs start: every N ms (whole seconds, croner's resolution) or on a cron expression. */
export interface ScheduleSpec {
  everyMs?: number
  cron?: string
}

/**
 * The schedule to use: a flag wins over the file's `schedule:`; undefined means run once.
 * Throws ConfigError (exit 2) for both flags at once, sub-second or fractional intervals, bad cron.
 */
export function resolveSchedule(
  flags: { every?: string; cron?: string },
  file?: Pipeline['schedule'],
): ScheduleSpec | undefined {
  if (flags.every !== undefined && flags.cron !== undefined) {
    throw new ConfigError('--every and --cron cannot be used together', 'pick one of them')
  }
  if (flags.every !== undefined) return { everyMs: checkEvery(parseEvery(flags.every), '--every') }
  if (flags.cron !== undefined) return { cron: checkCron(flags.cron, '--cron') }
  if (file?.everyMs !== undefined) return { everyMs: checkEvery(file.everyMs, 'schedule.every') }
  if (file?.cron !== undefined) return { cron: checkCron(file.cron, 'schedule.cron') }
  return undefined
}

/** --every takes whole seconds, so its error suggests none of the sub-second examples other durations show. */
function parseEvery(text: string): number {
  const ms = tryParseDuration(text)
  if (ms === undefined) {
    throw new ConfigError(
      `--every: expected an interval such as 30s, 5m or 1h, got ${JSON.stringify(text)}`,
      'write a whole number and a unit: s, m, h or d (at least 1s)',
    )
  }
  return ms
}

function checkEvery(ms: number, what: string): number {
  if (ms < 1000 || ms % 1000 !== 0) {
    throw new ConfigError(
      `${what}: the interval must be a whole number of seconds, at least 1s`,
      'e.g. 30s, 5m or 1h',
    )
  }
  return ms
}

function checkCron(expr: string, what: string): string {
  try {
    new Cron(expr.trim(), { paused: true }).stop()
  } catch (err) {
    throw new ConfigError(
      `${what}: "${expr}" is not a cron expression: ${errorMessage(err)}`,
      'five fields (minute hour day month weekday), or six with seconds first, e.g. "*/5 * * * *"',
    )
  }
  return expr.trim()
}

/** The spec as it appears in /status. */
export function describeSchedule(spec: ScheduleSpec): { every?: string; cron?: string } {
  return spec.cron !== undefined ? { cron: spec.cron } : { every: `${(spec.everyMs ?? 0) / 1000}s` }
}

/**
 * Ticks skipped after `failures` failed runs in a row: 0 after the first (retry at the next tick), then
 * 1, 3, 7, ... (2^(n-1) - 1), so attempts are 1, 2, 4, 8 intervals apart; capped so the wait stays under
 * 15 minutes (no backoff at all when the interval is 15 minutes or longer).
 */
export function backoffTicks(failures: number, intervalMs: number): number {
  if (failures <= 1) return 0
  const cap = Math.floor((15 * 60_000) / Math.max(1, intervalMs))
  return Math.min(2 ** Math.min(failures - 1, 30) - 1, cap)
}
