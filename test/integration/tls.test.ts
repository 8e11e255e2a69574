import type mysql from 'mysql2/promise'
import { afterAll, beforeAll, expect, inject, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows } from '../support/compare.js'
import { openConnection, type TestDbs } from '../support/db.js'
import { EXTERNAL_SERVERS, ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startProxy, type TcpProxy } from '../support/proxy.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'
import { generateCerts, type TestCerts } from '../support/tls.js'
import { quoteIdent } from '../support/urls.js'

// A server of this file's own, started with a CA and a certificate made here with openssl. Its users
// REQUIRE SSL (source) and REQUIRE SUBJECT of the client certificate (target), so a sync that succeeds
// proves the connection was encrypted and, for the target, that the client certificate was presented.

let certs: TestCerts
let server: ThrowawayServer
let dbs: TestDbs
let root: mysql.Connection
const proxies: TcpProxy[] = []
const SOURCE_USER = 'tls_reader'
const TARGET_USER = 'tls_x509'
const PASSWORD = 'tls-Pass-1'

const own = ownServer('a server of its own, started with a CA and certificates the test makes')

beforeAll(async () => {
  if (EXTERNAL_SERVERS) return
  certs = await generateCerts(inject('tempDir'))
  server = await startServer({
    name: 'tls',
    extraArgs: [`--ssl-ca=${certs.ca}`, `--ssl-cert=${certs.serverCert}`, `--ssl-key=${certs.serverKey}`],
  })
  dbs = await createDatabasesOn(server.url, server.url)
  root = dbs.source
  await root.query(
    `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50) CHARACTER SET utf8mb4, updated_at DATETIME(6) NOT NULL)`,
  )
  await root.query(
    `INSERT INTO t VALUES (1, 'plain', '2024-01-01 00:00:01'), (2, 'ünïcødé ✓', '2024-01-01 00:00:02'), (3, NULL, '2024-01-01 00:00:03')`,
  )
  await root.query(`CREATE USER ${SOURCE_USER}@'%' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL`)
  await root.query(`GRANT SELECT, PROCESS ON *.* TO ${SOURCE_USER}@'%'`)
  await root.query(
    `CREATE USER ${TARGET_USER}@'%' IDENTIFIED BY '${PASSWORD}' REQUIRE SUBJECT '${certs.clientSubject}'`,
  )
  await root.query(`GRANT ALL ON ${quoteIdent(dbs.targetDb)}.* TO ${TARGET_USER}@'%'`)
}, 240_000)

afterAll(async () => {
  for (const p of proxies) await p.close()
  await dbs?.drop()
  await server?.stop()
})

/** A server URL of the test database with `user`, on `host:port` (the server's by default). */
function url(db: string, user: string, query = '', hostPort = `${server.host}:${server.port}`): string {
  return `mysql://${user}:${PASSWORD}@${hostPort}/${db}${query ? `?${query}` : ''}`
}

/** A pipeline: the source TLS settings in its URL, the target's in an `ssl:` block with the client cert. */
async function pipeline(opts: { name: string; sourceUrl: string; targetMode?: string }): Promise<string> {
  return writeTempPipeline(
    [
      'version: 1',
      `name: ${opts.name}`,
      'source:',
      `  url: "${opts.sourceUrl}"`,
      'target:',
      `  url: "${url(dbs.targetDb, TARGET_USER)}"`,
      '  ssl:',
      `    mode: ${opts.targetMode ?? 'verify-identity'}`,
      `    ca: ${certs.ca}`,
      `    cert: ${certs.clientCert}`,
      `    key: ${certs.clientKey}`,
      'retry: { attempts: 1 }',
      'tables:',
      '  - name: t',
      '    cursor: updated_at',
    ].join('\n'),
  )
}

async function sslAccepts(): Promise<number> {
  const [rows] = await root.query("SHOW GLOBAL STATUS LIKE 'Ssl_accepts'")
  return Number((rows as Array<{ Value: string }>)[0]?.Value ?? 0)
}

