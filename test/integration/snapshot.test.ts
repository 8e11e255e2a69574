import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/load.js'
import type { Db } from '../../src/db/connect.js'
import { connectPair } from '../../src/db/identity.js'
import { openSnapshot } from '../../src/sync/snapshot.js'
import { writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// Every read of a table's run comes from one snapshot (sync/snapshot.ts). Its isolation level is set once
// per pooled connection, for the session: a connection lent again must still give a snapshot that does
// not move, even where the server's default is READ COMMITTED (here set on the session, to leave the
// shared server's global alone).

describe('a source snapshot', () => {
  let dbs: TestDbs
  let pair: { source: Db; target: Db }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query('CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)')
    const file = await writeTempPipeline(
      pipelineYaml({ sourceUrl: dbs.sourceUrl, targetUrl: dbs.targetUrl, tables: '  - name: t' }),
    )
    pair = await connectPair(await loadPipeline(file))
  })
  afterAll(async () => {
    if (pair) await Promise.all([pair.source.close(), pair.target.close()])
    await dbs?.drop()
  })

  it('does not move under a concurrent insert, on the first and on a later lending of the connection', async () => {
    const conn = await pair.source.pool.getConnection()
    const [[{ id }]] = (await conn.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]]
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED')
    conn.release()
    let next = 2
    for (const lending of ['first', 'later']) {
      const snap = await openSnapshot(pair.source)
      try {
        const count = async () => {
          const [rows] = await snap.conn.query('SELECT COUNT(*) AS n, CONNECTION_ID() AS id FROM t')
          return (rows as Array<{ n: number; id: number }>)[0]!
        }
        const before = await count()
        // The pool lends its one idle connection again: the test is about that connection.
        expect(before.id, `${lending} lending`).toBe(id)
        await dbs.source.query('INSERT INTO t VALUES (?)', [next++])
        expect((await count()).n, `${lending} lending`).toBe(before.n)
      } finally {
        await snap.close()
      }
    }
    const [rows] = await dbs.source.query('SELECT COUNT(*) AS n FROM t')
    expect(Number((rows as Array<{ n: number | string }>)[0]!.n)).toBe(3)
  })
})
