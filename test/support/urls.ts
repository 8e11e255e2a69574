import type { ConnectionOptions } from 'mysql2/promise'

/**
 * mysql2 options for a `mysql://user:password@host:port/database?opt=value` URL. Parsed here rather than
 * with mysql2's `uri` option, which turns a missing port into NaN.
 */
export function connectionOptions(url: string): ConnectionOptions {
  const parsed = new URL(url)
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new Error(`expected a mysql:// URL, got ${redactUrl(url)}`)
  }
  const options: Record<string, unknown> = {}
  // Query options (ssl, timezone, ...) pass through like mysql2's own URL parser does it.
  for (const [key, value] of parsed.searchParams) {
    try {
      options[key] = JSON.parse(value)
    } catch {
      options[key] = value
    }
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  return {
    ...options,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username) || 'root',
    password: decodeURIComponent(parsed.password),
    ...(database === '' ? {} : { database }),
  }
}

/** The same server URL with its path (database) replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/** The same server URL without a database, for server-wide checks. */
export function withoutDatabase(url: string): string {
  const parsed = new URL(url)
  parsed.pathname = ''
  return parsed.toString()
}

/** The URL with its password masked, for error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable URL)'
  }
}

/** Backtick-quotes an identifier; test support does not depend on src/db, which may be mid-change. */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`'
}
