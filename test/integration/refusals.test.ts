import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, envPipelineYaml, runCli, writeTempPipeline } from '../support/cli.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'
import { startProxy, type TcpProxy } from '../support/proxy.js'

const TIMEOUT = 180_000

function pipelineYaml(tables: string[], name = 'refusals'): string {
  return envPipelineYaml(name, tables)
}

/** Tables in a database, as the server lists them. */
async function tablesIn(conn: TestDbs['source']): Promise<string[]> {
  const [rows] = await conn.query('SHOW TABLES')
  return (rows as Array<Record<string, string>>).map((r) => Object.values(r)[0] as string).sort()
}

function output(r: CliResult): string {
  return `${r.stdout}\n${r.stderr}`
}

describe('refusing what would damage data or skip a table', () => {
  let dbs: TestDbs
  let proxy: TcpProxy

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await dbs.source.query(`
      CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), updated_at DATETIME NOT NULL, INDEX (updated_at));
      CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50));
      INSERT INTO customers VALUES (1, 'a', '2024-01-01 00:00:00');
      INSERT INTO countries VALUES ('de', 'Germany');
      CREATE VIEW active_customers AS SELECT * FROM customers;
    `)
    const url = new URL(dbs.sourceUrl)
    // Another address for the very same server: the URLs differ, the database is the same.
    proxy = await startProxy({ targetHost: url.hostname, targetPort: Number(url.port) })
  }, TIMEOUT)

  afterAll(async () => {
    await proxy?.close()
    await dbs?.drop()
  })

  async function cli(args: string[], tables: string[], env: Record<string, string>) {
    const file = await writeTempPipeline(pipelineYaml(tables))
    return runCli([...args, '-p', file], { env, timeoutMs: 120_000 })
  }

  it(
    'refuses a source and target that are the same database, whatever the URLs say (exit 2, nothing written)',
    async () => {
      const tables = [
        '  - name: customers',
        '    cursor: updated_at',
        '  - name: countries',
        '    strategy: full_refresh',
      ]
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: proxy.url(dbs.sourceUrl) }
      for (const args of [['sync'], ['plan'], ['diff-schema'], ['validate'], ['sync', '--full-refresh']]) {
        const r = await cli(args, tables, env)
        expect(r.exitCode, `${args.join(' ')}: ${output(r)}`).toBe(2)
        expect(r.stderr).toContain('source and target are the same database')
      }
      // Nothing written to the source: no state tables, no _dlt_ columns on the full-refresh table.
      expect(await tablesIn(dbs.source)).toEqual(['active_customers', 'countries', 'customers'])
      const [cols] = await dbs.source.query('SHOW COLUMNS FROM countries')
      expect((cols as Array<{ Field: string }>).map((c) => c.Field)).toEqual(['code', 'name'])
    },
    TIMEOUT,
  )

  it(
    'refuses a misspelt table in sync, plan, diff-schema and validate alike, with a suggestion (exit 2)',
    async () => {
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
      const tables = [
        '  - name: customer',
        '    cursor: updated_at',
        '  - name: countries',
        '    strategy: full_refresh',
      ]
      for (const cmd of ['sync', 'plan', 'diff-schema', 'validate']) {
        const r = await cli([cmd], tables, env)
        expect(r.exitCode, `${cmd}: ${output(r)}`).toBe(2)
        expect(r.stderr, cmd).toContain('table "customer" does not exist in the source database')
        expect(r.stderr, cmd).toContain('did you mean "customers"?')
        expect(r.stderr, cmd).toMatch(/pipeline\.yaml:8:/)
      }
      // The sync refused before writing: not even the correctly named table was copied.
      expect(await tablesIn(dbs.target)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'refuses a view named as a table (exit 2)',
    async () => {
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
      const tables = ['  - name: active_customers', '    strategy: full_refresh']
      for (const cmd of ['sync', 'plan', 'validate']) {
        const r = await cli([cmd], tables, env)
        expect(r.exitCode, `${cmd}: ${output(r)}`).toBe(2)
        expect(r.stderr, cmd).toContain('"active_customers" is a view in the source database')
      }
      expect(await tablesIn(dbs.target)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'refuses a missing cursor column in sync and plan (exit 2, did-you-mean, no index warning)',
    async () => {
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
      const tables = ['  - name: customers', '    cursor: update_at']
      for (const cmd of ['sync', 'plan', 'diff-schema']) {
        const r = await cli([cmd], tables, env)
        expect(r.exitCode, `${cmd}: ${output(r)}`).toBe(2)
        expect(r.stderr, cmd).toContain('cursor column "update_at" does not exist')
        expect(r.stderr, cmd).toContain('did you mean "updated_at"?')
        expect(output(r), cmd).not.toContain('no index')
      }
      expect(await tablesIn(dbs.target)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    "warns when the target's _sync_state tracks the same table for another pipeline",
    async () => {
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
      const tables = ['  - name: countries', '    strategy: full_refresh']
      const first = await runCli(['sync', '-p', await writeTempPipeline(pipelineYaml(tables))], { env })
      expect(first.exitCode, output(first)).toBe(0)
      const other = await writeTempPipeline(pipelineYaml(tables, 'other'))
      const plan = await runCli(['plan', '-p', other, '--json'], { env })
      expect(plan.exitCode, output(plan)).toBe(0)
      const doc = JSON.parse(plan.stdout) as { tables: Array<{ table: string; warnings: string[] }> }
      expect(doc.tables[0]!.warnings.join('\n')).toContain(
        `the target's _sync_state also tracks this table for pipeline "refusals"`,
      )
      const sync = await runCli(['sync', '-p', other, '--json'], { env })
      expect(sync.exitCode, output(sync)).toBe(0)
      expect(sync.stderr).toContain('also tracks this table for pipeline')
    },
    TIMEOUT,
  )
})
