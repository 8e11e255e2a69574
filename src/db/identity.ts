import { randomBytes } from 'node:crypto'
import type { ConnectionOptions } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { connect, type Db } from './connect.js'
import type { PoolHooks } from './pool-guard.js'

/**
 * Connect both sides at once; close the first if the second fails. Every command that reads both sides
 * connects through here, so every one refuses a source and target that are the same database (exit 2)
 * before it reads or writes anything.
 */
export async function connectPair(
  sides: {
    source: ConnectionOptions
    target: ConnectionOptions
  },
  hooks?: PoolHooks,
): Promise<{ source: Db; target: Db }> {
  const [s, t] = await Promise.allSettled([connect(sides.source, hooks), connect(sides.target, hooks)])
  if (s.status === 'fulfilled' && t.status === 'fulfilled') {
    const pair = { source: s.value, target: t.value }
    try {
      await assertDistinct(pair.source, pair.target)
    } catch (err) {
      await Promise.all([pair.source.close(), pair.target.close()])
      throw err
    }
    return pair
  }
  if (s.status === 'fulfilled') await s.value.close()
  if (t.status === 'fulfilled') await t.value.close()
  throw s.status === 'rejected' ? s.reason : (t as PromiseRejectedResult).reason
}

/** What a connection says about where it landed. */
interface Seen {
  database: string | null
  hostname: string
  port: number
  /** lower_case_table_names: above 0, database names compare case-insensitively. */
  foldCase: boolean
}

/**
 * Refuse (exit 2) a source and a target that are the same database on the same server: a sync would
 * rebuild the source's tables with `_dlt_*` columns and write `_sync_state` into it. URL text proves
 * nothing (127.0.0.1 vs localhost, a DNS alias, a port forward), so ask the servers themselves.
 */
export async function assertDistinct(source: Db, target: Db): Promise<void> {
  const [s, t] = await Promise.all([seen(source), seen(target)])
  if (s.database === null || t.database === null) return
  const fold = s.foldCase || t.foldCase
  const sameName = fold ? s.database.toLowerCase() === t.database.toLowerCase() : s.database === t.database
  if (!sameName) return
  if (!(await sameServer(source, target, s, t))) return
  throw new ConfigError(
    `source and target are the same database: "${t.database}" on ${target.address} (server ${t.hostname}:${t.port}) is also the source`,
    'point target.url at another database or server; syncing a database onto itself would rewrite its tables',
  )
}

async function seen(db: Db): Promise<Seen> {
  const [rows] = await db.pool.query(
    'SELECT DATABASE() AS db, @@hostname AS hostname, @@port AS port, @@lower_case_table_names AS lctn',
  )
  const r = (
    rows as Array<{ db: string | null; hostname: string; port: number | string; lctn: number | string }>
  )[0]
  return {
    database: r?.db ?? null,
    hostname: String(r?.hostname ?? ''),
    port: Number(r?.port ?? 0),
    foldCase: Number(r?.lctn ?? 0) > 0,
  }
}

/**
 * Named locks are server-wide: take a random one through the source and ask the target whether it is in
 * use. That sees through every alias, proxy and forwarded port. Should the probe fail (a proxy that pins
 * no session), fall back to the server's own @@hostname:@@port.
 */
async function sameServer(source: Db, target: Db, s: Seen, t: Seen): Promise<boolean> {
  const name = `dbsync_identity_${randomBytes(8).toString('hex')}`
  let conn: Awaited<ReturnType<Db['pool']['getConnection']>> | undefined
  try {
    conn = await source.pool.getConnection()
    const [got] = await conn.query('SELECT GET_LOCK(?, 0) AS ok', [name])
    if (Number((got as Array<{ ok: unknown }>)[0]?.ok) !== 1) throw new Error('GET_LOCK refused')
    const [used] = await target.pool.query('SELECT IS_USED_LOCK(?) AS holder', [name])
    return (used as Array<{ holder: unknown }>)[0]?.holder != null
  } catch {
    return s.hostname === t.hostname && s.port === t.port
  } finally {
    if (conn) {
      await conn.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined)
      conn.release()
    }
  }
}
