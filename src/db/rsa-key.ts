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

// caching_sha2_password's "send me your public key" request (a single byte 2), as mysql2 writes it.
const REQUEST_PUBLIC_KEY = Buffer.from([2])

/** mysql2's `authPlugins` option: caching_sha2_password that fetches the server's key only when allowed. */
export function authPlugins(
  rsaKey: { publicKey?: string; fetch: boolean } | undefined,
): Record<string, AuthPlugin> {
  const inner = mysql2Plugins.caching_sha2_password(
    rsaKey?.publicKey === undefined ? {} : { serverPublicKey: rsaKey.publicKey },
  )
  const fetch = rsaKey?.fetch === true
  return {
    caching_sha2_password: (ctx) => {
      const step = inner(ctx)
      return (data) => {
        const out = step(data)
        if (!fetch && Buffer.isBuffer(out) && out.equals(REQUEST_PUBLIC_KEY)) throw new Error(RSA_KEY_REFUSED)
        return out
      }
    },
  }
}