own.describe('TLS', () => {
  for (const mode of ['required', 'verify-ca', 'verify-identity'] as const) {
    it(`syncs with ssl-mode ${mode} on both sides, the target authenticated by a client certificate`, async () => {
      const before = await sslAccepts()
      const query =
        mode === 'required' ? 'ssl-mode=REQUIRED' : `ssl-mode=${mode.toUpperCase()}&ssl-ca=${certs.ca}`
      const file = await pipeline({
        name: `tls_${mode.replace('-', '_')}`,
        sourceUrl: url(dbs.sourceDb, SOURCE_USER, query),
        targetMode: mode,
      })
      const res = await runCli(['sync', '-p', file, '--json'])
      expect(res.exitCode, res.stderr).toBe(0)
      expect(JSON.parse(res.stdout).status).toBe('ok')
      const { source, target } = await expectSameRows(dbs.source, dbs.target, 't', ['id'])
      expect(target).toEqual(source)
      expect(await sslAccepts()).toBeGreaterThan(before)
    })
  }

  it('refuses a server certificate signed by another CA, with exit 3 and the reason', async () => {
    const file = await pipeline({
      name: 'tls_wrong_ca',
      sourceUrl: url(dbs.sourceDb, SOURCE_USER, `ssl-mode=VERIFY_CA&ssl-ca=${certs.otherCa}`),
    })
    const res = await runCli(['sync', '-p', file])
    expect(res.exitCode, res.stderr).toBe(3)
    expect(res.stderr).toMatch(/source 127\.0\.0\.1:\d+: TLS handshake failed/)
    expect(res.stderr).toMatch(/certificate/i)
    expect(res.stderr).toMatch(/hint: .*CA/)
  })

  it('refuses verify-identity when the host name is not in the certificate, with exit 3', async () => {
    // 127.0.0.2 reaches the server (through a proxy: it listens on 127.0.0.1 only) but is not in the cert.
    const proxy = await startProxy({
      targetHost: server.host,
      targetPort: server.port,
      listenHost: '127.0.0.2',
    })
    proxies.push(proxy)
    const hostPort = `127.0.0.2:${proxy.port}`
    const file = await pipeline({
      name: 'tls_wrong_host',
      sourceUrl: url(dbs.sourceDb, SOURCE_USER, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${certs.ca}`, hostPort),
    })
    const res = await runCli(['sync', '-p', file])
    expect(res.exitCode, res.stderr).toBe(3)
    expect(res.stderr).toMatch(/source 127\.0\.0\.2:\d+: TLS handshake failed/)
    expect(res.stderr).toMatch(/127\.0\.0\.2.*(not in the cert|altnames)|altnames.*127\.0\.0\.2/i)

    // The same chain without the name check is accepted: it was the name that failed.
    const caOnly = await pipeline({
      name: 'tls_wrong_host_ca_only',
      sourceUrl: url(dbs.sourceDb, SOURCE_USER, `ssl-mode=VERIFY_CA&ssl-ca=${certs.ca}`, hostPort),
    })
    const ok = await runCli(['sync', '-p', caOnly])
    expect(ok.exitCode, ok.stderr).toBe(0)
  })

  it('gets exit 3 from a server with require_secure_transport=ON for a plain connection', async () => {
    // Set at run time rather than with --require-secure-transport=ON: the test helpers' startup check
    // connects without TLS. This connection stays open, so teardown still works.
    await root.query('SET GLOBAL require_secure_transport = ON')
    const rootUrl = (query: string) => `mysql://root@${server.host}:${server.port}/${dbs.sourceDb}?${query}`
    const plain = await pipeline({ name: 'tls_plain', sourceUrl: rootUrl('ssl-mode=DISABLED') })
    const res = await runCli(['sync', '-p', plain])
    expect(res.exitCode, res.stderr).toBe(3)
    // MariaDB answers a plain login with "access denied" (not ER_SECURE_TRANSPORT_REQUIRED); the hint
    // points at TLS since the login was unencrypted.
    expect(res.stderr).toMatch(/error: source 127\.0\.0\.1:\d+: access denied/)
    expect(res.stderr).toMatch(/hint: .*require_secure_transport.*ssl-mode=REQUIRED/)

    const encrypted = await pipeline({ name: 'tls_plain', sourceUrl: rootUrl('ssl-mode=REQUIRED') })
    const ok = await runCli(['sync', '-p', encrypted])
    expect(ok.exitCode, ok.stderr).toBe(0)
    // Plain connections are refused for real, not just by dbsync.
    await expect(openConnection(`mysql://root@${server.host}:${server.port}/`)).rejects.toThrow(/denied/i)
  })
})
