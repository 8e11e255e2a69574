/**
 * `npm run soak -- --minutes N`: the race harness (harness.ts) for N minutes on throwaway servers of its
 * own (the source in Asia/Kolkata time), then the figures: writes, runs, kills, lag percentiles and
 * whether every table came out bit-exact. Exits 1 on any mismatch.
 */
import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'
import { startServer } from '../support/servers.js'
import { runRace } from './harness.js'

const args = process.argv.slice(2)
const i = args.indexOf('--minutes')
const minutes = Number(i >= 0 ? args[i + 1] : 5)
const say = (s: string) => process.stderr.write(`${s}\n`)

async function main(): Promise<number> {
  const [source, target] = await Promise.all([
    startServer({ name: 'soak-source', env: { TZ: 'Asia/Kolkata' } }),
    startServer({ name: 'soak-target' }),
  ])
  try {
    const db = `dbsync_soak_${randomBytes(4).toString('hex')}`
    for (const s of [source, target]) {
      const c = await mysql.createConnection({ uri: s.url })
      await c.query(`CREATE DATABASE ${db}`)
      await c.end()
    }
    say(`soak: ${minutes} min`)
    const report = await runRace({
      sourceUrl: `${source.url}/${db}`,
      targetUrl: `${target.url}/${db}`,
      name: 'soak',
      durationMs: minutes * 60_000,
      log: say,
    })
    const w = report.writes
    const f = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} s` : 'n/a')
    say(
      [
        `soak finished after ${report.seconds.toFixed(0)} s`,
        `writes: ${w.commits} commits (${w.statements} statements), ${w.rollbacks} rollbacks, ${w.longTransactions} long transactions, ${w.deadlocks} deadlocks`,
        `poller: ${report.pollerReads} INNODB_TRX reads`,
        `scheduled runs: ${report.runs}, SIGKILLs: ${report.kills}, table runs that held their position: ${report.held}`,
        `lag (heartbeat commit to target): p50 ${f(report.lag.p50)}, p95 ${f(report.lag.p95)}, max ${f(report.lag.max)} over ${report.lag.samples} samples`,
        `final sync exit ${report.finalSync.exitCode}, validate --data exit ${report.validate.exitCode}`,
        report.mismatches.length === 0
          ? 'bit-exact: every table'
          : `MISMATCHES:\n${report.mismatches.join('\n')}`,
      ].join('\n'),
    )
    return report.mismatches.length === 0 && report.validate.exitCode === 0 && report.finalSync.exitCode === 0
      ? 0
      : 1
  } finally {
    await Promise.all([source.stop(), target.stop()])
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(String(err?.stack ?? err))
    process.exit(1)
  },
)
