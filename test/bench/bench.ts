/**
 * `npm run bench`: dbsync side by side with `mariadb-dump | mariadb` on the same throwaway servers, in the
 * same run, for every table shape of shapes.ts, plus the INSERT path (a target with local_infile=OFF) and
 * a large incremental merge. Every copy is checked bit-exact with `dbsync validate --data`.
 * Options: --shape a,b (default all: orders,narrow,lineitem,many,blobs,insert-path,merge), --size large,
 * --rows N (the orders table), --scale F (every size times F, for a quick try), --runs K (median of K,
 * default 3), --ranges N (whole-table loads in N key ranges at once), --json.
 */
import os from 'node:os'
import mysql from 'mysql2/promise'
import { startServer, type ThrowawayServer } from '../support/servers.js'
import { Runner } from './runner.js'
import { SHAPES, type Shape } from './shapes.js'

export interface Row {
  shape: string
  operation: string
  rows: number
  seconds: number
  referenceSeconds: number | null
  ratio: number | null
  rowsPerSecond: number
  peakRssMb: number | null
}

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const LARGE = option('--size') === 'large' || args.includes('large')
const RUNS = Number(option('--runs') ?? 3)
const SCALE = Number(option('--scale') ?? 1)
const ORDERS_ROWS = option('--rows') === undefined ? undefined : Number(option('--rows'))
const ALL = [...SHAPES.map((s) => s.name), 'insert-path', 'merge']
const WANTED = (option('--shape') ?? ALL.join(',')).split(',').map((s) => s.trim())
const say = (s: string) => process.stderr.write(`${s}\n`)

// Same settings for both servers and both tools: a buffer pool that holds the tables, and the commit
// durability of a bulk-loading replica (fsync once a second), as is usual for such copies.
const SERVER_ARGS = [
  '--innodb-buffer-pool-size=2G',
  '--innodb-log-file-size=1G',
  '--innodb-flush-log-at-trx-commit=2',
  '--max-allowed-packet=256M',
]

async function main(): Promise<void> {
  const unknown = WANTED.filter((w) => !ALL.includes(w))
  if (unknown.length > 0) throw new Error(`unknown --shape ${unknown.join(', ')}; shapes: ${ALL.join(', ')}`)
  say(`bench: shapes ${WANTED.join(', ')}${LARGE ? ' (large)' : ''}, median of ${RUNS}`)
  const servers = await Promise.all([
    startServer({ name: 'bench-source', extraArgs: SERVER_ARGS }),
    startServer({ name: 'bench-target', extraArgs: SERVER_ARGS }),
  ])
  const [source, target] = servers as [ThrowawayServer, ThrowawayServer]
  const open = (s: ThrowawayServer) =>
    mysql.createConnection({ host: s.host, port: s.port, user: 'root', multipleStatements: true })
  const [src, tgt] = await Promise.all([open(source), open(target)])
  const results: Row[] = []
  try {
    const runner = new Runner(source, target, src, tgt, RUNS, results, say, parallelDefaults())
    const shapes = SHAPES.filter((s) => WANTED.includes(s.name))
    // insert-path and merge reuse the orders data.
    if (
      !shapes.some((s) => s.name === 'orders') &&
      (WANTED.includes('insert-path') || WANTED.includes('merge'))
    ) {
      shapes.unshift(SHAPES.find((s) => s.name === 'orders')!)
    }
    for (const shape of shapes) await benchShape(runner, shape)
    if (WANTED.includes('insert-path'))
      await runner.insertPath(rowsOf(SHAPES.find((s) => s.name === 'orders')!))
    if (WANTED.includes('merge'))
      await runner.merge(Math.round((LARGE ? 5_000_000 : 1_000_000) * SCALE), Math.round(100_000 * SCALE))
  } finally {
    await Promise.allSettled([src.end(), tgt.end()])
    await Promise.allSettled(servers.map((s) => s.stop()))
  }
  if (args.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ runs: RUNS, large: LARGE, machine: machine(), results }, null, 2)}\n`,
    )
  } else {
    process.stdout.write(`\n${renderTable(results)}\n\nmachine: ${machine()}\n`)
  }
}

/**
 * `--ranges N`: every whole-table load split into N key ranges of the orders table's size, N at once
 * (the pipeline's `parallel:`), to compare with the single sequential load.
 */
function parallelDefaults(): string {
  const ranges = option('--ranges')
  if (ranges === undefined) return ''
  const n = Number(ranges)
  const rangeRows = Math.ceil(rowsOf(SHAPES.find((s) => s.name === 'orders')!) / n)
  return `defaults:\n  parallel: { above_rows: 0, range_rows: ${rangeRows}, workers: ${n} }\n`
}

function rowsOf(shape: Shape): number {
  if (shape.name === 'orders' && ORDERS_ROWS !== undefined) return ORDERS_ROWS
  return Math.max(1, Math.round((LARGE ? shape.rows.large : shape.rows.default) * SCALE))
}

async function benchShape(runner: Runner, shape: Shape): Promise<void> {
  const rows = rowsOf(shape)
  await runner.generate(shape, rows)
  const counted = shape.countedRows?.(rows) ?? rows
  const reference = await runner.reference(shape, counted)
  await runner.firstLoad(shape, counted, reference)
  await runner.checkEqual(shape, counted, shape.name === 'orders' ? reference : null)
  if (shape.name === 'orders') {
    await runner.fullRefreshOrders(rows, reference)
    await runner.incrementalOrders(rows)
  }
  if (shape.name === 'many') await runner.noop(shape, rows)
}

function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${os.loadavg()[0]?.toFixed(1)} at the end`
}

function renderTable(rows: Row[]): string {
  const headers = ['shape', 'operation', 'rows', 'dbsync s', 'reference s', 'ratio', 'rows/s', 'peak RSS MB']
  const cells = rows.map((r) => [
    r.shape,
    r.operation,
    r.rows.toLocaleString('en'),
    r.seconds.toFixed(2),
    r.referenceSeconds === null ? '-' : r.referenceSeconds.toFixed(2),
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.rowsPerSecond.toLocaleString('en'),
    r.peakRssMb === null ? '-' : String(r.peakRssMb),
  ])
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]) =>
    c.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ')
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
