import type { SslOptions as MysqlSsl } from 'mysql2'
import type { SslOptions } from '../config/types.js'
import { assertNever } from '../errors.js'

/**
 * mysql2's `ssl` option for a pipeline's ssl mode, with the semantics of the mysql client's --ssl-mode:
 * required encrypts without checking the certificate, verify-ca checks the chain but not the host name,
 * verify-identity checks both. Returns undefined for disabled.
 */
export function sslConfig(ssl: SslOptions): MysqlSsl | undefined {
  const files: MysqlSsl = {}
  if (ssl.ca) files.ca = ssl.ca
  if (ssl.cert) files.cert = ssl.cert
  if (ssl.key) files.key = ssl.key
  switch (ssl.mode) {
    case 'disabled':
      return undefined
    case 'preferred':
    case 'required':
      return { ...files, rejectUnauthorized: false }
    case 'verify-ca':
      return { ...files, rejectUnauthorized: true, verifyIdentity: false }
    case 'verify-identity':
      return { ...files, rejectUnauthorized: true, verifyIdentity: true }
    default:
      return assertNever(ssl.mode)
  }
}
