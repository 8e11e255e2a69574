import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import { tableImage } from '../support/compare.js'
import { createRaceTables, poller, RACE_TABLES, type WriterStats, writer } from './writers.js'

/**
 * The race harness (issue 12): a source under OLTP load (writers.ts), an INNODB_TRX poller in bursts,
 * `dbsync sync --every 2s` SIGKILLed at random moments and started again; then the writers stop, one
 * final sync runs, and every table must be bit-exact and `validate --data` consistent. Used by
 * test/integration/race.test.ts (bounded) and `npm run soak -- --minutes N`.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The CLI under test; DBSYNC_RACE_CLI points the harness at another build (e.g. an older commit's). */
const cliPath = process.env.DBSYNC_RACE_CLI ?? join(repoRoot, 'bin', 'dbsync.js')

export interface RaceOptions {
  /** Source and target URLs including their databases (the source server should be one of its own). */
  sourceUrl: string
  targetUrl: string
  /** A pipeline name unique to this race (the run lock is server-wide). */
  name: string
  durationMs: number
  writers?: number
  /** SIGKILL the scheduled sync after a random 2–8 s, again and again. */
  kills?: boolean
  log?: (line: string) => void
}

export interface RaceReport {
  seconds: number
  writes: WriterStats
  pollerReads: number
  /** Scheduled runs that finished (from the daemons' logs), and SIGKILLs sent. */
  runs: number
  /** Table runs that held their position (no fresh INNODB_TRX under the poller). */
  held: number
  kills: number
  /** Seconds from a heartbeat row's commit on the source to its arrival in the target. */
  lag: { p50: number; p95: number; max: number; samples: number }
  /** Tables whose target differs from the source after the final sync (empty when all is well). */
  mismatches: string[]
  validate: { exitCode: number; output: string }
  finalSync: { exitCode: number; output: string }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runRace(opts: RaceOptions): Promise<RaceReport> {
  const log = opts.log ?? (() => undefined)
  const started = Date.now()
  const src = await mysql.createConnection({ uri: opts.sourceUrl, multipleStatements: true })
  const tgt = await mysql.createConnection({ uri: opts.targetUrl })
  await src.query(`SET SESSION sql_mode = ''`)
  await createRaceTables(src)
  const file = await writePipeline(opts)

  let stopping = false
  const stop = () => stopping
  const stats: WriterStats = {
    commits: 0,
    rollbacks: 0,
    longTransactions: 0,
    statements: 0,
    deadlocks: 0,
    lastCommitAt: 0,
  }
  const writers = Array.from({ length: opts.writers ?? 4 }, () => writer(opts.sourceUrl, stats, stop))
  const polling = poller(opts.sourceUrl, 40, stop)
  const beats = heartbeat(src, tgt, stop)

  const daemon = { child: null as ChildProcess | null, runs: 0, held: 0, kills: 0, stderr: '' }
  const startDaemon = () => {
    const child = spawn(
      process.execPath,
      [cliPath, '--log-format', 'json', 'sync', '-p', file, '--every', '2s'],
      {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    child.stderr?.on('data', (b: Buffer) => {
      const text = b.toString('utf8')
      daemon.stderr = (daemon.stderr + text).slice(-200_000)
      daemon.runs += text.match(/"event":"run_end"/g)?.length ?? 0
      daemon.held += text.match(/"event":"table_warning"[^\n]*positions held/g)?.length ?? 0
    })
    daemon.child = child
  }
  startDaemon()
  const deadline = started + opts.durationMs
  while (Date.now() < deadline) {
    await sleep(Math.min(deadline - Date.now(), 2000 + Math.random() * 6000))
    if (opts.kills !== false && Date.now() < deadline) {
      await killDaemon(daemon.child!, 'SIGKILL')
      daemon.kills++
      log(`race: SIGKILL ${daemon.kills}, ${stats.commits} commits so far`)
      startDaemon()
    }
  }
  stopping = true
  await Promise.all(writers)
  const pollerReads = await polling
  const lagSamples = await beats
  await killDaemon(daemon.child!, 'SIGTERM')
  // The final sync reads below the cap floored to each cursor's precision: wait for the source clock to
  // leave the second of the last commit, so that every stamp of the race is below it.
  await waitForSourceClock(src, stats.lastCommitAt)
  const finalSync = await cli(['sync', '-p', file, '--json'])
  const validate = await cli(['validate', '-p', file, '--data', '--json'])
  const mismatches: string[] = []
  // TIMESTAMP values print in the session's zone: compare both sides in UTC.
  for (const c of [src, tgt]) await c.query(`SET time_zone = '+00:00'`)
  for (const t of [...RACE_TABLES.map((x) => x.name), 'r_hb']) {
    const order = t === 'r_ci' ? ['code', 'n'] : ['id']
    const [a, b] = await Promise.all([tableImage(src, t, order), tableImage(tgt, t, order)])
    if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push(describeDiff(t, order.length, a, b))
  }
  await Promise.all([src.end(), tgt.end()])
  return {
    seconds: (Date.now() - started) / 1000,
    writes: stats,
    pollerReads,
    runs: daemon.runs,
    held: daemon.held,
    kills: daemon.kills,
    lag: percentiles(lagSamples),
    mismatches,
    validate,
    finalSync,
  }
}

async function writePipeline(opts: RaceOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbsync-race-'))
  const file = join(dir, 'pipeline.yaml')
  const tables = [...RACE_TABLES.map((t) => t.name), 'r_hb']
    .map((t) => `  - name: ${t}\n    cursor: updated_at\n    deletes: detect`)
    .join('\n')
  await writeFile(
    file,
    `version: 1\nname: ${opts.name}\nsource:\n  url: "${opts.sourceUrl}"\ntarget:\n  url: "${opts.targetUrl}"\ntables:\n${tables}\n`,
  )
  return file
}

/** Update the heartbeat row twice a second; time how long each value takes to reach the target. */
async function heartbeat(
  src: mysql.Connection,
  tgt: mysql.Connection,
  stop: () => boolean,
): Promise<number[]> {
  const committed = new Map<number, number>()
  const lags: number[] = []
  let seq = 0
  let seen = 0
  while (!stop()) {
    seq++
    await src.query('UPDATE r_hb SET seq = ?, updated_at = NOW(6) WHERE id = 1', [seq])
    committed.set(seq, Date.now())
    for (let i = 0; i < 5 && !stop(); i++) {
      await sleep(100)
      const [rows] = await tgt.query('SELECT seq FROM r_hb WHERE id = 1').catch(() => [[]])
      const now = Number((rows as Array<{ seq: number }>)[0]?.seq ?? 0)
      for (let s = seen + 1; s <= now; s++) {
        const at = committed.get(s)
        if (at !== undefined) lags.push((Date.now() - at) / 1000)
        committed.delete(s)
      }
      seen = Math.max(seen, now)
    }
  }
  return lags
}

function percentiles(xs: number[]): RaceReport['lag'] {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN)
  return { p50: at(0.5), p95: at(0.95), max: s.length ? s[s.length - 1]! : Number.NaN, samples: s.length }
}

async function waitForSourceClock(src: mysql.Connection, epochMs: number): Promise<void> {
  for (;;) {
    const [rows] = await src.query('SELECT UNIX_TIMESTAMP(NOW(6)) * 1000 AS ms')
    if (Number((rows as Array<{ ms: string }>)[0]?.ms) >= epochMs + 1100) return
    await sleep(100)
  }
}

function killDaemon(child: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((r) => {
    child.once('exit', () => r())
    child.kill(sig)
  })
}

function cli(args: string[]): Promise<{ exitCode: number; output: string }> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
    })
    let out = ''
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8')
    })
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString('utf8')
    })
    child.once('close', (code) => r({ exitCode: code ?? 1, output: out.slice(-20_000) }))
  })
}

function describeDiff(table: string, keyLength: number, a: string[][], b: string[][]): string {
  const key = (r: string[]) => r.slice(0, keyLength).join('|')
  const bs = new Map(b.map((r) => [key(r), r]))
  const as = new Map(a.map((r) => [key(r), r]))
  const missing = a.filter((r) => JSON.stringify(bs.get(key(r))) !== JSON.stringify(r))
  const extra = b.filter((r) => !as.has(key(r)))
  return `${table}: ${missing.length} source rows missing or different in the target (e.g. ${JSON.stringify(missing.slice(0, 3))}), ${extra.length} extra target rows (e.g. ${JSON.stringify(extra.slice(0, 3))})`
}
