import type mysql from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { openConnection, type TestDbs } from '../support/db.js'
import { ownServer } from '../support/external.js'
import { figure, retries, rowsSynced, startSync, waitFor } from '../support/faults.js'
import { createBigTable, createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// Fault injection for real: a target server of this file's own is SIGKILLed or made to time out lock
// waits (network cuts and stalls are in faults-network.test.ts). Figures (retries, seconds) are printed on
// stderr as `faults:` lines for README's Reliability section.

const own = ownServer('a target server to kill and restart')

own.describe('server faults on a target server of this file', () => {
  let server: ThrowawayServer
  let dbs: TestDbs

  beforeAll(async () => {
    server = await startServer({ name: 'faults-target' })
  })
  afterAll(async () => {
    await server?.stop()
  })
  beforeEach(async () => {
    dbs = await createDatabasesOn(inject('sourceUrl'), server.url)
  })
  afterEach(async () => {
    await dbs?.drop()
  })

  async function expectSame(table: string, target: mysql.Connection = dbs.target) {
    const { source, target: copy } = await expectSameRows(dbs.source, target, table, ['id'])
    expect(copy).toEqual(source)
    return copy.length
  }

  const KILL_ROWS = 50_000
  const killModes = [
    {
      name: 'rides out a restart within its retry budget',
      retry: '{ attempts: 8, base_delay: 500ms, max_delay: 3s }',
    },
    {
      name: 'fails cleanly when the server stays down',
      retry: '{ attempts: 2, base_delay: 200ms, max_delay: 200ms }',
    },
  ]
  for (const mode of killModes) {
    it(`SIGKILL of the target mid-load: ${mode.name}; the next run completes`, async () => {
      await createBigTable(dbs.source, KILL_ROWS)
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          tables: '  - name: big\n    cursor: updated_at\n    batch_size: 500',
          extra: `retry: ${mode.retry}`,
        }),
      )
      const run = startSync(file)
      if (!(await waitFor(async () => (await rowsSynced(dbs.target)) >= 10_000, run.done))) {
        const r = await run.result
        expect.fail(
          `the load ended before 10,000 rows were committed: exit ${r.exitCode}\n${r.stderr.slice(-3000)}`,
        )
      }
      const downAt = Date.now()
      await server.kill()
      const staysDown = mode.retry.includes('attempts: 2')
      if (staysDown) await run.result
      await server.restart()
      const downFor = (Date.now() - downAt) / 1000
      const res = await run.result
      const summary = JSON.parse(res.stdout)
      if (staysDown) {
        expect(res.exitCode, res.stderr).toBe(1)
        expect(summary.tables[0].status).toBe('failed')
        expect(summary.tables[0].error).toMatch(/connect|lost|closed|reset|refused/i)
      } else {
        // Either outcome is clean: the run rode out the restart (exit 0), or gave up with a message (exit 1).
        expect([0, 1], res.stderr).toContain(res.exitCode)
      }
      const target = await openConnection(dbs.targetUrl)
      try {
        const committed = await rowsSynced(target)
        const next = await runCli(['sync', '-p', file, '--json'])
        expect(next.exitCode, next.stderr).toBe(0)
        expect(await expectSame('big', target)).toBe(KILL_ROWS)
        figure(
          `target SIGKILL (down ${downFor.toFixed(1)} s): run exit ${res.exitCode} after ${retries(res).length} ` +
            `retries${res.exitCode ? ` ("${summary.tables[0].error}")` : ''}; next run read ` +
            `${JSON.parse(next.stdout).tables[0].rows_read} rows, ${committed} were committed`,
        )
      } finally {
        await target.end()
      }
    })
  }

  /**
   * A table `items` of `rows` rows (cursor values well below any cap), synced once; `options` are added to
   * its table entry. Returns the pipeline file.
   */
  async function syncedItems(rows = 200, options = ''): Promise<string> {
    await dbs.source.query(
      'CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at))',
    )
    await dbs.source.query(
      `INSERT INTO items SELECT seq, CONCAT('v', seq), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_${rows}`,
    )
    const file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        tables: `  - name: items\n    cursor: updated_at${options}`,
        extra: 'retry: { attempts: 10, base_delay: 300ms, max_delay: 1s }',
      }),
    )
    const first = await runCli(['sync', '-p', file])
    expect(first.exitCode, first.stderr).toBe(0)
    return file
  }

  it('retries lock wait timeouts while another transaction holds the rows, and succeeds once it commits', async () => {
    const file = await syncedItems()
    // Lock waits end after 2 s instead of 50 for sessions opened from now on (dbsync's). Set here, not in
    // beforeAll: the SIGKILL test restarts the server, which forgets globals.
    await dbs.target.query('SET GLOBAL innodb_lock_wait_timeout = 2')
    await dbs.source.query(
      `UPDATE items SET v = CONCAT('changed', id), updated_at = '2024-06-01' + INTERVAL id SECOND WHERE id <= 50`,
    )
    const competitor = await openConnection(dbs.targetUrl)
    try {
      await competitor.query('START TRANSACTION')
      await competitor.query('SELECT * FROM items WHERE id BETWEEN 1 AND 50 FOR UPDATE')
      const run = startSync(file)
      // Hold the rows until the sync has waited, timed out and come back waiting in a new transaction:
      // two different waiting transaction ids. (INNODB_TRX is a cache the server refreshes only once
      // nobody has read it for 100 ms, hence the slow polling.)
      const waiters = new Set<string>()
      const retried = await waitFor(
        async () => {
          const [rows] = await dbs.target.query(
            "SELECT trx_id AS id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
          )
          for (const r of rows as Array<{ id: string }>) waiters.add(String(r.id))
          return waiters.size >= 2
        },
        run.done,
        150,
      )
      expect(retried, `waiting transactions seen: ${[...waiters].join(', ')}`).toBe(true)
      const heldFor = run.seconds()
      await competitor.query('COMMIT')
      const res = await run.result
      expect(res.exitCode, res.stderr).toBe(0)
      const tries = retries(res)
      expect(tries.length).toBeGreaterThanOrEqual(1)
      expect(tries.every((t) => t.code === 'ER_LOCK_WAIT_TIMEOUT')).toBe(true)
      expect(JSON.parse(res.stdout).tables[0]).toMatchObject({ status: 'ok', updated: 50 })
      await expectSame('items')
      figure(
        `lock held ${heldFor.toFixed(1)} s (innodb_lock_wait_timeout=2): ${tries.length} retries, then ok in ${run.seconds().toFixed(1)} s`,
      )
    } finally {
      await competitor.end()
    }
  })

  it('counts every deleted row when delete detection is retried after a lock wait half-way', async () => {
    // 2,000 rows: bisection compares them in leaves of at most 500, each deleting on its own.
    const file = await syncedItems(2000, '\n    deletes: detect')
    await dbs.target.query('SET GLOBAL innodb_lock_wait_timeout = 2')
    // Gone at both ends of the key range: the low keys are deleted before the run reaches the locked one.
    await dbs.source.query('DELETE FROM items WHERE id IN (3, 4, 5, 1990, 2000)')
    const competitor = await openConnection(dbs.targetUrl)
    try {
      await competitor.query('START TRANSACTION')
      await competitor.query('SELECT * FROM items WHERE id = 2000 FOR UPDATE')
      const run = startSync(file)
      const waiting = async () => {
        const [rows] = await dbs.target.query(
          "SELECT trx_id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
        )
        return (rows as Array<{ trx_id: string | number }>).map((r) => String(r.trx_id))
      }
      let first: string | undefined
      const waited = await waitFor(
        async () => {
          first = (await waiting())[0]
          return first !== undefined
        },
        run.done,
        150,
      )
      expect(waited).toBe(true)
      // Let the first DELETE time out (its transaction stops waiting), then free the row for the retry.
      expect(await waitFor(async () => !(await waiting()).includes(first!), run.done, 100)).toBe(true)
      await competitor.query('COMMIT')
      const res = await run.result
      expect(res.exitCode, res.stderr).toBe(0)
      expect(retries(res).map((t) => t.code)).toContain('ER_LOCK_WAIT_TIMEOUT')
      expect(JSON.parse(res.stdout).tables[0]).toMatchObject({ status: 'ok', deleted: 5 })
      expect(await expectSame('items')).toBe(1995)
    } finally {
      await competitor.end()
    }
  })

  it('retries a deadlock in which the target picked the sync as the victim', async () => {
    const file = await syncedItems()
    // Rows 1 and 100 change, and are written in that order in one statement.
    await dbs.source.query(
      `UPDATE items SET v = 'deadlock', updated_at = '2024-06-01' + INTERVAL id SECOND WHERE id IN (1, 100)`,
    )
    // The competitor is heavy (3,000 undo records), so InnoDB rolls back the sync, the lighter one.
    await dbs.target.query('CREATE TABLE scratch (id INT PRIMARY KEY, n INT NOT NULL)')
    await dbs.target.query('INSERT INTO scratch SELECT seq, 0 FROM seq_1_to_3000')
    const competitor = await openConnection(dbs.targetUrl)
    try {
      await competitor.query('START TRANSACTION')
      await competitor.query('UPDATE scratch SET n = n + 1')
      await competitor.query('SELECT * FROM items WHERE id = 100 FOR UPDATE')
      const run = startSync(file)
      const t0 = Date.now()
      // The sync has locked row 1 and waits for row 100... INNODB_TRX is a cache that the server refreshes
      // only once nobody has read it for 100 ms, hence the slower polling.
      const waiting = await waitFor(
        async () => {
          const [rows] = await dbs.target.query(
            "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
          )
          return Number((rows as Array<{ n: string }>)[0]?.n) > 0
        },
        run.done,
        150,
      )
      expect(waiting).toBe(true)
      const waitedAt = (Date.now() - t0) / 1000
      // ...so asking for row 1 closes the cycle.
      await competitor.query('SELECT * FROM items WHERE id = 1 FOR UPDATE')
      await competitor.query('ROLLBACK')
      const res = await run.result
      expect(res.exitCode, res.stderr).toBe(0)
      const tries = retries(res)
      expect(tries.map((t) => t.code)).toContain('ER_LOCK_DEADLOCK')
      await expectSame('items')
      figure(
        `deadlock: sync the victim after ${waitedAt.toFixed(1)} s, ${tries.length} retry (${tries.map((t) => t.code).join(', ')}), ok in ${run.seconds().toFixed(1)} s`,
      )
    } finally {
      await competitor.end()
      await dbs.target.query('DROP TABLE IF EXISTS scratch')
    }
  })
})
