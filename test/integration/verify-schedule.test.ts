import { describe, expect, it } from 'vitest'
import { expectSameRows } from '../support/compare.js'
import { freePort, get, sample, startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'

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
    expect(d.events().some((e) => e.event === 'verify_pass_end')).toBe(true)

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
    // is 4 chunks: the last, after the 3,000th key, is empty.
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
    expect(done).toBeLessThan(4)

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
    expect(Number(end!.chunks_equal)).toBe(4)
    const m = (await get(port2, '/metrics')).body
    expect(sample(m, 'dbsync_verify_chunks_total', { table: 'resumed', result: 'equal' })).toBe(4 - done)
    second.child.kill('SIGTERM')
    expect(await second.exit).toBe(0)
  }, 240_000)
})
