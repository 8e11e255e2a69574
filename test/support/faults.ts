import { setTimeout as sleep } from 'node:timers/promises'
import type mysql from 'mysql2/promise'
import { type CliResult, runCli } from './cli.js'
import type { TcpProxy } from './proxy.js'

// Helpers of the fault-injection tests (faults-network.test.ts, faults-server.test.ts).

export const ROWS = 100_000

/** `_sync_state.rows_synced` of `table`, or 0 before the state table or row exists. */
export async function rowsSynced(conn: mysql.Connection, table = 'big'): Promise<number> {
  try {
    const [rows] = await conn.query('SELECT rows_synced AS n FROM _sync_state WHERE table_name = ?', [table])
    return Number((rows as Array<{ n: string }>)[0]?.n ?? 0)
  } catch {
    return 0
  }
}

/** Polls `cond` every `everyMs` until it holds or `stop()` does; false when it gave up. */
export async function waitFor(cond: () => Promise<boolean>, stop: () => boolean, everyMs = 20) {
  const deadline = Date.now() + 150_000
  while (Date.now() < deadline && !stop()) {
    if (await cond().catch(() => false)) return true
    await sleep(everyMs)
  }
  return false
}

/** The `table_retry` log lines of a run (JSON logs on stderr). */
export function retries(
  res: CliResult,
): Array<{ attempt: number; delay_ms: number; code?: string; error: string }> {
  return res.stderr
    .split('\n')
    .filter((l) => l.includes('"table_retry"'))
    .map((l) => JSON.parse(l))
}

/** Starts `dbsync sync` and reports when it ends, so a test can inject faults while it runs. */
export function startSync(file: string, timeoutMs = 170_000) {
  let done = false
  const started = Date.now()
  const result = runCli(['sync', '-p', file, '--json', '--log-format', 'json'], { timeoutMs }).finally(() => {
    done = true
  })
  return { result, done: () => done, seconds: () => (Date.now() - started) / 1000 }
}

/** Cut once `bytes` more have flowed down; 0 (no cut) if the run ends first, instead of waiting forever. */
export function cutAfterOrDone(
  p: TcpProxy,
  bytes: number,
  run: { result: Promise<unknown> },
): Promise<number> {
  return Promise.race([p.cutAfter(bytes), run.result.then(() => 0)])
}

export function figure(text: string): void {
  process.stderr.write(`faults: ${text}\n`)
}
