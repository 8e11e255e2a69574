import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { cliPath, repoRoot, writeTempPipeline } from './cli.js'
import { pipelineYaml } from './compare.js'
import { createTestDatabases, type TestDbs } from './db.js'
import { waitFor } from './wait.js'

export { waitFor }

// Long-running `dbsync sync --every ...` processes for the scheduler tests, and the HTTP and Prometheus
// helpers to talk to them.

export interface Daemon {
  child: ChildProcess
  stderr: () => string
  events: () => Array<Record<string, unknown>>
  exit: Promise<number>
}

/** Every daemon started; a test file's afterEach kills the ones still alive. */
export const daemons: Daemon[] = []

/** Spawns `dbsync --log-format json <args>` and keeps its stderr; killed after each test if still alive. */
export function startDaemon(args: string[], env: Record<string, string> = {}): Daemon {
  const child = spawn(process.execPath, [cliPath, '--log-format', 'json', ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString('utf8')
  })
  const exit = new Promise<number>((resolve) => {
    child.once('exit', (code, sig) =>
      resolve(code ?? (sig === 'SIGTERM' ? 143 : sig === 'SIGINT' ? 130 : 137)),
    )
  })
  const events = () =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  const d = { child, stderr: () => err, events, exit }
  daemons.push(d)
  return d
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

export async function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' }
}

/** Prometheus text -> samples, labels without the default pipeline label. */
export function samples(
  text: string,
  name: string,
): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = []
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!
    out.push({ labels, value: Number(m[3]) })
  }
  return out
}

/** The value of the first sample of `name` whose labels include `want`. */
export function sample(text: string, name: string, want: Record<string, string> = {}): number | undefined {
  return samples(text, name).find((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v))?.value
}

export interface ScheduleFixture {
  dbs(): TestDbs
  /** A pipeline file whose URLs log in with the fixture's password; cursor updated_at by default. */
  pipeline(name: string, tables: string, extra?: string, sourcePort?: number): Promise<string>
  rowCount(table: string): Promise<number>
  expectNoPassword(...texts: string[]): void
}

/**
 * Test databases plus a user with a password on both servers, so every scheduler test can check the
 * password never reaches a log line, a metric or a webhook. Registers the hooks of the calling describe():
 * setup, killing leftover daemons (printing their stderr when the test failed), teardown.
 */
export function useScheduleFixture(): ScheduleFixture {
  const password = `Pw-${randomBytes(6).toString('hex')}-Zq`
  const user = `dbsync_s_${randomBytes(3).toString('hex')}`
  let dbs: TestDbs | undefined
  const withUser = (url: string, port?: number) => {
    const u = new URL(url)
    u.username = user
    u.password = password
    if (port !== undefined) u.port = String(port)
    return u.toString()
  }
  beforeAll(async () => {
    dbs = await createTestDatabases()
    for (const [conn, db] of [
      [dbs.source, dbs.sourceDb],
      [dbs.target, dbs.targetDb],
    ] as const) {
      // The same server may serve both sides (external servers): IF NOT EXISTS covers that.
      await conn.query(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${password}'`)
      await conn.query(`GRANT ALL ON \`${db}\`.* TO '${user}'@'%'`)
      await conn.query(`GRANT PROCESS ON *.* TO '${user}'@'%'`)
    }
  })
  afterEach(async (ctx) => {
    for (const d of daemons.splice(0)) {
      if (d.child.exitCode === null) d.child.kill('SIGKILL')
      // The daemon's own words are the fastest way to see why a test failed.
      if (ctx.task.result?.state === 'fail') console.error(d.stderr().slice(-6000))
    }
  })
  afterAll(async () => {
    await dbs?.source.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined)
    await dbs?.target.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined)
    await dbs?.drop()
  })
  const current = () => {
    if (!dbs) throw new Error('useScheduleFixture: the databases are not ready yet')
    return dbs
  }
  return {
    dbs: current,
    pipeline: (name, tables, extra = '', sourcePort) =>
      writeTempPipeline(
        pipelineYaml({
          name,
          sourceUrl: withUser(current().sourceUrl, sourcePort),
          targetUrl: withUser(current().targetUrl),
          tables,
          defaults: '  cursor: updated_at\n',
          extra,
        }),
      ),
    async rowCount(table) {
      const [r] = await current().target.query(`SELECT COUNT(*) AS n FROM \`${table}\``)
      return Number((r as Array<{ n: string }>)[0]?.n)
    },
    expectNoPassword(...texts) {
      for (const t of texts) expect(t).not.toContain(password)
    },
  }
}
