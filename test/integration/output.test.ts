import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, cliPath, envPipelineYaml, runCli, writeTempPipeline } from '../support/cli.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

const TIMEOUT = 180_000

function pipelineYaml(tables: string[]): string {
  return envPipelineYaml('output', tables)
}

const GOOD = [
  '  - name: customers',
  '    cursor: updated_at',
  '  - name: countries',
  '    strategy: full_refresh',
]

/** Every key of a JSON document, however deep. */
function keysOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out)
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k)
      keysOf(v, out)
    }
  }
  return out
}

/** stdout holds exactly one JSON document, every key snake_case. */
function oneDocument(r: CliResult, what: string): Record<string, unknown> {
  let doc: unknown
  expect(() => {
    doc = JSON.parse(r.stdout)
  }, `${what}: stdout is not one JSON document:\n${r.stdout}\n${r.stderr}`).not.toThrow()
  const camel = keysOf(doc).filter((k) => /[a-z][A-Z]/.test(k))
  expect(camel, what).toEqual([])
  return doc as Record<string, unknown>
}

describe('the CLI contract: --json, exit codes, usage errors', () => {
  let dbs: TestDbs
  let env: Record<string, string>
  let password: string

  beforeAll(async () => {
    dbs = await createTestDatabases()
    password = `Pw-${Math.random().toString(36).slice(2)}`
    await dbs.source.query(`
      CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), updated_at DATETIME(6) NOT NULL, INDEX (updated_at));
      CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50));
      INSERT INTO customers VALUES (1, 'a', '2024-01-01 00:00:00'), (2, 'b', '2024-01-02 00:00:00');
      INSERT INTO countries VALUES ('de', 'Germany');
    `)
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
  }, TIMEOUT)

  afterAll(async () => {
    await dbs?.drop()
  })

  it(
    'prints one snake_case JSON document on success for every command',
    async () => {
      const file = await writeTempPipeline(pipelineYaml(GOOD))
      const runs: Array<[string[], number]> = [
        [['validate', '-p', file], 0],
        [['plan', '-p', file], 0],
        [['diff-schema', '-p', file], 1], // the target has no tables yet: drift
        [['sync', '-p', file], 0],
        [['sync', '-p', file, '--verify'], 0],
        [['status', '-p', file], 0],
        [['validate', '-p', file, '--data'], 0],
        [['init', '--source', dbs.sourceUrl, '-o', join(file, '..', 'init.yaml')], 0],
      ]
      for (const [args, code] of runs) {
        const r = await runCli([...args, '--json'], { env, timeoutMs: 120_000 })
        expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(code)
        const doc = oneDocument(r, args.join(' '))
        if (args[0] === 'sync') {
          expect(doc.load_id).toBeTypeOf('string')
          const t = (doc.tables as Array<Record<string, unknown>>)[0]!
          expect(t.rows_read).toBeTypeOf('number')
          // Seconds with at most 3 decimals, never a raw float.
          expect(String(t.seconds)).toMatch(/^\d+(\.\d{1,3})?$/)
        }
      }
    },
    TIMEOUT,
  )

  it(
    'prints {error, hint, exit_code} as the one document on failure, without the password',
    async () => {
      const typo = await writeTempPipeline(pipelineYaml(['  - name: customer', '    cursor: updated_at']))
      for (const cmd of ['sync', 'plan', 'diff-schema']) {
        const r = await runCli([cmd, '-p', typo, '--json'], { env, timeoutMs: 120_000 })
        expect(r.exitCode, cmd).toBe(2)
        expect(oneDocument(r, cmd)).toEqual({
          error: expect.stringContaining('table "customer" does not exist in the source database'),
          hint: 'did you mean "customers"?',
          exit_code: 2,
        })
      }
      const bad = new URL(dbs.targetUrl)
      bad.username = 'nobody_here'
      bad.password = password
      const file = await writeTempPipeline(pipelineYaml(GOOD))
      const r = await runCli(['sync', '-p', file, '--json'], {
        env: { ...env, TARGET_DATABASE_URL: bad.toString() },
        timeoutMs: 120_000,
      })
      expect(r.exitCode).toBe(3)
      expect(oneDocument(r, 'bad password').exit_code).toBe(3)
      expect(`${r.stdout}${r.stderr}`).not.toContain(password)

      const missing = await runCli(['sync', '-p', join(typo, '..', 'nope.yaml'), '--json'], { env })
      expect(missing.exitCode).toBe(2)
      expect(oneDocument(missing, 'missing file').exit_code).toBe(2)
    },
    TIMEOUT,
  )

  it('answers a usage error with one line and "see --help", exit 2, also with --json', async () => {
    const r = await runCli(['sync', '--bogus'])
    expect(r.exitCode).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toEqual([
      "error: unknown option '--bogus'",
      '(see dbsync sync --help)',
    ])
    const j = await runCli(['plan', '--bogus', '--json'])
    expect(j.exitCode).toBe(2)
    expect(oneDocument(j, 'usage --json')).toMatchObject({ exit_code: 2 })
  })

  it('validates ports and durations with exit 2, never an internal error', async () => {
    const file = await writeTempPipeline(pipelineYaml(GOOD))
    for (const args of [
      ['sync', '-p', file, '--every', '1m', '--health-port', '99999'],
      ['sync', '-p', file, '--every', '500ms'],
      ['sync', '-p', file, '--health-port', 'abc'],
      ['sync', '-p', file, '--every', 'abc'],
    ]) {
      const r = await runCli(args, { env })
      expect(r.exitCode, args.join(' ')).toBe(2)
      expect(r.stderr).not.toContain('internal error')
      expect(r.stderr).not.toContain('Usage:')
      // --every takes whole seconds: never suggest a sub-second interval.
      expect(r.stderr).not.toContain('500ms')
    }
  })

  it('reads --env FILE itself (Node never sees it), and a missing one is exit 2', async () => {
    const file = await writeTempPipeline(pipelineYaml(GOOD))
    const r = await runCli(['--env', join(file, '..', 'nope.env'), 'validate', '--offline', '-p', file], {
      env,
    })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('cannot read env file')
  })

  it('prints the help on stderr and exits 2 when no command is given', async () => {
    const r = await runCli([])
    expect(r.exitCode).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Usage: dbsync')
  })

  it('lists exit codes, environment variables and examples in --help', async () => {
    const r = await runCli(['--help'])
    expect(r.exitCode).toBe(0)
    for (const s of ['Exit codes:', '130/143', 'DBSYNC_PIPELINE', 'SOURCE_DATABASE_URL', 'Examples:']) {
      expect(r.stdout).toContain(s)
    }
  })

  it(
    'finishes a sync on a terminal that reports 0 columns (script, docker exec -t), with bounded output',
    async () => {
      const file = await writeTempPipeline(pipelineYaml(GOOD))
      // `script` gives the CLI a pseudo-terminal; with no terminal on its own stdin, it has 0 columns.
      const command = `'${process.execPath}' '${cliPath}' sync --full-refresh -p '${file}'`
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = execFile(
          'script',
          ['-qec', command, '/dev/null'],
          { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout }),
        )
        child.stdin?.end()
      })
      expect(r.code, JSON.stringify(r.out.slice(-300))).toBe(0)
      expect(r.out).toContain('run ')
      expect(r.out.length).toBeLessThan(100_000)
    },
    TIMEOUT,
  )

  it(
    'tells a user without rights on the database so, rather than to check the password (exit 3)',
    async () => {
      const user = `u_out_${Math.random().toString(36).slice(2, 8)}`
      await dbs.target.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'Pw-grantless'`)
      try {
        const url = new URL(dbs.targetUrl)
        url.username = user
        url.password = 'Pw-grantless'
        const file = await writeTempPipeline(pipelineYaml(GOOD))
        const r = await runCli(['plan', '-p', file], { env: { ...env, TARGET_DATABASE_URL: url.toString() } })
        expect(r.exitCode, r.stderr).toBe(3)
        expect(r.stderr).toContain(`may not use database "${dbs.targetDb}"`)
        expect(r.stderr).not.toContain('check the user and password')
        expect(r.stderr).not.toContain('Pw-grantless')
      } finally {
        await dbs.target.query(`DROP USER IF EXISTS '${user}'@'%'`)
      }
    },
    TIMEOUT,
  )

  it(
    "records each table's start, a full_refresh table's phase, and a full refresh's schema changes",
    async () => {
      const file = await writeTempPipeline(pipelineYaml(GOOD))
      await dbs.source.query('ALTER TABLE countries ADD COLUMN population BIGINT NULL')
      const r = await runCli(['sync', '-p', file, '--json'], { env, timeoutMs: 120_000 })
      expect(r.exitCode, r.stderr).toBe(0)
      const doc = JSON.parse(r.stdout) as {
        load_id: string
        tables: Array<{ table: string; schema_changes: string[] }>
      }
      const countries = doc.tables.find((t) => t.table === 'countries')!
      expect(countries.schema_changes.join('; ')).toContain('population')
      const [runs] = await dbs.target.query('SELECT schema_changes_json FROM _sync_runs WHERE load_id = ?', [
        doc.load_id,
      ])
      expect((runs as Array<{ schema_changes_json: string }>)[0]!.schema_changes_json).toContain('population')
      const [states] = await dbs.target.query(
        "SELECT table_name, phase, started_at FROM _sync_state WHERE pipeline = 'output' ORDER BY table_name",
      )
      const byTable = Object.fromEntries(
        (states as Array<{ table_name: string; phase: string; started_at: string | null }>).map((s) => [
          s.table_name,
          s,
        ]),
      )
      expect(byTable.countries).toMatchObject({ phase: 'full_refresh', started_at: expect.any(String) })
      expect(byTable.customers).toMatchObject({ phase: 'incremental', started_at: expect.any(String) })
    },
    TIMEOUT,
  )

  it(
    'says that diff-schema finds a column the source dropped kept in the target, written NULL',
    async () => {
      const file = await writeTempPipeline(pipelineYaml(GOOD))
      await dbs.source.query('ALTER TABLE customers DROP COLUMN name')
      const sync = await runCli(['sync', '-p', file], { env, timeoutMs: 120_000 })
      expect(sync.exitCode, sync.stderr).toBe(0)
      const r = await runCli(['diff-schema', '-p', file], { env })
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toContain(
        'customers (incremental): no differences; the target keeps name (dropped in the source), written NULL from now on',
      )
    },
    TIMEOUT,
  )
})
