import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliPath, repoRoot, runCli, writeTempPipeline } from '../support/cli.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'
import { freePort } from '../support/server-launch.js'

// Passwords reach dbsync three ways: in a URL (here from a .env file, and written into the pipeline file
// itself), and from a password_file. None may come out again: not in stdout or stderr (logs at debug
// level, errors, --json) of a succeeding or a failing run, not in _sync_state or _sync_runs, not in
// /metrics or /status, not in the process's command line. Every spelling is looked for: as typed, and
// percent-encoded as a URL carries it.

const id = randomBytes(4).toString('hex')
// Characters that must be percent-encoded in a URL, so both spellings are in play.
const SOURCE_PASSWORD = `Src@Pw:${id}/?#%!`
const TARGET_PASSWORD = `Tgt-File-Pw-${id}`
const WRONG_PASSWORD = `Wrong-Pw-${id}`
const SOURCE_USER = `sec_r_${id}`
const TARGET_USER = `sec_w_${id}`
const SECRETS = [SOURCE_PASSWORD, TARGET_PASSWORD, WRONG_PASSWORD]

let dbs: TestDbs
let dir: string
/** The pipeline reading both URLs from .env and the target password from a file. */
let envPipeline: string

function spellings(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), encodeURI(secret)])]
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) {
    for (const spelling of spellings(secret)) {
      expect(text.includes(spelling), `${where} contains a password (${spelling})`).toBe(false)
    }
  }
}

function userUrl(serverUrl: string, user: string, password?: string, port?: number): string {
  const u = new URL(serverUrl)
  const auth = password === undefined ? user : `${user}:${encodeURIComponent(password)}`
  return `mysql://${auth}@${u.hostname}:${port ?? u.port}${u.pathname}`
}

function pipelineText(sourceUrl: string, targetUrl: string, passwordFile?: string): string {
  return [
    'version: 1',
    `name: secrets_${id}`,
    'source:',
    `  url: "${sourceUrl}"`,
    'target:',
    `  url: "${targetUrl}"`,
    ...(passwordFile ? [`  password_file: ${passwordFile}`] : []),
    'retry: { attempts: 1 }',
    'tables:',
    '  - name: items',
    '    cursor: updated_at',
  ].join('\n')
}

beforeAll(async () => {
  dbs = await createTestDatabases()
  await dbs.source.query(
    'CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)',
  )
  await dbs.source.query(
    "INSERT INTO items SELECT seq, CONCAT('v', seq), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_50",
  )
  await dbs.source.query("CREATE USER ?@'%' IDENTIFIED BY ?", [SOURCE_USER, SOURCE_PASSWORD])
  await dbs.source.query(`GRANT SELECT ON \`${dbs.sourceDb}\`.* TO ?@'%'`, [SOURCE_USER])
  await dbs.target.query("CREATE USER ?@'%' IDENTIFIED BY ?", [TARGET_USER, TARGET_PASSWORD])
  await dbs.target.query(`GRANT ALL ON \`${dbs.targetDb}\`.* TO ?@'%'`, [TARGET_USER])

  // Variable references, for dbsync to expand (not template strings).
  const ref = (name: string) => `\${${name}}`
  envPipeline = await writeTempPipeline(
    pipelineText(ref('SOURCE_DATABASE_URL'), ref('TARGET_DATABASE_URL'), './target-password'),
  )
  dir = dirname(envPipeline)
  await writeFile(
    join(dir, '.env'),
    `SOURCE_DATABASE_URL=${userUrl(dbs.sourceUrl, SOURCE_USER, SOURCE_PASSWORD)}\n` +
      `TARGET_DATABASE_URL=${userUrl(dbs.targetUrl, TARGET_USER)}\n`,
  )
  await writeFile(join(dir, 'target-password'), `${TARGET_PASSWORD}\n`)
  await writeFile(join(dir, 'wrong-password'), `${WRONG_PASSWORD}\n`)
})

afterAll(async () => {
  await dbs?.source.query("DROP USER IF EXISTS ?@'%'", [SOURCE_USER])
  await dbs?.target.query("DROP USER IF EXISTS ?@'%'", [TARGET_USER])
  await dbs?.drop()
})

/** Whether a /status document shows a finished run. */
function finished(status: string): boolean {
  try {
    return (JSON.parse(status) as { last_run: unknown }).last_run !== null
  } catch {
    return false
  }
}

/** Runs the CLI at debug level (the most it ever says) and checks both streams for every secret. */
async function run(args: string[], expected: number) {
  const res = await runCli(['--log-level', 'debug', ...args])
  expect(res.exitCode, res.stderr + res.stdout).toBe(expected)
  expectNoSecret(`stdout of dbsync ${args.join(' ')}`, res.stdout)
  expectNoSecret(`stderr of dbsync ${args.join(' ')}`, res.stderr)
  return res
}

