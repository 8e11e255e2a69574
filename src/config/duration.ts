import { ConfigError } from '../errors.js'

/** Durations as the pipeline file writes them: an integer and one unit, e.g. `500ms`, `30s`, `5m`, `2h`, `1d`. */
export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d)$'

const DURATION_RE = new RegExp(DURATION_PATTERN)

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** The sentence used wherever a duration is rejected, so the file, the flags and the schema agree. */
export const DURATION_EXPECTED = 'expected a duration such as 500ms, 30s, 5m, 2h or 1d'

/** Milliseconds for a duration string, or `undefined` when it is not one. */
export function tryParseDuration(text: string): number | undefined {
  const match = DURATION_RE.exec(text.trim())
  if (!match) return undefined
  const unit = match[1] as string
  const ms = Number.parseInt(text.trim().slice(0, -unit.length), 10) * (UNIT_MS[unit] as number)
  return Number.isSafeInteger(ms) ? ms : undefined
}

/**
 * Milliseconds for `'500ms' | '30s' | '5m' | '2h' | '1d' | '0s'`.
 * Throws a `ConfigError` (exit 2) starting with `what`, e.g. the flag name: `--every: expected a duration ...`.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const ms = tryParseDuration(text)
  if (ms === undefined) {
    throw new ConfigError(
      `${what}: ${DURATION_EXPECTED}, got ${JSON.stringify(text)}`,
      'write a whole number and a unit: ms, s, m, h or d',
    )
  }
  return ms
}
