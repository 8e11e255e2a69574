import { describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { expectSameRows } from '../support/compare.js'
import { startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'

// SIGTERM while a scheduled run is going: the batches in flight commit, the run is recorded as
// interrupted, the process exits 0 within shutdown_timeout, and the next run carries on from there.
describe('graceful shutdown of a scheduled sync', () => {
  const fx = useScheduleFixture()
  const { pipeline, expectNoPassword } = fx

  it('stops after the current batch on SIGTERM, exits 0, and the next run resumes', async () => {
    const total = 20_000
    await fx
      .dbs()
      .source.query(`CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)`)
    const digits = `(SELECT 0 d ${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `UNION ALL SELECT ${i}`).join(' ')})`
    await fx.dbs().source.query(`INSERT INTO big
      SELECT n, CONCAT('v', n), '2024-01-01' + INTERVAL n SECOND FROM (
        SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1 AS n
          FROM ${digits} a, ${digits} b, ${digits} c, ${digits} e, (SELECT 0 d UNION ALL SELECT 1) f) s
       WHERE n <= ${total}`)
    const slow = await pipeline('bigpipe', '  - name: big\n    batch_size: 10\n', 'shutdown_timeout: 15s\n')
    const d = startDaemon(['sync', '-p', slow, '--every', '1m'])
    const count = async () => {
      const [r] = await fx.dbs().target.query('SELECT COUNT(*) AS n, MAX(id) AS mx FROM big')
      const row = (r as Array<{ n: string; mx: number | null }>)[0]!
      return { n: Number(row.n), mx: row.mx }
    }
    await waitFor('the first batches', async () => ((await count()).n > 0 ? true : undefined))
    d.child.kill('SIGTERM')
    expect(await d.exit).toBe(0)
    // Within shutdown_timeout, by the process's own account: the run stopped before the bound, so nothing
    // had to be cut off (a wall-clock assertion here would fail on a loaded machine, not on a slow stop).
    const events = d.events()
    expect(events.map((e) => e.event)).not.toContain('shutdown_timeout')
    expect(events.find((e) => e.event === 'shutdown_done')).toMatchObject({ clean: true })

    // Consistent: a gap-free prefix in cursor order, and the state row agrees with the target.
    const after = await count()
    expect(after.n).toBeLessThan(total)
    expect(after.mx).toBe(after.n)
    const [state] = await fx
      .dbs()
      .target.query(`SELECT rows_synced, status FROM _sync_state WHERE pipeline = 'bigpipe'`)
    expect((state as Array<{ rows_synced: string | number; status: string }>)[0]).toMatchObject({
      status: 'interrupted',
    })
    expect(Number((state as Array<{ rows_synced: string }>)[0]!.rows_synced)).toBe(after.n)
    const [runs] = await fx.dbs().target.query(`SELECT status FROM _sync_runs WHERE pipeline = 'bigpipe'`)
    expect((runs as Array<{ status: string }>).map((r) => r.status)).toEqual(['interrupted'])
    expect(d.events().find((e) => e.event === 'run_end')).toMatchObject({ status: 'interrupted' })

    // Same pipeline name, bigger batches: the next run reads only what is left.
    const fast = await pipeline('bigpipe', '  - name: big\n    batch_size: 5000\n')
    const res = await runCli(['sync', '-p', fast, '--json'])
    expect(res.exitCode).toBe(0)
    const result = JSON.parse(res.stdout)
    // Resumed, not restarted: it reads what is left (the engine may re-read the boundary row).
    expect(result.tables[0].rows_read).toBeGreaterThanOrEqual(total - after.n)
    expect(result.tables[0].rows_read).toBeLessThanOrEqual(total - after.n + 1)
    const { source, target } = await expectSameRows(fx.dbs().source, fx.dbs().target, 'big', ['id'])
    expect(target).toEqual(source)
    expectNoPassword(d.stderr(), res.stderr)
  })

  it('exits 0 within shutdown_timeout even when the running query is stuck', async () => {
    await fx.dbs().source.query(`CREATE TABLE stuck (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)`)
    await fx.dbs().source.query(`INSERT INTO stuck VALUES (1, '2024-01-01 00:00:00')`)
    const file = await pipeline('stuckpipe', '  - name: stuck\n', 'shutdown_timeout: 2s\n')
    // The read of `stuck` waits for this lock for as long as the test holds it: no batch can finish.
    await fx.dbs().source.query('LOCK TABLES stuck WRITE')
    try {
      const d = startDaemon(['sync', '-p', file, '--every', '1m'])
      await waitFor(
        'the table to start',
        () => d.events().some((e) => e.event === 'table_start') || undefined,
      )
      // Only a read that is waiting on the lock is stuck; a signal before it would find nothing to cut off.
      await waitFor('the read to wait on the table lock', async () => {
        const [rows] = await fx.dbs().source.query(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
            WHERE DB = DATABASE() AND INFO LIKE '%stuck%' AND STATE LIKE 'Waiting for table%'`,
        )
        return Number((rows as Array<{ n: string | number }>)[0]!.n) > 0
      })
      d.child.kill('SIGTERM')
      expect(await d.exit).toBe(0)
      // The bound was reached and the stuck run cut off (how long that took on the wall clock depends on the
      // machine's load, so it is not asserted).
      const events = d.events()
      expect(events.map((e) => e.event)).toContain('shutdown_timeout')
      expect(events.find((e) => e.event === 'shutdown_done')).toMatchObject({ clean: false })
    } finally {
      await fx.dbs().source.query('UNLOCK TABLES')
    }
  })
})
