import { ConfigError } from '../errors.js'
import { registerSecret } from '../observe/redact.js'
import { suggestionHint } from './close-match.js'
import type { SslMode } from './types.js'

/** What a database URL says; TLS file entries are still paths here (load.ts reads them). */
export interface DatabaseUrl {
  host: string
  port: number
  user: string
  /** Percent-decoded; already registered with observe/redact. */
  password: string
  database: string
  ssl: { mode?: SslMode; ca?: string; cert?: string; key?: string }
  /** From `connect-timeout` (seconds in the URL, like the mysql client's option). */
  connectTimeoutMs?: number
  /** caching_sha2_password without TLS: the server's RSA public key, as the mysql client's options name it. */
  rsaKey: { path?: string; fetch?: boolean }
}

export const DEFAULT_MYSQL_PORT = 3306

const URL_SHAPE = 'mysql://user:password@host:3306/database'
const SSL_MODES: readonly SslMode[] = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity']
const PARAMS = [
  'ssl-mode',
  'ssl-ca',
  'ssl-cert',
  'ssl-key',
  'connect-timeout',
  'server-public-key-path',
  'get-server-public-key',
] as const
type Param = (typeof PARAMS)[number]

/**
 * Parse `mysql://user:password@host:port/database?ssl-mode=REQUIRED&ssl-ca=...` (or `mariadb://`).
 * User, password and database are percent-decoded; IPv6 hosts are written in brackets (`[::1]:3307`).
 * The password is registered as a secret before anything else can fail, and no error names it.
 */
export function parseDatabaseUrl(url: string, side: 'source' | 'target'): DatabaseUrl {
  function fail(what: string, hint = `expected ${URL_SHAPE}`): never {
    throw new ConfigError(`${side} url: ${what}`, hint)
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)
  if (!scheme) fail('not a database URL')
  const schemeName = scheme[1]?.toLowerCase()
  if (schemeName !== 'mysql' && schemeName !== 'mariadb') {
    fail(`unsupported scheme "${schemeName}://"`, 'use mysql:// or mariadb://')
  }
  const rest = url.slice(scheme[0].length)

  // The userinfo ends at the LAST "@" and the query starts at the first "?" after it, so passwords that
  // people forget to percent-encode ("@", "?", "/", "#") still parse; an "@" in a query value must be %40.
  const queryStart = rest.indexOf('?', Math.max(0, rest.lastIndexOf('@')))
  const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart)
  const query = queryStart === -1 ? '' : rest.slice(queryStart + 1)
  const at = beforeQuery.lastIndexOf('@')
  const userinfo = at === -1 ? '' : beforeQuery.slice(0, at)
  const hostAndPath = at === -1 ? beforeQuery : beforeQuery.slice(at + 1)

  const colon = userinfo.indexOf(':')
  const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon)
  const rawPassword = colon === -1 ? '' : userinfo.slice(colon + 1)
  registerSecret(rawPassword)
  const password = decode(rawPassword, () => fail('malformed percent-encoding in the password'))
  registerSecret(password)
  const user = decode(rawUser, () => fail('malformed percent-encoding in the user name'))
  if (user === '') fail('no user name')

  const slash = hostAndPath.indexOf('/')
  const hostPort = slash === -1 ? hostAndPath : hostAndPath.slice(0, slash)
  const path = slash === -1 ? '' : hostAndPath.slice(slash + 1)
  const { host, port } = parseHostPort(hostPort, fail)

  const database = decode(path, () => fail('malformed percent-encoding in the database name'))
  if (database === '') fail('no database name', `add it after the host: ${URL_SHAPE}`)
  if (database.includes('/')) fail(`database name "${database}" contains "/"`, 'percent-encode it as %2F')

  const parsed: DatabaseUrl = { host, port, user, password, database, ssl: {}, rsaKey: {} }
  for (const [key, value] of parseQuery(query, fail)) {
    switch (key) {
      case 'ssl-mode':
        parsed.ssl.mode = parseSslMode(value, () =>
          fail(`ssl-mode "${value}" is not one of ${SSL_MODES.join(', ')}`),
        )
        break
      case 'ssl-ca':
        parsed.ssl.ca = value
        break
      case 'ssl-cert':
        parsed.ssl.cert = value
        break
      case 'ssl-key':
        parsed.ssl.key = value
        break
      case 'connect-timeout': {
        const seconds = Number(value)
        if (value === '' || !Number.isFinite(seconds) || seconds <= 0) {
          fail(`connect-timeout "${value}" is not a positive number of seconds`, 'e.g. connect-timeout=10')
        }
        parsed.connectTimeoutMs = Math.round(seconds * 1000)
        break
      }
      case 'server-public-key-path':
        parsed.rsaKey.path = value
        break
      case 'get-server-public-key': {
        const flag = /^(true|1|on|yes)$/i.test(value)
          ? true
          : /^(false|0|off|no)$/i.test(value)
            ? false
            : null
        if (flag === null) fail(`get-server-public-key "${value}" is not true or false`)
        parsed.rsaKey.fetch = flag
        break
      }
    }
  }
  return parsed
}

/** `DISABLED`, `verify_ca`, `Verify-Identity`... as the SslMode spelling, or `undefined`. */
export function normalizeSslMode(value: string): SslMode | undefined {
  const mode = value.trim().toLowerCase().replaceAll('_', '-')
  return SSL_MODES.find((m) => m === mode)
}

function parseSslMode(value: string, onError: () => never): SslMode {
  return normalizeSslMode(value) ?? onError()
}

function parseHostPort(
  hostPort: string,
  fail: (what: string, hint?: string) => never,
): { host: string; port: number } {
  let host: string
  let portText: string | undefined
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']')
    if (close === -1) fail('unclosed "[" in the host', 'write IPv6 addresses as [::1]:3306')
    host = hostPort.slice(1, close)
    const after = hostPort.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) fail('unexpected text after "]" in the host')
    portText = after === '' ? undefined : after.slice(1)
  } else {
    const parts = hostPort.split(':')
    if (parts.length > 2)
      fail('more than one ":" in the host', 'write IPv6 addresses in brackets: [::1]:3306')
    host = parts[0] as string
    portText = parts[1]
  }
  if (host === '') fail('no host name')
  if (portText === undefined) return { host, port: DEFAULT_MYSQL_PORT }
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : Number.NaN
  if (!(port >= 1 && port <= 65535)) fail(`port "${portText}" is not a number from 1 to 65535`)
  return { host, port }
}

function parseQuery(query: string, fail: (what: string, hint?: string) => never): Array<[Param, string]> {
  const out: Array<[Param, string]> = []
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawKey = eq === -1 ? part : part.slice(0, eq)
    const key = decode(rawKey, () => fail('malformed percent-encoding in a parameter name'))
      .toLowerCase()
      .replaceAll('_', '-')
    const known = PARAMS.find((p) => p === key)
    if (known === undefined) fail(`unknown parameter "${key}"`, suggestionHint(key, PARAMS))
    const value = decode(eq === -1 ? '' : part.slice(eq + 1), () =>
      fail(`malformed percent-encoding in ${key}`),
    )
    out.push([known as Param, value])
  }
  return out
}

function decode(text: string, onError: () => never): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return onError()
  }
}
