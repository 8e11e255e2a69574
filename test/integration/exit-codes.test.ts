import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliPath, envPipelineYaml, repoRoot, writeTempPipeline } from '../support/cli.js'
import { createTestDatabases, seedItems, type TestDbs } from '../support/db.js'
import { startProxy, type TcpProxy } from '../support/proxy.js'

const TIMEOUT = 180_000

function pipelineYaml(strategy: 'incremental' | 'full_refresh'): string {
  return envPipelineYaml('sig', [
    '  - name: items',
    `    strategy: ${strategy}`,
    '    cursor: updated_at',
    '    batch_size: 500',
  ])
}

interface Exit {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `dbsync sync` through a throttled source link and sends `signal` once `ready()` says the copy is
 * under way (no fixed sleep): the run must stop and exit with 128 + the signal's number.
 */
function syncThenSignal(
  file: string,
  env: Record<string, string>,
  signal: 'SIGINT' | 'SIGTERM',
  ready: () => boolean,
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'sync', '-p', file, '--log-format', 'json', '--json'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8')
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8')
    })
    const poll = setInterval(() => {
      if (!ready()) return
      clearInterval(poll)
      child.kill(signal)
    }, 20)
    // Not a wait: a process that ignores the signal is killed, so the test fails on its exit code, not a hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), 150_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearInterval(poll)
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('a one-shot run interrupted by a signal', () => {
  let dbs: TestDbs
  let proxy: TcpProxy
  let env: Record<string, string>

  beforeAll(async () => {
    dbs = await createTestDatabases()
    // 2^16 rows of about 220 bytes: some 14 MB to stream through the throttled link.
    await seedItems(dbs.source, 16)
    const url = new URL(dbs.sourceUrl)
    proxy = await startProxy({ targetHost: url.hostname, targetPort: Number(url.port) })
    env = { SOURCE_DATABASE_URL: proxy.url(dbs.sourceUrl), TARGET_DATABASE_URL: dbs.targetUrl }
  }, TIMEOUT)

  afterAll(async () => {
    await proxy?.close()
    await dbs?.drop()
  })

  /** Signal once `bytes` more bytes have come from the source through the proxy. */
  function afterBytes(bytes: number): () => boolean {
    const start = proxy.stats.bytesDown
    return () => proxy.stats.bytesDown - start > bytes
  }

  async function lastRun(): Promise<{ status: string }> {
    const [rows] = await dbs.target.query(
      "SELECT status FROM _sync_runs WHERE pipeline = 'sig' ORDER BY started_at DESC LIMIT 1",
    )
    return (rows as Array<{ status: string }>)[0]!
  }

  async function tableState(): Promise<string> {
    const [rows] = await dbs.target.query(
      "SELECT status FROM _sync_state WHERE pipeline = 'sig' AND table_name = 'items'",
    )
    return (rows as Array<{ status: string }>)[0]!.status
  }

  async function targetCount(): Promise<number> {
    const [rows] = await dbs.target.query('SELECT COUNT(*) AS n FROM items')
    return Number((rows as Array<{ n: string }>)[0]!.n)
  }

  it(
    'exits 130 on SIGINT during a first load, recorded interrupted',
    async () => {
      const file = await writeTempPipeline(pipelineYaml('incremental'))
      proxy.throttle(30)
      try {
        const r = await syncThenSignal(file, env, 'SIGINT', afterBytes(1_000_000))
        expect(r.code, r.stderr).toBe(130)
        expect(r.stderr).toContain('"event":"run_stopping"')
        expect(JSON.parse(r.stdout).status).toBe('interrupted')
      } finally {
        proxy.throttle(0)
      }
      expect((await lastRun()).status).toBe('interrupted')
      expect(await tableState()).toBe('interrupted')
    },
    TIMEOUT,
  )

  it(
    'exits 143 on SIGTERM during an incremental run, recorded interrupted',
    async () => {
      const file = await writeTempPipeline(pipelineYaml('incremental'))
      // Finish the first load, then give the next run many batches to read.
      const first = await syncThenSignal(file, env, 'SIGTERM', () => false)
      expect(first.code, first.stderr).toBe(0)
      await dbs.source.query('UPDATE items SET updated_at = NOW(6)')
      proxy.throttle(30)
      try {
        const r = await syncThenSignal(file, env, 'SIGTERM', afterBytes(200_000))
        expect(r.code, r.stderr).toBe(143)
        expect(JSON.parse(r.stdout).status).toBe('interrupted')
      } finally {
        proxy.throttle(0)
      }
      expect((await lastRun()).status).toBe('interrupted')
      expect(await tableState()).toBe('interrupted')
    },
    TIMEOUT,
  )

  it(
    'exits 143 on SIGTERM during a full refresh, interrupted (not failed) and the old table untouched',
    async () => {
      const file = await writeTempPipeline(pipelineYaml('full_refresh'))
      const before = await targetCount()
      expect(before).toBe(65536)
      await dbs.source.query('DELETE FROM items WHERE id > 60000')
      proxy.throttle(30)
      try {
        const r = await syncThenSignal(file, env, 'SIGTERM', afterBytes(1_000_000))
        expect(r.code, r.stderr).toBe(143)
        expect(r.stderr).not.toContain('"level":"error"')
        expect(JSON.parse(r.stdout).status).toBe('interrupted')
      } finally {
        proxy.throttle(0)
      }
      expect((await lastRun()).status).toBe('interrupted')
      expect(await tableState()).toBe('interrupted')
      expect(await targetCount()).toBe(before)
    },
    TIMEOUT,
  )
})
