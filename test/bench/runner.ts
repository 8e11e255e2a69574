import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type mysql from 'mysql2/promise'
import { cliPath } from '../support/cli.js'
import type { ThrowawayServer } from '../support/servers.js'
import { waitFor } from '../support/wait.js'
import type { Row } from './bench.js'
import { type Measurement, measure, median } from './measure.js'
import { SHAPES, type Shape } from './shapes.js'

/** Runs the measured commands of one bench run and records their rows. */
export class Runner {
  constructor(
    private readonly source: ThrowawayServer,
    private readonly target: ThrowawayServer,
    private readonly src: mysql.Connection,
    private readonly tgt: mysql.Connection,
    private readonly runs: number,
    private readonly results: Row[],
    private readonly say: (s: string) => void,
    /** `defaults:` of every pipeline file, as YAML ('' for none). */
    private readonly defaults = '',
  ) {}

  async generate(shape: Shape, rows: number): Promise<void> {
    const t = Date.now()
    await this.src.query(
      `DROP DATABASE IF EXISTS \`bench_${db(shape)}\`; CREATE DATABASE \`bench_${db(shape)}\``,
    )
    await this.src.changeUser({ database: `bench_${db(shape)}` })
    await shape.generate(this.src, rows)
    this.say(
      `${shape.name}: generated ${rows.toLocaleString('en')} in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    )
  }

  /** `mariadb-dump | mariadb` of the shape's tables into a fresh database, median of the runs. */
  async reference(shape: Shape, rows: number, name = shape.name): Promise<number> {
    const ref: Measurement[] = []
    const s = this.source
    const t = this.target
    for (let i = 0; i < this.runs; i++) {
      await this.tgt.query('DROP DATABASE IF EXISTS bench_ref; CREATE DATABASE bench_ref')
      const tables = (shape.dumpTables ?? []).join(' ')
      await this.settle()
      ref.push(
        await measure(
          `mariadb-dump -h${s.host} -P${s.port} -uroot --single-transaction bench_${db(shape)} ${tables} | mariadb -h${t.host} -P${t.port} -uroot bench_ref`,
          [],
          { shell: true },
        ),
      )
    }
    for (const r of ref) r.peakRssBytes = 0
    await this.tgt.query('DROP DATABASE IF EXISTS bench_ref')
    return this.record(name, 'mariadb-dump | mariadb (reference)', rows, ref, null)
  }

  async firstLoad(shape: Shape, rows: number, reference: number, name = shape.name): Promise<void> {
    const file = await this.pipeline(shape, name)
    const loads: Measurement[] = []
    for (let i = 0; i < this.runs; i++) {
      await this.resetTarget(name)
      loads.push(await this.dbsync('sync', '-p', file))
    }
    this.record(name, 'dbsync first load', rows, loads, reference)
  }

  /** `validate --data` must find the copy bit-exact; its time is recorded for orders. */
  async checkEqual(shape: Shape, rows: number, reference: number | null, name = shape.name): Promise<void> {
    const file = await this.pipeline(shape, name)
    const run = await this.dbsync('validate', '-p', file, '--data')
    if (run.exitCode !== 0)
      throw new Error(`${name}: the copy is not bit-exact:\n${run.stdout}\n${run.stderr}`)
    if (reference !== null) this.record(name, 'dbsync validate --data', rows, [run], reference)
  }

  async fullRefreshOrders(rows: number, reference: number): Promise<void> {
    const file = await this.pipeline(ordersShape, 'orders', '  - name: orders\n    strategy: full_refresh')
    const runs: Measurement[] = []
    for (let i = 0; i < this.runs; i++) runs.push(await this.dbsync('sync', '-p', file))
    this.record('orders', 'dbsync full_refresh', rows, runs, reference)
  }

  /** 1% of the rows updated and 1% inserted before each measured incremental run. */
  async incrementalOrders(rows: number): Promise<void> {
    const file = await this.pipeline(ordersShape, 'orders')
    await this.resetTarget('orders')
    await this.dbsync('sync', '-p', file)
    const runs: Measurement[] = []
    for (let i = 0; i < this.runs; i++) {
      await this.src.query(`UPDATE orders SET amount = amount + 1, updated_at = NOW(6) WHERE id % 100 = ${i}`)
      await this.src.query(
        `INSERT INTO orders (id, customer_id, status, amount, currency, note, meta, created_at, flags, token)
         SELECT id + ${rows * (i + 1)}, customer_id, status, amount, currency, note, meta, created_at, flags, token
           FROM orders WHERE id % 100 = 50 AND id <= ${rows}`,
      )
      runs.push(await this.dbsync('sync', '-p', file))
    }
    this.record('orders', 'dbsync incremental, 1% updated + 1% inserted', Math.round(rows / 50), runs, null)
  }

  async noop(shape: Shape, tables: number): Promise<void> {
    const file = await this.pipeline(shape, shape.name)
    const runs: Measurement[] = []
    for (let i = 0; i < this.runs; i++) runs.push(await this.dbsync('sync', '-p', file))
    this.record(shape.name, `dbsync no-op sync of ${tables + 1} tables`, tables + 1, runs, null)
  }

  /** orders into a target that refuses LOAD DATA LOCAL (MySQL 8's default): the multi-row INSERT path. */
  async insertPath(rows: number): Promise<void> {
    await this.src.changeUser({ database: 'bench_orders' })
    const reference = await this.reference(ordersShape, rows, 'insert-path')
    await this.tgt.query('SET GLOBAL local_infile = 0')
    try {
      await this.firstLoad(ordersShape, rows, reference, 'insert-path')
    } finally {
      await this.tgt.query('SET GLOBAL local_infile = 1')
    }
    await this.checkEqual(ordersShape, rows, null, 'insert-path')
  }

  /** `changed` rows updated in a `rows`-row orders table, then one incremental run: time and peak RSS. */
  async merge(rows: number, changed: number): Promise<void> {
    const shape: Shape = { ...ordersShape, name: 'merge' }
    await this.generate(shape, rows)
    const file = await this.pipeline(shape, 'merge')
    await this.resetTarget('merge')
    const first = await this.dbsync('sync', '-p', file)
    if (first.exitCode !== 0) throw new Error(`merge: first load failed:\n${first.stderr}`)
    const runs: Measurement[] = []
    for (let i = 0; i < this.runs; i++) {
      await this.src.query(
        `UPDATE orders SET amount = amount + 1, updated_at = NOW(6) WHERE id % ${Math.round(rows / changed)} = ${i}`,
      )
      runs.push(await this.dbsync('sync', '-p', file))
    }
    this.record(
      'merge',
      `dbsync incremental merge into ${rows.toLocaleString('en')} rows`,
      changed,
      runs,
      null,
    )
    await this.checkEqual(shape, rows, null, 'merge')
  }

  private async dbsync(...a: string[]): Promise<Measurement> {
    await this.settle()
    return measure(process.execPath, [cliPath, ...a, '--log-level', 'warn'])
  }

  /**
   * Before each measured command, for both tools alike: wait until both servers have written out the pages
   * the previous step dirtied and purged its old row versions, so no command pays for the one before it
   * (the generation, the other tool's copy, a dropped database) and the no-op starts on idle servers, as
   * a scheduled one does.
   */
  private async settle(): Promise<void> {
    await Promise.all([settleServer(this.src, this.say), settleServer(this.tgt, this.say)])
  }

  private async pipeline(shape: Shape, name: string, tables = shape.tables): Promise<string> {
    const file = join(this.target.dataDir, '..', `bench_${name.replace(/\W/g, '_')}.yaml`)
    const sourceUrl = `mysql://root@${this.source.host}:${this.source.port}/bench_${db(shape)}`
    const targetUrl = `mysql://root@${this.target.host}:${this.target.port}/copy_${name.replace(/\W/g, '_')}`
    await writeFile(
      file,
      `version: 1\nname: bench_${name.replace(/\W/g, '_')}\nsource:\n  url: "${sourceUrl}"\ntarget:\n  url: "${targetUrl}"\n${this.defaults}concurrency: 4\ntables:\n${tables}\n`,
    )
    return file
  }

  private async resetTarget(name: string): Promise<void> {
    const d = `copy_${name.replace(/\W/g, '_')}`
    await this.tgt.query(`DROP DATABASE IF EXISTS \`${d}\`; CREATE DATABASE \`${d}\``)
  }

  private record(
    shape: string,
    operation: string,
    rows: number,
    runs: Measurement[],
    reference: number | null,
  ): number {
    for (const r of runs) {
      if (r.exitCode !== 0) throw new Error(`${shape} ${operation} failed (exit ${r.exitCode}):\n${r.stderr}`)
    }
    const seconds = median(runs.map((r) => r.seconds))
    const rss = median(runs.map((r) => r.peakRssBytes))
    const row: Row = {
      shape,
      operation,
      rows,
      seconds: round(seconds, 2),
      referenceSeconds: reference === null ? null : round(reference, 2),
      ratio: reference ? round(seconds / reference, 2) : null,
      rowsPerSecond: Math.round(rows / seconds),
      peakRssMb: rss > 0 ? round(rss / 1024 / 1024, 0) : null,
    }
    this.results.push(row)
    this.say(
      `${shape} ${operation}: ${row.seconds} s, ${row.rowsPerSecond} rows/s, peak RSS ${row.peakRssMb ?? '-'} MB`,
    )
    return seconds
  }
}

const ordersShape: Shape = SHAPES.find((s) => s.name === 'orders')!

/**
 * Flush every dirty page and wait for purge, polled, up to 2 minutes. For the wait, max_dirty_pages_pct 0
 * and a high io_capacity: at the default 200 the page cleaner writes ~150 pages a second, and a dropped
 * copy of `blobs` leaves 10,000 dirty BLOB pages behind.
 */
async function settleServer(conn: mysql.Connection, say: (s: string) => void): Promise<void> {
  const [saved] = (await conn.query(
    'SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct, @@GLOBAL.innodb_io_capacity AS io, @@GLOBAL.innodb_io_capacity_max AS iomax',
  )) as unknown as [Array<{ pct: string; io: string; iomax: string }>]
  const { pct, io, iomax } = saved[0]!
  await conn.query(
    'SET GLOBAL innodb_io_capacity_max = 200000, GLOBAL innodb_io_capacity = 100000, GLOBAL innodb_max_dirty_pages_pct = 0',
  )
  let left = ''
  try {
    await waitFor(
      'the server to settle',
      async () => {
        const [rows] = (await conn.query(
          "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')",
        )) as unknown as [Array<{ Variable_name: string; Value: string }>]
        const n = Object.fromEntries(rows.map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]))
        const dirty = n.innodb_buffer_pool_pages_dirty ?? 0
        const history = n.innodb_history_list_length ?? 0
        left = `${dirty} dirty pages, history ${history}`
        return dirty < 100 && history < 1000
      },
      120_000,
    ).catch(() => say(`bench: a server did not settle in 2 minutes (${left}); measuring anyway`))
  } finally {
    await conn.query(
      `SET GLOBAL innodb_max_dirty_pages_pct = ${Number(pct)}, GLOBAL innodb_io_capacity = ${Number(io)}, GLOBAL innodb_io_capacity_max = ${Number(iomax)}`,
    )
  }
}

/** The source database of a shape: merge has its own orders table. */
function db(shape: Shape): string {
  return shape.name.replace(/\W/g, '_')
}

function round(n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
