import { afterAll, beforeAll, expect } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'
import type { TestDbs } from '../support/db.js'
import { EXTERNAL_SERVERS, ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// A row whose digest input (67 characters per DECIMAL(65,30) image, 150 of them: about 10 KB) is longer
// than max_allowed_packet (8 KB), while every statement dbsync sends stays shorter: CONCAT_WS returns NULL
// for that row on both servers, and a SUM over the digests would skip it on both sides alike.
const COLUMNS = 150
const PACKET = 8192
const VALUE = '-12345678901234567890123456789012345.123456789012345678901234567890'

const own = ownServer('a server of its own whose global max_allowed_packet the test lowers')

own.describe('validate --data with rows longer than max_allowed_packet', () => {
  let server: ThrowawayServer
  let dbs: TestDbs
  let file: string

  beforeAll(async () => {
    if (EXTERNAL_SERVERS) return
    server = await startServer({ name: 'packet' })
    dbs = await createDatabasesOn(server.url, server.url)
    const cols = Array.from({ length: COLUMNS }, (_, i) => `c${i} DECIMAL(65,30) NULL`)
    const values = (id: number) => `(${id}, ${Array(COLUMNS).fill(`'${VALUE}'`).join(', ')})`
    for (const conn of [dbs.source, dbs.target]) {
      await conn.query(`CREATE TABLE wide (id INT PRIMARY KEY, ${cols.join(', ')})`)
      await conn.query(`INSERT INTO wide VALUES ${values(1)}, ${values(2)}, ${values(3)}`)
    }
    // The target's row 2 differs in one value: only a digest of every row can see it.
    await dbs.target.query('UPDATE wide SET c7 = 1 WHERE id = 2')
    await dbs.source.query(`SET GLOBAL max_allowed_packet = ${PACKET}`)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: '  - name: wide\n    strategy: full_refresh',
      }),
    )
  }, 240_000)

  afterAll(async () => {
    await dbs?.drop()
    await server?.stop()
  })

  own.it('fails loudly, naming max_allowed_packet, instead of calling the rows equal', async () => {
    const r = await runCli(['validate', '-p', file, '--data', '--json'])
    expect(r.stdout, r.stderr).not.toBe('')
    const doc = JSON.parse(r.stdout) as {
      data: { consistent: boolean; tables: Array<{ status: string; error?: string }> }
    }
    expect(doc.data.consistent).toBe(false)
    expect(doc.data.tables[0]).toMatchObject({ status: 'error' })
    expect(doc.data.tables[0]!.error).toMatch(
      /3 (source|target) row\(s\) cannot be checksummed.*max_allowed_packet/,
    )
    expect(r.exitCode).toBe(1)
  })
})
