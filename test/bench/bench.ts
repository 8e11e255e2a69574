/**
 * `npm run bench`: dbsync side by side with `mariadb-dump | mariadb` on the same throwaway servers, in
 * the same run. Options: --rows N (default 1,000,000), --size large (5,000,000), --runs K (median of K,
 * default 3), --small-tables N (default 1000), --json.
 */
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { cliPath } from '../support/cli.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'
import { generateOrders, generateSmallTables } from './generate.js'
import { type Measurement, measure, median } from './measure.js'

interface Row {
  operation: string
  rows: number
  seconds: number
  rowsPerSecond: number
  peakRssMb: number | null
  ratioToReference: number | null
}

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const large = args.includes('large')
const ROWS = option('--rows', large ? 5_000_000 : 1_000_000)
const RUNS = option('--runs', 3)
const SMALL = option('--small-tables', 1000)
const JSON_OUT = flag('--json')
const say = (s: string) => process.stderr.write(`${s}\n`)

// Same settings for both servers and both tools: a buffer pool that holds the table, and the commit
// durability of a bulk-loading replica (fsync once a second), as is usual for such copies.
const SERVER_ARGS = [
  '--innodb-buffer-pool-size=2G',
  '--innodb-log-file-size=1G',
  '--innodb-flush-log-at-trx-commit=2',
]

