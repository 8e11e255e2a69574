/**
 * The one path every `--json` document takes: keys in snake_case (as in logs, /status and `_sync_runs`),
 * numbers rounded to what they mean (ms as integers, anything fractional to 3 decimals), bigints as
 * strings. Row keys and values are data, not vocabulary: objects under these keys pass through untouched.
 */
const DATA_KEYS = new Set(['key', 'keys', 'missing', 'extra', 'first_key', 'last_key', 'row', 'values'])

/** `rowsRead` -> `rows_read`; snake_case and other spellings stay as they are. */
export function snakeCase(key: string): string {
  if (!/^[a-z][A-Za-z0-9]*$/.test(key)) return key
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

/** A copy of `value` in the JSON vocabulary above. */
export function toJsonDocument(value: unknown, key = ''): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Number.isInteger(value)) return value
    return key.endsWith('_ms') ? Math.round(value) : Math.round(value * 1000) / 1000
  }
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Date) return value.toISOString()
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (Array.isArray(value)) return value.map((v) => toJsonDocument(v, key))
  if (DATA_KEYS.has(key)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue
    const name = snakeCase(k)
    out[name] = toJsonDocument(v, name)
  }
  return out
}