describe('secrets', () => {
  it('never prints a password in a succeeding run, whatever the command and format', async () => {
    await run(['validate', '-p', envPipeline], 0)
    await run(['plan', '-p', envPipeline, '--json'], 0)
    await run(['sync', '-p', envPipeline, '--json'], 0)
    await run(['sync', '-p', envPipeline, '--log-format', 'pretty'], 0)
    await run(['diff-schema', '-p', envPipeline, '--sql'], 0)
    await run(['validate', '-p', envPipeline, '--data', '--json'], 0)
    // The password written into the pipeline file itself.
    const literal = await writeTempPipeline(
      pipelineText(
        userUrl(dbs.sourceUrl, SOURCE_USER, SOURCE_PASSWORD),
        userUrl(dbs.targetUrl, TARGET_USER, TARGET_PASSWORD),
      ),
    )
    await run(['sync', '-p', literal, '--verify'], 0)
    // init writes variable references, never the URL it was given.
    const initFile = join(dir, 'init.yaml')
    await run(['init', '--env', join(dir, '.env'), '-o', initFile], 0)
    expectNoSecret('the file init wrote', await readFile(initFile, 'utf8'))
  })

  it('never prints a password when the login fails, the server is unreachable or the file is invalid', async () => {
    const wrong = await writeTempPipeline(
      pipelineText(
        userUrl(dbs.sourceUrl, SOURCE_USER, SOURCE_PASSWORD),
        userUrl(dbs.targetUrl, TARGET_USER),
        join(dir, 'wrong-password'),
      ),
    )
    let res = await run(['sync', '-p', wrong], 3)
    expect(res.stderr).toMatch(/target .*access denied/)
    res = await run(['sync', '-p', wrong, '--json'], 3)

    const closedPort = await freePort()
    const unreachable = await writeTempPipeline(
      pipelineText(
        userUrl(dbs.sourceUrl, SOURCE_USER, SOURCE_PASSWORD, closedPort),
        userUrl(dbs.targetUrl, TARGET_USER, TARGET_PASSWORD),
      ),
    )
    res = await run(['sync', '-p', unreachable], 3)
    expect(res.stderr).toMatch(/source 127\.0\.0\.1:\d+: connection refused/)
    await run(['validate', '-p', unreachable, '--json'], 3)
    await run(['plan', '-p', unreachable], 3)

    // Configuration errors quote the file, but not a URL's password.
    const badPort = await writeTempPipeline(
      pipelineText(
        `mysql://${SOURCE_USER}:${encodeURIComponent(SOURCE_PASSWORD)}@127.0.0.1:99999/db`,
        userUrl(dbs.targetUrl, TARGET_USER, TARGET_PASSWORD),
      ),
    )
    res = await run(['sync', '-p', badPort], 2)
    expect(res.stderr).toMatch(/port "99999"/)
    const unknownKey = await writeTempPipeline(
      `${pipelineText(userUrl(dbs.sourceUrl, SOURCE_USER, SOURCE_PASSWORD), userUrl(dbs.targetUrl, TARGET_USER, TARGET_PASSWORD))}\nsoruce_url: "mysql://x:${SOURCE_PASSWORD}@h/d"\n`,
    )
    await run(['validate', '-p', unknownKey, '--offline'], 2)
  })

  it('keeps passwords out of _sync_state, _sync_runs, /metrics, /status and the command line', async () => {
    // A scheduled run, so the process stays up to be looked at: the URLs come from the environment.
    const port = await freePort()
    const child = spawn(
      process.execPath,
      [
        cliPath,
        '--log-format',
        'json',
        'sync',
        '-p',
        envPipeline,
        '--every',
        '1h',
        '--health-port',
        String(port),
      ],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          SOURCE_DATABASE_URL: userUrl(dbs.sourceUrl, SOURCE_USER, SOURCE_PASSWORD),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString('utf8')
    })
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString('utf8')
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const url = (path: string) => `http://127.0.0.1:${port}${path}`
      const deadline = Date.now() + 30_000
      let status = ''
      while (Date.now() < deadline) {
        status = await fetch(url('/status'))
          .then((r) => r.text())
          .catch(() => '')
        if (finished(status)) break
        await sleep(200)
      }
      expect(finished(status), output).toBe(true)
      expectNoSecret('/status', status)
      expectNoSecret('/metrics', await (await fetch(url('/metrics'))).text())
      expectNoSecret('/readyz', await (await fetch(url('/readyz'))).text())
      // argv and the process title, as ps shows them.
      const cmdline = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      expect(cmdline).toContain('sync')
      expectNoSecret('/proc/<pid>/cmdline', cmdline)
    } finally {
      child.kill('SIGTERM')
      await exited
    }
    expectNoSecret('the scheduled run output', output)

    const [state] = await dbs.target.query('SELECT * FROM _sync_state')
    const [runs] = await dbs.target.query('SELECT * FROM _sync_runs')
    expect((runs as unknown[]).length).toBeGreaterThan(0)
    expectNoSecret('_sync_state', JSON.stringify(state))
    expectNoSecret('_sync_runs', JSON.stringify(runs))
  })
})
