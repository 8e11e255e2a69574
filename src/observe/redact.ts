/**
 * Secrets (passwords from URLs, .env files and password files) are registered here as soon as they are
 * read, and every text that leaves the process (logs, errors, --json, state rows, metrics) goes through
 * `redact()`. Registering at the point of reading means no later code path has to remember to do it.
 */
const secrets = new Set<string>()

export const REDACTED = '***'

/** Remember a secret so that `redact()` removes it from any text. Empty and 1-2 char values are ignored. */
export function registerSecret(secret: string | undefined | null): void {
  if (!secret || secret.length < 3) return
  secrets.add(secret)
  // URLs carry the password percent-encoded: hide that spelling too.
  const encoded = encodeURIComponent(secret)
  if (encoded !== secret) secrets.add(encoded)
}

/** Replace every registered secret, and any `user:password@` URL userinfo, in `text`. */
export function redact(text: string): string {
  let out = text.replace(/(mysql|mariadb):\/\/([^:/@\s]*):([^@\s]*)@/gi, `$1://$2:${REDACTED}@`)
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED)
  }
  return out
}

/** Deep-redact a JSON-able value (strings anywhere inside it). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T
  if (value && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v)
    return out as T
  }
  return value
}
