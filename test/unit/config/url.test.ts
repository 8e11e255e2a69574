import { describe, expect, it } from 'vitest'
import { parseDatabaseUrl } from '../../../src/config/url.js'
import { ConfigError } from '../../../src/errors.js'
import { redact } from '../../../src/observe/redact.js'

function urlError(url: string, side: 'source' | 'target' = 'source'): ConfigError {
  try {
    parseDatabaseUrl(url, side)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`expected ${url} to be rejected`)
}

describe('parseDatabaseUrl', () => {
  it('reads user, password, host, port and database', () => {
    expect(parseDatabaseUrl('mysql://app:secret@db.example:3307/shop', 'source')).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'app',
      password: 'secret',
      database: 'shop',
      ssl: {},
      rsaKey: {},
    })
  })

  it('reads the RSA public key options of caching_sha2_password', () => {
    const url = parseDatabaseUrl(
      'mysql://app@db/shop?server-public-key-path=/keys/public.pem&get-server-public-key=true',
      'source',
    )
    expect(url.rsaKey).toEqual({ path: '/keys/public.pem', fetch: true })
    expect(() => parseDatabaseUrl('mysql://app@db/shop?get-server-public-key=maybe', 'source')).toThrow(
      'source url: get-server-public-key "maybe" is not true or false',
    )
  })

  it('defaults the port to 3306 and the password to empty', () => {
    const url = parseDatabaseUrl('mysql://root@localhost/shop', 'source')
    expect(url.port).toBe(3306)
    expect(url.password).toBe('')
  })

  it('accepts mariadb:// and an upper-case scheme', () => {
    expect(parseDatabaseUrl('mariadb://u:p@h/d', 'target').database).toBe('d')
    expect(parseDatabaseUrl('MySQL://u:p@h/d', 'target').host).toBe('h')
  })

  it('percent-decodes the password, user and database', () => {
    const url = parseDatabaseUrl('mysql://app%2Buser:p%40ss%3Aw%2Fd@db/my%20shop', 'source')
    expect(url.password).toBe('p@ss:w/d')
    expect(url.user).toBe('app+user')
    expect(url.database).toBe('my shop')
  })

  it('still parses a password with an unencoded "@", ":" or "?"', () => {
    expect(parseDatabaseUrl('mysql://app:p@ss:w?rd@db:3306/shop', 'source')).toMatchObject({
      password: 'p@ss:w?rd',
      host: 'db',
      database: 'shop',
    })
  })

  it('reads an IPv6 host in brackets, with and without a port', () => {
    expect(parseDatabaseUrl('mysql://u:p@[::1]:3307/shop', 'source')).toMatchObject({
      host: '::1',
      port: 3307,
    })
    expect(parseDatabaseUrl('mysql://u:p@[2001:db8::5]/shop', 'source')).toMatchObject({
      host: '2001:db8::5',
      port: 3306,
    })
  })

  it('reads the TLS and timeout parameters', () => {
    const url = parseDatabaseUrl(
      'mysql://u:p@h/d?ssl-mode=VERIFY_IDENTITY&ssl-ca=certs/ca.pem&ssl_cert=c.pem&ssl-key=k%20.pem&connect-timeout=2.5',
      'target',
    )
    expect(url.ssl).toEqual({ mode: 'verify-identity', ca: 'certs/ca.pem', cert: 'c.pem', key: 'k .pem' })
    expect(url.connectTimeoutMs).toBe(2500)
  })

  it.each([
    ['DISABLED', 'disabled'],
    ['preferred', 'preferred'],
    ['Required', 'required'],
    ['verify-ca', 'verify-ca'],
    ['VERIFY_CA', 'verify-ca'],
    ['verify_identity', 'verify-identity'],
  ])('accepts ssl-mode=%s', (given, mode) => {
    expect(parseDatabaseUrl(`mysql://u:p@h/d?ssl-mode=${given}`, 'source').ssl.mode).toBe(mode)
  })

  it('names the side when the database is missing', () => {
    for (const url of ['mysql://u:p@h:3306', 'mysql://u:p@h:3306/', 'mysql://u:p@h/?ssl-mode=REQUIRED']) {
      const err = urlError(url, 'target')
      expect(err.exitCode).toBe(2)
      expect(err.message).toBe('target url: no database name')
    }
  })

  it('rejects an unknown parameter and suggests the close one', () => {
    const err = urlError('mysql://u:p@h/d?ssl-mdoe=REQUIRED')
    expect(err.message).toBe('source url: unknown parameter "ssl-mdoe"')
    expect(err.hint).toBe('did you mean "ssl-mode"?')
  })

  it.each([
    ['postgres://u:p@h/d', 'unsupported scheme "postgres://"'],
    ['db.example:3306/shop', 'not a database URL'],
    ['mysql://u:p@h:99999/d', 'port "99999" is not a number from 1 to 65535'],
    ['mysql://u:p@h:abc/d', 'port "abc" is not a number from 1 to 65535'],
    ['mysql://u:p@::1/d', 'more than one ":" in the host'],
    ['mysql://u:p@[::1/d', 'unclosed "[" in the host'],
    ['mysql://u:p@/d', 'no host name'],
    ['mysql://:p@h/d', 'no user name'],
    ['mysql://u:p@h/d?ssl-mode=sometimes', 'ssl-mode "sometimes" is not one of'],
    ['mysql://u:p@h/d?connect-timeout=0', 'connect-timeout "0" is not a positive number of seconds'],
  ])('rejects %s', (url, message) => {
    expect(urlError(url).message).toContain(`source url: ${message}`)
  })

  it('never puts the password in an error, encoded or not', () => {
    const bad = [
      'mysql://app:Hunter2-plain@h',
      'mysql://app:Hunter2-plain@h:70000/d',
      'mysql://app:Hunter2-plain@h/d?bogus=1',
      'mysql://app:Hunter2-plain@h/d?ssl-mode=nope',
      'mysql://app:Hunter2%40enc@[::1/d',
      'mysql://app:Hunter2%40enc@h:1:2/d',
      'mysql://app:Hunter2%zz@h/d',
      'postgres://app:Hunter2-plain@h/d',
    ]
    for (const url of bad) {
      const err = urlError(url)
      const text = `${err.message}\n${err.hint ?? ''}`
      expect(text).not.toMatch(/Hunter2/)
    }
  })

  it('registers the password so that logs redact it', () => {
    parseDatabaseUrl('mysql://app:Registered%2Fpw@h/d', 'source')
    expect(redact('login with Registered/pw failed')).toBe('login with *** failed')
  })
})