async function main(): Promise<void> {
  say(`bench: ${ROWS.toLocaleString('en')} rows, ${SMALL} small tables, median of ${RUNS}`)
  const servers = await Promise.all([
    startServer({ name: 'bench-source', extraArgs: SERVER_ARGS }),
    startServer({ name: 'bench-target', extraArgs: SERVER_ARGS }),
  ])
  const [source, target] = servers as [ThrowawayServer, ThrowawayServer]
  try {
    const src = await mysql.createConnection({
      host: source.host,
      port: source.port,
      user: 'root',
      multipleStatements: true,
    })
    const tgt = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: 'root',
      multipleStatements: true,
    })
    await src.query('CREATE DATABASE bench')
    await src.changeUser({ database: 'bench' })
    let t = Date.now()
    await generateOrders(src, ROWS)
    say(`generated orders in ${((Date.now() - t) / 1000).toFixed(1)} s`)
    t = Date.now()
    await generateSmallTables(src, SMALL)
    say(`generated ${SMALL} small tables in ${((Date.now() - t) / 1000).toFixed(1)} s`)

    const dir = target.dataDir
    const sourceUrl = `mysql://root@${source.host}:${source.port}/bench`
    const targetUrl = `mysql://root@${target.host}:${target.port}/bench_copy`
    const pipeline = async (name: string, tables: string) => {
      const file = join(dir, '..', `${name}.yaml`)
      await writeFile(
        file,
        `version: 1\nname: ${name}\nsource:\n  url: "${sourceUrl}"\ntarget:\n  url: "${targetUrl}"\nconcurrency: 4\ntables:\n${tables}\n`,
      )
      return file
    }
    const incremental = await pipeline('bench_inc', '  - name: orders\n    cursor: updated_at')
    const refresh = await pipeline('bench_full', '  - name: orders\n    strategy: full_refresh')
    const all = await pipeline(
      'bench_all',
      '  - name: digits\n    strategy: full_refresh\n  - name: "*"\n    cursor: updated_at',
    )
    const dbsync = (...a: string[]) => measure(process.execPath, [cliPath, ...a, '--log-level', 'warn'])
    const results: Row[] = []
    const record = (operation: string, rows: number, runs: Measurement[], reference?: number) => {
      for (const r of runs) {
        if (r.exitCode !== 0) throw new Error(`${operation} failed (exit ${r.exitCode}):\n${r.stderr}`)
      }
      const seconds = median(runs.map((r) => r.seconds))
      const rss = median(runs.map((r) => r.peakRssBytes))
      const row = {
        operation,
        rows,
        seconds: round(seconds, 2),
        rowsPerSecond: Math.round(rows / seconds),
        peakRssMb: rss > 0 ? round(rss / 1024 / 1024, 0) : null,
        ratioToReference: reference ? round(seconds / reference, 2) : null,
      }
      results.push(row)
      say(`${operation}: ${row.seconds} s, ${row.rowsPerSecond} rows/s, peak RSS ${row.peakRssMb ?? '-'} MB`)
      return seconds
    }
    const resetTarget = async () => {
      await tgt.query('DROP DATABASE IF EXISTS bench_copy; CREATE DATABASE bench_copy')
    }

    // The reference: what users would otherwise run, on the same servers.
    const ref: Measurement[] = []
    for (let i = 0; i < RUNS; i++) {
      await tgt.query('DROP DATABASE IF EXISTS bench_ref; CREATE DATABASE bench_ref')
      ref.push(
        await measure(
          `mariadb-dump -h${source.host} -P${source.port} -uroot --single-transaction bench orders | mariadb -h${target.host} -P${target.port} -uroot bench_ref`,
          [],
          { shell: true },
        ),
      )
    }
    for (const r of ref) r.peakRssBytes = 0
    const reference = record('mariadb-dump | mariadb (reference)', ROWS, ref)
    await tgt.query('DROP DATABASE IF EXISTS bench_ref')

    const initial: Measurement[] = []
    for (let i = 0; i < RUNS; i++) {
      await resetTarget()
      initial.push(await dbsync('sync', '-p', incremental))
    }
    record('dbsync first load (incremental)', ROWS, initial, reference)

    const full: Measurement[] = []
    for (let i = 0; i < RUNS; i++) full.push(await dbsync('sync', '-p', refresh))
    record('dbsync full_refresh', ROWS, full, reference)

    // Back to an incremental state, then 1% updated and 1% inserted before each measured run.
    await resetTarget()
    await dbsync('sync', '-p', incremental)
    const changes: Measurement[] = []
    const changed = Math.round(ROWS / 100)
    for (let i = 0; i < RUNS; i++) {
      await src.query(`UPDATE orders SET amount = amount + 1, updated_at = NOW(6) WHERE id % 100 = ${i}`)
      await src.query(
        `INSERT INTO orders (id, customer_id, status, amount, currency, note, meta, created_at, flags, token)
         SELECT id + ${ROWS * (i + 1)}, customer_id, status, amount, currency, note, meta, created_at, flags, token
           FROM orders WHERE id % 100 = 50 AND id <= ${ROWS}`,
      )
      changes.push(await dbsync('sync', '-p', incremental))
    }
    record('dbsync incremental, 1% updated + 1% inserted', changed * 2, changes)

    await dbsync('sync', '-p', all)
    const noop: Measurement[] = []
    for (let i = 0; i < RUNS; i++) noop.push(await dbsync('sync', '-p', all))
    record(`dbsync no-op sync of ${SMALL + 2} tables`, SMALL + 2, noop)

    const validate: Measurement[] = []
    for (let i = 0; i < RUNS; i++)
      validate.push(await dbsync('validate', '-p', incremental, '--data', '--tables', 'orders'))
    record('dbsync validate --data', ROWS, validate, reference)

    await Promise.all([src.end(), tgt.end()])
    if (JSON_OUT) {
      process.stdout.write(
        `${JSON.stringify({ rows: ROWS, runs: RUNS, machine: machine(), results }, null, 2)}\n`,
      )
    } else {
      process.stdout.write(`\n${renderTable(results)}\n\nmachine: ${machine()}\n`)
    }
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()))
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`
}

function renderTable(rows: Row[]): string {
  const headers = ['operation', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'ratio to reference']
  const cells = rows.map((r) => [
    r.operation,
    r.rows.toLocaleString('en'),
    r.seconds.toFixed(2),
    r.rowsPerSecond.toLocaleString('en'),
    r.peakRssMb === null ? '-' : String(r.peakRssMb),
    r.ratioToReference === null ? '-' : r.ratioToReference.toFixed(2),
  ])
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ')
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
