import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, envPipelineYaml, runCli, writeTempPipeline } from '../support/cli.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

/** A pipeline file around `tables` (YAML lines under `tables:`), with the URLs from the environment. */
function pipelineYaml(tables: string, extra = ''): string {
  return envPipelineYaml('vt', [tables], [extra])
}

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle))
  if (index === -1) throw new Error(`${needle} not in the pipeline text`)
  return index + 1
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('dbsync validate', () => {
  let dbs: TestDbs
  let env: Record<string, string>

  async function validate(yaml: string, args: string[] = [], extraEnv: Record<string, string> = {}) {
    const file = await writeTempPipeline(yaml)
    const result = await runCli(['validate', '-p', file, ...args], { env: { ...env, ...extraEnv } })
    return { ...result, file }
  }

  function output(r: CliResult): string {
    return `${r.stdout}\n${r.stderr}`
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
    await dbs.source.query(`
      CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), updated_at DATETIME NOT NULL, INDEX (updated_at));
      CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, updated_at TIMESTAMP(3) NOT NULL,
                           INDEX ix_upd (updated_at, id));
      CREATE TABLE logs (msg TEXT, created_at DATETIME NOT NULL, INDEX (created_at));
      CREATE TABLE events (id INT PRIMARY KEY, created_at DATETIME NOT NULL);
      CREATE TABLE notes (id INT PRIMARY KEY, updated_at DATETIME NULL, INDEX (updated_at));
      CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50));
    `)
  })

  afterAll(async () => {
    await dbs?.drop()
  })

  it('accepts a pipeline whose tables and columns exist, listing each table', async () => {
    const r = await validate(
      pipelineYaml(
        [
          '  - name: customers',
          '    cursor: updated_at',
          '  - name: orders',
          '    cursor: updated_at',
          '  - name: countries',
        ].join('\n'),
      ),
    )
    expect(r.stderr).not.toContain('error')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/^ok\s+customers\s+incremental\s+cursor=updated_at key=id$/m)
    expect(r.stdout).toMatch(/^ok\s+orders\s+incremental\s+cursor=updated_at key=id$/m)
    expect(r.stdout).toMatch(/^ok\s+countries\s+full_refresh\s+key=code$/m)
    expect(r.stdout).toContain('pipeline vt: valid (3 tables)')
  })

  it('rejects a table the source does not have, naming it and its line', async () => {
    const yaml = pipelineYaml('  - name: customers\n  - name: ordrs\n    cursor: updated_at')
    const r = await validate(yaml)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain(`pipeline.yaml:${lineOf(yaml, 'ordrs')}: table "ordrs" does not exist`)
    expect(r.stderr).toContain('did you mean "orders"?')
    expect(r.stderr).toContain('pipeline vt: invalid')
  })

  it('rejects a cursor column the table does not have, naming the column', async () => {
    const yaml = pipelineYaml('  - name: orders\n    cursor: updatd_at')
    const r = await validate(yaml)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain(
      `pipeline.yaml:${lineOf(yaml, 'name: orders')}: table "orders": cursor column "updatd_at" does not exist`,
    )
    expect(r.stderr).toMatch(/^error\s+orders/m)
  })

  it('rejects a primary_key column the table does not have', async () => {
    const r = await validate(pipelineYaml('  - name: logs\n    primary_key: [msg_id]'))
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('table "logs": primary_key column "msg_id" does not exist')
  })

  it('rejects an incremental table without a primary key in the source or the file', async () => {
    const yaml = pipelineYaml('  - name: logs\n    cursor: created_at')
    const r = await validate(yaml)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain(`pipeline.yaml:${lineOf(yaml, 'name: logs')}: table "logs": incremental sync`)
    expect(r.stderr).toContain('primary key')
  })

  it('rejects an incremental entry without a cursor, offline too', async () => {
    const yaml = pipelineYaml('  - name: events\n    strategy: incremental')
    const online = await validate(yaml)
    expect(online.exitCode).toBe(2)
    expect(online.stderr).toContain('needs a cursor column')
    const offline = await validate(yaml, ['--offline'])
    expect(offline.exitCode).toBe(2)
    expect(offline.stderr).toContain('needs a cursor column')
  })

  it('accepts an incremental table without a source key when the file names one', async () => {
    const r = await validate(pipelineYaml('  - name: logs\n    cursor: created_at\n    primary_key: [msg]'))
    expect(output(r)).not.toContain('error:')
    expect(r.exitCode).toBe(0)
  })

  it('warns about a cursor without an index, and still exits 0', async () => {
    const yaml = pipelineYaml('  - name: events\n    cursor: created_at')
    const r = await validate(yaml)
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(
      `warning: ${r.file}:${lineOf(yaml, 'name: events')}: table "events": cursor column "created_at" has no index`,
    )
    expect(r.stdout).toContain('each run scans the whole table')
    expect(r.stdout).toMatch(/^warn\s+events/m)
    expect(r.stdout).toContain('pipeline vt: valid (1 table, 1 warning)')
  })

  it('warns about a nullable cursor and a shadowed entry', async () => {
    const yaml = pipelineYaml(
      ['  - name: "*"', '    cursor: updated_at', '  - name: notes', '    strategy: full_refresh'].join('\n'),
    )
    const r = await validate(yaml, ['--tables', 'notes,customers'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('rows with NULL cursor are re-read on every run')
    expect(r.stdout).toContain(
      `${r.file}:${lineOf(yaml, 'name: notes')}: table "notes" is already selected by the entry on line ${lineOf(yaml, '"*"')}`,
    )
  })

  it('applies --tables to the tables it checks', async () => {
    const yaml = pipelineYaml('  - name: "*"\n    cursor: updated_at')
    const all = await validate(yaml)
    expect(all.exitCode).toBe(2) // logs, events and countries have no updated_at
    const some = await validate(yaml, ['--tables', 'customers,orders'])
    expect(some.exitCode).toBe(0)
    expect(some.stdout).toContain('(2 tables)')
  })

  it('prints exactly one JSON document with --json', async () => {
    const yaml = pipelineYaml('  - name: customers\n    cursor: updated_at\n  - name: nope')
    const r = await validate(yaml, ['--json'])
    expect(r.exitCode).toBe(2)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({
      pipeline: 'vt',
      valid: false,
      offline: false,
      tables: [{ name: 'customers', strategy: 'incremental', cursor: ['updated_at'], primary_key: ['id'] }],
      errors: [{ table: 'nope', line: lineOf(yaml, 'nope') }],
      warnings: [],
    })
    expect(doc.errors[0].message).toContain('"nope" does not exist')

    const ok = await validate(pipelineYaml('  - name: countries'), ['--json'])
    expect(ok.exitCode).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, errors: [], warnings: [] })
  })

  it('checks only the file with --offline, without reaching any server', async () => {
    const port = await closedPort()
    const offEnv = {
      SOURCE_DATABASE_URL: `mysql://root@127.0.0.1:${port}/nowhere`,
      TARGET_DATABASE_URL: `mysql://root@127.0.0.1:${port}/nowhere`,
    }
    const yaml = pipelineYaml('  - name: customers\n    cursor: updated_at\n  - name: "*"')
    const r = await validate(yaml, ['--offline'], offEnv)
    expect(r.exitCode).toBe(0)
    expect(r.stdout.trim()).toBe('pipeline vt: valid (offline: 2 table selectors)')

    const json = await validate(yaml, ['--offline', '--json'], offEnv)
    expect(json.exitCode).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ pipeline: 'vt', valid: true, offline: true })
  })

  it('reports file problems with exit 2, offline or not', async () => {
    const r = await validate(pipelineYaml('  - name: customers\n    cursr: updated_at'), ['--offline'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('did you mean "cursor"?')
    expect(r.stdout).toBe('')

    const unset = await validate(pipelineYaml('  - name: customers'), [], { TARGET_DATABASE_URL: '' })
    expect(unset.exitCode).toBe(2)
  })

  it('exits 3 when a server cannot be reached', async () => {
    const port = await closedPort()
    const r = await validate(pipelineYaml('  - name: customers'), [], {
      TARGET_DATABASE_URL: `mysql://root@127.0.0.1:${port}/nowhere`,
    })
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toContain(`target 127.0.0.1:${port}: connection refused`)
    expect(r.stdout).toBe('')
  })

  it('exits 3 on a wrong password and never prints the password', async () => {
    const user = `u_x_${randomBytes(3).toString('hex')}`
    const realPassword = 'S3cr3t-p4ss'
    const wrongPassword = 'Wr0ng-S3cr3t-p4ss'
    await dbs.source.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${realPassword}'`)
    try {
      const url = new URL(dbs.sourceUrl)
      url.username = user
      url.password = wrongPassword
      for (const args of [[], ['--json']]) {
        const r = await validate(pipelineYaml('  - name: customers'), args, {
          SOURCE_DATABASE_URL: url.toString(),
        })
        expect(r.exitCode).toBe(3)
        expect(r.stderr).toContain('access denied')
        expect(output(r)).not.toContain(wrongPassword)
        expect(output(r)).not.toContain(realPassword)
      }
    } finally {
      await dbs.source.query(`DROP USER IF EXISTS '${user}'@'%'`)
    }
  })

  it('refuses --data together with --offline with exit 2', async () => {
    const r = await validate(pipelineYaml('  - name: customers'), ['--data', '--offline'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('--offline')
    expect(r.stdout).toBe('')
  })
})
