import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliPath, repoRoot, runCli, writeTempPipeline } from '../support/cli.js'
import { createTestDatabases, seedItems, type TestDbs } from '../support/db.js'
import { startProxy, type TcpProxy } from '../support/proxy.js'

// Every command ends its process by itself once its work is done: nothing it opened (pools, sockets,
// timers, the health server, stdin) holds the event loop, and no watchdog forces the exit. A command that
// leaked a handle would hang here until the hang guard kills it, and the test fails on that, not on time.

const TIMEOUT = 240_000
/** Not a wait: a process still alive this long after it was started is hung; the test fails. */
const HANG_GUARD_MS = 120_000

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Spawn the CLI; `until` is polled while it runs and, once true, the process is sent `signal`. */
function spawnCli(
  args: string[],
  env: Record<string, string>,
  stop?: { until: (stderr: string) => boolean; signal: NodeJS.Signals },
): Promise<Exit & { signalled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, '--log-format', 'json', ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8')
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8')
    })
    let signalled = false
    const poll = setInterval(() => {
      if (!stop || signalled || !stop.until(stderr)) return
      signalled = true
      child.kill(stop.signal)
    }, 20)
    let hung = false
    const guard = setTimeout(() => {
      hung = true
      child.kill('SIGKILL')
    }, HANG_GUARD_MS)
    child.once('error', reject)
    // 'exit', not 'close': the process itself must end; a grandchild holding the pipes is not the question.
    child.once('exit', (code, signal) => {
      clearTimeout(guard)
      clearInterval(poll)
      setImmediate(() => {
        if (hung) reject(new Error(`dbsync ${args.join(' ')} did not exit by itself\nstderr:\n${stderr}`))
        else resolve({ code, signal, stdout, stderr, signalled })
      })
    })
    child.stdin.on('error', () => {})
    // stdin stays open, as under cron or a terminal: a command must not wait for it, nor be held by it.
  })
}

describe('every command exits on its own', () => {
  let dbs: TestDbs
  let proxy: TcpProxy
  let env: Record<string, string>
  let file: string

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await seedItems(dbs.source, 12)
    const url = new URL(dbs.sourceUrl)
    proxy = await startProxy({ targetHost: url.hostname, targetPort: Number(url.port) })
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
    file = await writeTempPipeline(
      [
        'version: 1',
        'name: exits',
        'source:',
        `  url: \${SOURCE_DATABASE_URL}`,
        'target:',
        `  url: \${TARGET_DATABASE_URL}`,
        'tables:',
        '  - name: items',
        '    cursor: updated_at',
        '',
      ].join('\n'),
    )
  }, TIMEOUT)

  afterAll(async () => {
    await proxy?.close()
    await dbs?.drop()
  })

  it(
    'init, plan, sync, diff-schema, validate, validate --data and status each end the process',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'dbsync-exits-'))
      const commands: Array<[string[], number]> = [
        [['init', '--source', dbs.sourceUrl, '-o', join(dir, 'init.yaml')], 0],
        [['plan', '-p', file], 0],
        [['sync', '-p', file], 0],
        [['diff-schema', '-p', file], 0],
        [['validate', '-p', file], 0],
        [['validate', '-p', file, '--data'], 0],
        [['status', '-p', file], 0],
      ]
      for (const [args, code] of commands) {
        const r = await spawnCli(args, env)
        expect({ args, code: r.code, signal: r.signal }, r.stderr).toEqual({ args, code, signal: null })
      }
      // And the harness's own runner agrees (stdin closed at once).
      expect((await runCli(['status', '-p', file], { env, timeoutMs: HANG_GUARD_MS })).exitCode).toBe(0)
    },
    TIMEOUT,
  )

  it(
    'sync --every stops on SIGTERM after its first run and exits 0 by itself',
    async () => {
      const r = await spawnCli(['sync', '-p', file, '--every', '1h'], env, {
        until: (stderr) => stderr.includes('"event":"run_end"'),
        signal: 'SIGTERM',
      })
      expect(r.signalled, r.stderr).toBe(true)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain('"event":"shutdown_done"')
    },
    TIMEOUT,
  )

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'validate --data and plan stopped by %s exit %i',
    async (signal, code) => {
      // A slow source link keeps each command reading when the signal comes.
      const slowEnv = { ...env, SOURCE_DATABASE_URL: proxy.url(dbs.sourceUrl) }
      proxy.throttle(50)
      try {
        for (const args of [
          ['validate', '-p', file, '--data'],
          ['plan', '-p', file],
        ]) {
          const start = proxy.stats.bytesDown
          // Once the command has connected and read from the source, it is under way.
          const r = await spawnCli(args, slowEnv, {
            until: () => proxy.stats.bytesDown - start > 2_000,
            signal,
          })
          expect({ args, code: r.code, signalled: r.signalled }, r.stderr).toEqual({
            args,
            code,
            signalled: true,
          })
        }
      } finally {
        proxy.throttle(0)
      }
    },
    TIMEOUT,
  )
})
