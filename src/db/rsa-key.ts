import { type AuthPlugin, authPlugins as mysql2Plugins } from 'mysql2'

/**
 * MySQL 8's caching_sha2_password, without TLS and without a cached login, sends the password encrypted
 * with the server's RSA public key. mysql2 asks the server for that key when it has none, and trusts
 * whatever comes back: a man in the middle could hand over its own key and read the password. As the mysql
 * client does (--get-server-public-key, off by default), dbsync asks only when told to
 * (get-server-public-key=true), uses the key it was given (server-public-key-path), and otherwise refuses
 * with an error saying so. MySQL 8.0 manual, 8.4.1.2 "Caching SHA-2 Pluggable Authentication".
 */

/** Marks the refusal, which mysql2 hands on as an AUTH_SWITCH_PLUGIN_ERROR with this message. */
export const RSA_KEY_REFUSED = 'the server asked to send the password encrypted with its RSA public key'

// The "send me your public key" request, as mysql2 writes it: a single byte, 2 for caching_sha2_password,
// 1 for the older sha256_password (which works the same way and is deprecated since MySQL 8.0.16).
const REQUEST_PUBLIC_KEY = { caching_sha2_password: Buffer.from([2]), sha256_password: Buffer.from([1]) }

/** mysql2's `authPlugins` option: the SHA-256 plugins, fetching the server's key only when allowed. */
export function authPlugins(
  rsaKey: { publicKey?: string; fetch: boolean } | undefined,
): Record<string, AuthPlugin> {
  const options = rsaKey?.publicKey === undefined ? {} : { serverPublicKey: rsaKey.publicKey }
  const fetch = rsaKey?.fetch === true
  const guard =
    (inner: AuthPlugin, request: Buffer): AuthPlugin =>
    (ctx) => {
      const step = inner(ctx)
      return (data) => {
        const out = step(data)
        if (!fetch && Buffer.isBuffer(out) && out.equals(request)) throw new Error(RSA_KEY_REFUSED)
        return out
      }
    }
  return {
    caching_sha2_password: guard(
      mysql2Plugins.caching_sha2_password(options),
      REQUEST_PUBLIC_KEY.caching_sha2_password,
    ),
    sha256_password: guard(mysql2Plugins.sha256_password(options), REQUEST_PUBLIC_KEY.sha256_password),
  }
}
