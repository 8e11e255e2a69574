import { checkServerIdentity, type TLSSocket } from 'node:tls'
import type { ConnectionOptions } from '../config/types.js'
import { ConnectError } from '../errors.js'
import { redact } from '../observe/redact.js'
import { socketOf } from './pool-book.js'
import { RSA_KEY_REFUSED } from './rsa-key.js'

/** Node's host name check of a TLS connection's certificate against `host` (an IP address here). */
export function identityError(host: string, conn: unknown): Error | undefined {
  const stream = socketOf(conn) as TLSSocket | null
  // A resumed session carries no certificate; it resumes an earlier handshake of this pool, checked here.
  if (stream?.isSessionReused?.()) return undefined
  const cert = stream?.getPeerCertificate?.(true)
  if (!cert || Object.keys(cert).length === 0) {
    return Object.assign(new Error(`no server certificate to check against ${host}`), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    })
  }
  return checkServerIdentity(host, cert)
}

export function isNoTlsSupport(err: unknown): boolean {
  const e = err as { code?: string; message?: string }
  return (
    e?.code === 'HANDSHAKE_NO_SSL_SUPPORT' || /does not support secure connection/i.test(e?.message ?? '')
  )
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HANDSHAKE_NO_SSL_SUPPORT',
  'HANDSHAKE_SSL_ERROR',
])

/** Map a connect-time failure to exit 3 with the host and the server's reason, never the password. */
export function toConnectError(err: unknown, options: ConnectionOptions, address: string): ConnectError {
  // Already ours and worded (db/pool-guard.ts: no connection within pool.acquire_timeout).
  if (err instanceof ConnectError) return err
  const e = err as { code?: string; errno?: number; message?: string }
  const where = `${options.side} ${address}`
  const urlVar = options.side === 'source' ? 'the source url' : 'the target url'
  const reason = redact(e?.message ?? String(err))
  let message: string
  let hint: string
  if (e?.message?.includes(RSA_KEY_REFUSED)) {
    return new ConnectError(
      `${where}: ${RSA_KEY_REFUSED} (caching_sha2_password without TLS), and dbsync does not fetch that key unasked`,
      `use TLS (ssl-mode=REQUIRED), or give the key with server-public-key-path=/path/to/public_key.pem in ${urlVar}, ` +
        'or add get-server-public-key=true to trust the key the server sends (safe on a trusted network only)',
      { cause: err },
    )
  }
  switch (e?.code) {
    case 'ECONNREFUSED':
      message = `${where}: connection refused`
      hint = `is the server running and is ${urlVar} right?`
      break
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `${where}: host not found`
      hint = `check the host in ${urlVar}`
      break
    case 'ETIMEDOUT':
      message = `${where}: connection timed out`
      hint = 'check the host, port and firewall'
      break
    case 'ER_DBACCESS_DENIED_ERROR':
      // The login worked; the user lacks rights on the database named in the URL.
      message = `${where}: access denied: ${reason}`
      hint = `the user logged in but may not use database "${options.database}": GRANT it the privileges (see README, Least privilege), or check the database in ${urlVar}`
      break
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      message = `${where}: access denied: ${reason}`
      hint = `check the user and password in ${urlVar}`
      // MariaDB refuses a plain login under require_secure_transport=ON with this very error (no
      // ER_SECURE_TRANSPORT_REQUIRED): say so when the login was unencrypted (tls.test.ts).
      if (options.ssl.mode === 'disabled') {
        hint +=
          '; a server with require_secure_transport=ON refuses unencrypted logins this way too: use ssl-mode=REQUIRED or stronger'
      }
      break
    case 'ER_BAD_DB_ERROR':
      message = `${where}: database "${options.database}" does not exist`
      hint = `create it first (CREATE DATABASE ...) or fix the database in ${urlVar}`
      break
    default:
      if (e?.code && TLS_CODES.has(e.code)) {
        message = `${where}: TLS handshake failed: ${reason}`
        hint = 'check ssl mode, the CA file and that the host name matches the certificate'
      } else {
        message = `${where}: cannot connect: ${reason}`
        hint = `check ${urlVar}`
      }
  }
  return new ConnectError(message, hint, { cause: err })
}
