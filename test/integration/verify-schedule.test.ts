import { describe, expect, it } from 'vitest'
import { expectSameRows } from '../support/compare.js'
import { freePort, get, sample, startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'
import { openConnection } from '../support/db.js'

const DDL = (name: string) => `CREATE TABLE ${name} (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(40) NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00')`
// 3,000 rows: with max_rows_per_second 1000 the chunks hold 1,000 rows and a pass takes about 3 s, longer
// than the verification budget of one 2 s interval (half of it), so a pass spans several runs.
const ROWS = (name: string) => `INSERT INTO ${name} (id, v)
  SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 1, CONCAT('v', a.d, b.d, c.d, e.d)
    FROM digits a, digits b, digits c, digits e WHERE a.d + 10 * b.d + 100 * c.d + 1000 * e.d < 3000`

interface VerifyStatus {
  in_progress: boolean
  last_full_at: string | null
  chunks: { equal: number; repaired: number; pending: number; differing: number }
  rows_repaired: number
}

describe('scheduled verification (verify: in the pipeline)', () => {
  const fx = useScheduleFixture()

  it('repairs damage between syncs, throttled, resumed across runs, with metrics and /status', async () => {
    const src = fx.dbs().source
    await src.query(
      'CREATE TABLE digits (d INT PRIMARY KEY); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)',
    )
    await src.query(`${DDL('items')}; ${ROWS('items')}; ${DDL('notes')}; ${ROWS('notes')}`)
    const port = await freePort()
    const verify = '{ every: 2s, max_rows_per_second: 1000 }'
    const file = await fx.pipeline(
      'verified',
      [
        `  - name: items\n    verify: ${verify}`,
        `  - name: notes\n    verify: { every: 2s, repair: false, max_rows_per_second: 1000 }`,
      ].join('\n'),
      'health:\n  port: 1\n  host: 127.0.0.1\n',
    )
    const d = startDaemon(['sync', '-p', file, '--every', '2s', '--health-port', String(port)])
    const status = async () =>
      JSON.parse((await get(port, '/status')).body) as { verify: Record<string, VerifyStatus> }
    // A first pass over the table ends. It takes longer than one run's budget: between runs it is seen in
    // progress, and the next run resumes it.
    let sawInProgress = false
    await waitFor(
      'a first full verification of items',
      async () => {
        const s = (await status()).verify.items
        sawInProgress ||= s?.in_progress === true
        return s?.last_full_at ?? undefined
      },
      120_000,
    )
    expect(sawInProgress).toBe(true)
    // /status shows the pass's end as soon as it is known; its log line follows once the position is saved.
    await waitFor(
      'the verify_pass_end event',
      () => d.events().some((e) => e.event === 'verify_pass_end'),
      30_000,
    )

    // Damage the target of both tables: a changed row, a deleted row, a NULL for an empty string.
    for (const t of ['items', 'notes']) {
      await fx.dbs().target.query(`UPDATE ${t} SET v = 'damaged' WHERE id = 2500;
        DELETE FROM ${t} WHERE id = 10; UPDATE ${t} SET v = NULL WHERE id = 1500`)
    }
    // Syncs go on during verification: a new source row arrives while passes run.
    await src.query("INSERT INTO items (id, v, updated_at) VALUES (5000, 'new', '2024-02-01')")
    await waitFor(
      'items repaired',
      async () => {
        const { source, target } = await expectSameRows(src, fx.dbs().target, 'items', ['id'])
        return JSON.stringify(source) === JSON.stringify(target) ? true : undefined
      },
      120_000,
    )
    // repair: false reports the differing chunks and leaves the target as it is.
    const notes = await waitFor(
      'notes differing',
      async () => {
        const s = (await status()).verify.notes
        return s && s.chunks.differing > 0 ? s : undefined
      },
      120_000,
    )
    expect(notes.rows_repaired).toBe(0)
    const [damaged] = await fx.dbs().target.query("SELECT COUNT(*) AS n FROM notes WHERE v = 'damaged'")
    expect(damaged).toEqual([{ n: '1' }])

    const m = (await get(port, '/metrics')).body
    expect(sample(m, 'dbsync_verify_chunks_total', { table: 'items', result: 'repaired' })).toBeGreaterThan(0)
    expect(sample(m, 'dbsync_verify_chunks_total', { table: 'items', result: 'equal' })).toBeGreaterThan(0)
    expect(sample(m, 'dbsync_verify_chunks_total', { table: 'notes', result: 'differing' })).toBeGreaterThan(
      0,
    )
    const last = sample(m, 'dbsync_verify_last_full_timestamp_seconds', { table: 'items' }) ?? 0
    expect(Math.abs(Date.now() / 1000 - last)).toBeLessThan(120)
    d.child.kill('SIGTERM')
    expect(await d.exit).toBe(0)
  }, 240_000)

  it('resumes a verification pass after a restart from the position saved on the target', async () => {
    const src = fx.dbs().source
    await src.query(
      'CREATE TABLE IF NOT EXISTS digits (d INT PRIMARY KEY); INSERT IGNORE INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)',
    )
    await src.query(`${DDL('resumed')}; ${ROWS('resumed')}`)
    const file = await fx.pipeline(
      'resumed',
      '  - name: resumed\n    verify: { every: 1h, max_rows_per_second: 1000 }',
      'health:\n  port: 1\n  host: 127.0.0.1\n',
    )
    const saved = async () => {
      const [rows] = await fx
        .dbs()
        .target.query(
          "SELECT next_key, pass_started_at, last_full_at, chunks_equal FROM _sync_verify WHERE table_name = 'resumed'",
        )
      return (rows as Array<Record<string, unknown>>)[0]
    }
    // 3,000 rows in chunks of 1,000 at 1,000 rows/s: a pass spans runs. Stop after its first chunk. A pass
    // is 3 chunks of 1,000 ids (the integer key is stepped by value), the last one open-ended.
    const port1 = await freePort()
    const first = startDaemon(['sync', '-p', file, '--every', '2s', '--health-port', String(port1)])
    const before = await waitFor(
      'a pass saved half-way',
      async () => {
        const row = await saved().catch(() => undefined)
        return row && row.next_key !== null && row.last_full_at === null ? row : undefined
      },
      120_000,
    )
    first.child.kill('SIGTERM')
    expect(await first.exit).toBe(0)
    const stopped = (await saved())!
    expect(stopped.last_full_at).toBeNull()
    expect(stopped.pass_started_at).toEqual(before.pass_started_at)
    const done = Number(stopped.chunks_equal)
    expect(done).toBeGreaterThanOrEqual(1)
    expect(done).toBeLessThan(3)

    // A new process goes on from the saved key: it compares only the chunks the first one had not.
    const port2 = await freePort()
    const second = startDaemon(['sync', '-p', file, '--every', '2s', '--health-port', String(port2)])
    const end = await waitFor(
      'the pass completed by the second process',
      async () => {
        const row = await saved()
        return row?.last_full_at !== null ? row : undefined
      },
      120_000,
    )
    expect(Number(end!.chunks_equal)).toBe(3)
    const m = (await get(port2, '/metrics')).body
    expect(sample(m, 'dbsync_verify_chunks_total', { table: 'resumed', result: 'equal' })).toBe(3 - done)
    second.child.kill('SIGTERM')
    expect(await second.exit).toBe(0)
  }, 240_000)

  it('verifies with workers: shared, each table under its claim, and repairs it', async () => {
    const src = fx.dbs().source
    await src.query(
      'CREATE TABLE IF NOT EXISTS digits (d INT PRIMARY KEY); INSERT IGNORE INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)',
    )
    await src.query(`${DDL('sharedv')}; ${ROWS('sharedv')}`)
    const name = `sharedv_${process.pid}`
    const file = await fx.pipeline(
      name,
      '  - name: sharedv\n    verify: { every: 2s, max_rows_per_second: 100000 }',
      'workers: shared\nhealth:\n  port: 1\n  host: 127.0.0.1\n',
    )
    const passes = async () => {
      const [rows] = await fx
        .dbs()
        .target.query("SELECT last_full_at FROM _sync_verify WHERE table_name = 'sharedv'")
        .catch(() => [[]])
      return (rows as Array<{ last_full_at: string | null }>)[0]?.last_full_at ?? undefined
    }
    const [a, b] = [await freePort(), await freePort()].map((port) =>
      startDaemon(['sync', '-p', file, '--every', '2s', '--health-port', String(port)]),
    )
    const first = await waitFor('a full verification by one of the instances', passes, 120_000)

    // While another session holds the table's claim, no instance verifies (or syncs) it.
    const other = await openConnection(fx.dbs().targetUrl)
    try {
      await other.query('SELECT GET_LOCK(?, 30)', [`dbsync:${name}/sharedv`])
      await fx.dbs().target.query("UPDATE sharedv SET v = 'damaged' WHERE id = 42")
      const runs = (d: typeof a) => d!.events().filter((e) => e.event === 'run_end').length
      const [ra, rb] = [runs(a), runs(b)]
      await waitFor(
        'two more runs of each instance',
        () => (runs(a) >= ra + 2 && runs(b) >= rb + 2) || undefined,
        60_000,
      )
      const [held] = await fx.dbs().target.query("SELECT COUNT(*) AS n FROM sharedv WHERE v = 'damaged'")
      expect(held).toEqual([{ n: '1' }])
    } finally {
      await other.query('DO RELEASE_LOCK(?)', [`dbsync:${name}/sharedv`])
      await other.end()
    }
    await waitFor(
      'the damaged row repaired by the instance that claims the table next',
      async () => {
        const [rows] = await fx.dbs().target.query("SELECT COUNT(*) AS n FROM sharedv WHERE v = 'damaged'")
        return (rows as Array<{ n: string }>)[0]?.n === '0' || undefined
      },
      120_000,
    )
    // The pass that repaired it ends, and is saved, just after the repair commits.
    await waitFor(
      'a later full verification',
      async () => ((await passes()) !== first ? true : undefined),
      60_000,
    )
    const verified = [a, b].map((d) => d!.events().filter((e) => e.event === 'verify_pass_end').length)
    expect(verified[0]! + verified[1]!).toBeGreaterThanOrEqual(2)
    for (const d of [a, b]) d!.child.kill('SIGTERM')
    expect(await Promise.all([a!.exit, b!.exit])).toEqual([0, 0])
  }, 240_000)
})
