import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabases, type TestDbs } from '../support/db.js'

describe('test servers', () => {
  let dbs: TestDbs

  beforeAll(async () => {
    dbs = await createTestDatabases()
  })

  afterAll(async () => {
    await dbs?.drop()
  })

  it('creates a dbsync_t_ database on each server and names it in the URLs', () => {
    expect(dbs.sourceDb).toMatch(/^dbsync_t_\w+$/)
    expect(dbs.targetDb).toMatch(/^dbsync_t_\w+$/)
    expect(new URL(dbs.sourceUrl).pathname).toBe(`/${dbs.sourceDb}`)
    expect(new URL(dbs.targetUrl).pathname).toBe(`/${dbs.targetDb}`)
  })

  it('reads back a row written on the source', async () => {
    await dbs.source.query(
      'CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(20), at DATETIME(3)); ' +
        "INSERT INTO t VALUES (18446744073709551615, 'åß✓', '2024-02-29 12:34:56.789')",
    )
    const [rows] = await dbs.source.query('SELECT id, name, at FROM t')
    expect(rows).toEqual([{ id: '18446744073709551615', name: 'åß✓', at: '2024-02-29 12:34:56.789' }])
  })

  it('keeps source and target apart', async () => {
    const [rows] = await dbs.target.query(
      'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
    )
    // COUNT(*) is a BIGINT, which bigNumberStrings returns as a string.
    expect(rows).toEqual([{ n: '0' }])
  })

  it('runs MariaDB or MySQL on both sides', async () => {
    for (const conn of [dbs.source, dbs.target]) {
      const [rows] = await conn.query('SELECT VERSION() AS version, @@version_comment AS comment')
      const [row] = rows as { version: string; comment: string }[]
      expect(`${row?.version} ${row?.comment}`).toMatch(/MariaDB|MySQL/i)
    }
  })

  it('uses two distinct servers when they are throwaway', () => {
    const servers = inject('servers')
    if (servers === null) return
    expect(servers.source.port).not.toBe(servers.target.port)
    expect(servers.source.pid).toBeGreaterThan(0)
    expect(inject('sourceUrl')).toBe(`mysql://root@127.0.0.1:${servers.source.port}`)
  })
})
