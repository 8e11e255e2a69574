import { setTimeout as sleep } from 'node:timers/promises'
import type mysql from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { type CliResult, runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, openConnection, type TestDbs } from '../support/db.js'
import { ownServer } from '../support/external.js'
import { createBigTable, createDatabasesOn } from '../support/own-dbs.js'
import { startProxy, type TcpProxy } from '../support/proxy.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// Fault injection for real: a TCP proxy between dbsync and a server cuts, stalls or refuses connections,
// and a server of this file's own is SIGKILLed or made to time out lock waits. Figures (retries, seconds)
// are printed on stderr as `faults:` lines for README's Reliability section.

const ROWS = 100_000

/** `_sync_state.rows_synced` of `table`, or 0 before the state table or row exists. */
async function rowsSynced(conn: mysql.Connection, table = 'big'): Promise<number> {
  try {
    const [rows] = await conn.query('SELECT rows_synced AS n FROM _sync_state WHERE table_name = ?', [table])
    return Number((rows as Array<{ n: string }>)[0]?.n ?? 0)
  } catch {
    return 0
  }
}

/** Polls `cond` every `everyMs` until it holds or `stop()` does; false when it gave up. */
async function waitFor(cond: () => Promise<boolean>, stop: () => boolean, everyMs = 20) {
  const deadline = Date.now() + 150_000
  while (Date.now() < deadline && !stop()) {
    if (await cond().catch(() => false)) return true
    await sleep(everyMs)
  }
  return false
}

/** The `table_retry` log lines of a run (JSON logs on stderr). */
function retries(res: CliResult): Array<{ attempt: number; delay_ms: number; code?: string; error: string }> {
  return res.stderr
    .split('\n')
    .filter((l) => l.includes('"table_retry"'))
    .map((l) => JSON.parse(l))
}

/** Starts `dbsync sync` and reports when it ends, so a test can inject faults while it runs. */
function startSync(file: string, timeoutMs = 170_000) {
  let done = false
  const started = Date.now()
  const result = runCli(['sync', '-p', file, '--json', '--log-format', 'json'], { timeoutMs }).finally(() => {
    done = true
  })
  return { result, done: () => done, seconds: () => (Date.now() - started) / 1000 }
}

/** Cut once `bytes` more have flowed down; 0 (no cut) if the run ends first, instead of waiting forever. */
function cutAfterOrDone(p: TcpProxy, bytes: number, run: { result: Promise<unknown> }): Promise<number> {
  return Promise.race([p.cutAfter(bytes), run.result.then(() => 0)])
}

function figure(text: string): void {
  process.stderr.write(`faults: ${text}\n`)
}

describe('network faults between dbsync and the servers', () => {
  let dbs: TestDbs
  let proxy: TcpProxy | undefined
  let other: TcpProxy | undefined

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await createBigTable(dbs.source, ROWS)
  })
  afterAll(async () => {
    await dbs?.drop()
  })
  afterEach(async () => {
    await proxy?.close()
    await other?.close()
    proxy = undefined
    other = undefined
    // Each test starts from an empty target.
    await dbs.target.query('DROP TABLE IF EXISTS big, _sync_state, _sync_runs')
  })

  async function proxyTo(url: string): Promise<TcpProxy> {
    const server = new URL(url)
    return startProxy({ targetHost: server.hostname, targetPort: Number(server.port) })
  }

  /** A pipeline with `side` (or both) reached through a proxy: `proxy` (and `other` for the target). */
  async function pipelineThrough(
    side: 'source' | 'target' | 'both' | 'none',
    retry: string,
  ): Promise<string> {
    if (side !== 'none') proxy = await proxyTo(side === 'target' ? dbs.targetUrl : dbs.sourceUrl)
    if (side === 'both') other = await proxyTo(dbs.targetUrl)
    const direct = { url: (url: string) => url }
    return writeTempPipeline(
      pipelineYaml({
        name: 'faults',
        sourceUrl: (side === 'source' || side === 'both' ? proxy! : direct).url(dbs.sourceUrl),
        targetUrl: (side === 'target' ? proxy! : side === 'both' ? other! : direct).url(dbs.targetUrl),
        tables: '  - name: big\n    cursor: updated_at\n    batch_size: 500',
        extra: `retry: ${retry}`,
      }),
    )
  }

  async function expectTargetEqualsSource() {
    const { source, target } = await expectSameRows(dbs.source, dbs.target, 'big', ['id'])
    expect(target.length).toBe(ROWS)
    expect(target).toEqual(source)
  }

  for (const side of ['source', 'target'] as const) {
    it(`completes a 100k-row load by itself when every ${side} connection is cut 3 times`, async () => {
      const file = await pipelineThrough(side, '{ attempts: 6, base_delay: 200ms, max_delay: 2s }')
      const p = proxy!
      // A 100k-row first load takes about a second at full speed: too fast to land three cuts in it.
      if (side === 'source') p.throttle(10)
      const run = startSync(file)
      const cuts: number[] = []
      for (const at of [15_000, 40_000, 65_000]) {
        if (!(await waitFor(async () => (await rowsSynced(dbs.target)) >= at, run.done))) break
        // The first cut on the source lands mid-result-set: a few KB into the next batch's rows.
        cuts.push(side === 'source' && cuts.length === 0 ? await cutAfterOrDone(p, 3000, run) : p.cutAll())
      }
      const res = await run.result
      expect(res.exitCode, res.stderr).toBe(0)
      expect(cuts).toHaveLength(3)
      expect(cuts.every((n) => n > 0)).toBe(true)
      const tries = retries(res)
      expect(tries.length).toBeGreaterThanOrEqual(3)
      const summary = JSON.parse(res.stdout)
      expect(summary.status).toBe('ok')
      await expectTargetEqualsSource()
      figure(
        `${side} cut 3x (${cuts.join('+')} connections): ${tries.length} retries ` +
          `[${tries.map((t) => `${t.code ?? t.error} ${t.delay_ms}ms`).join(', ')}], ` +
          `${run.seconds().toFixed(1)} s, ${summary.tables[0].rows_read} rows read for ${ROWS}`,
      )
    })
  }

  it('fails with exit 1 when the outage outlasts the retry budget, and the next run completes', async () => {
    const file = await pipelineThrough('target', '{ attempts: 2, base_delay: 100ms, max_delay: 200ms }')
    const p = proxy!
    const run = startSync(file)
    expect(await waitFor(async () => (await rowsSynced(dbs.target)) >= 20_000, run.done)).toBe(true)
    p.refuse()
    p.cutAll()
    const failed = await run.result
    const failedAfter = run.seconds()
    expect(failed.exitCode, failed.stderr).toBe(1)
    const summary = JSON.parse(failed.stdout)
    expect(summary.status).toBe('failed')
    expect(summary.tables[0]).toMatchObject({ table: 'big', status: 'failed' })
    // The message names what happened, not just "failed", and that the retries ran out.
    expect(summary.tables[0].error).toMatch(/connection|closed|reset|lost/i)
    expect(summary.tables[0].error).toMatch(/^gave up after 2 attempts: /)
    expect(retries(failed)).toHaveLength(1)
    const committed = await rowsSynced(dbs.target)
    expect(committed).toBeGreaterThanOrEqual(20_000)
    expect(committed).toBeLessThan(ROWS)

    p.accept()
    const next = await runCli(['sync', '-p', file, '--json'])
    expect(next.exitCode, next.stderr).toBe(0)
    // It resumed from the committed position instead of starting over.
    expect(JSON.parse(next.stdout).tables[0].rows_read).toBeLessThanOrEqual(ROWS - committed + 500)
    await expectTargetEqualsSource()
    figure(
      `outage beyond the budget (2 attempts): exit 1 in ${failedAfter.toFixed(1)} s with "${summary.tables[0].error}"; ` +
        `the next run resumed at ${committed} committed rows and read ${JSON.parse(next.stdout).tables[0].rows_read}`,
    )
  })

  it('survives a 5 s stall of the source connection and completes once traffic flows again', async () => {
    const file = await pipelineThrough('source', '{ attempts: 3, base_delay: 200ms, max_delay: 1s }')
    const p = proxy!
    const run = startSync(file)
    expect(await waitFor(async () => (await rowsSynced(dbs.target)) >= 20_000, run.done)).toBe(true)
    p.stall()
    // Rows already read (a prefetched batch, bytes in the socket buffers) may still land, which takes longer
    // on a loaded machine: wait until the committed count has stopped moving for 1.5 s; then nothing more.
    let stalledAt = await rowsSynced(dbs.target)
    for (;;) {
      await sleep(1_500)
      const now = await rowsSynced(dbs.target)
      if (now === stalledAt) break
      stalledAt = now
    }
    await sleep(4_000)
    expect(run.done()).toBe(false)
    expect(await rowsSynced(dbs.target)).toBe(stalledAt)
    p.resume()
    const resumedAt = run.seconds()
    const res = await run.result
    expect(res.exitCode, res.stderr).toBe(0)
    await expectTargetEqualsSource()
    figure(
      `source stalled 5.5 s at ${stalledAt} rows: the run waited, then finished ${(run.seconds() - resumedAt).toFixed(1)} s ` +
        `after traffic resumed, ${retries(res).length} retries`,
    )
  })

  // Last in this block: it changes the shared source table.
  it('merges 60k changed rows by itself while source and target connections are cut mid-run', async () => {
    // The first load goes straight to the servers (the same pipeline name, so the same state).
    const first = await runCli(['sync', '-p', await pipelineThrough('none', '{ attempts: 1 }')])
    expect(first.exitCode, first.stderr).toBe(0)
    const file = await pipelineThrough('both', '{ attempts: 6, base_delay: 200ms, max_delay: 2s }')
    await dbs.source.query(
      "UPDATE big SET payload = CONCAT('changed-', id), updated_at = updated_at + INTERVAL 1 DAY WHERE id <= 60000",
    )
    const base = await rowsSynced(dbs.target)
    const run = startSync(file, 280_000)
    const cuts: number[] = []
    for (const [at, cut] of [
      [15_000, () => other!.cutAll()],
      [35_000, () => cutAfterOrDone(proxy!, 2000, run)],
    ] as const) {
      if (!(await waitFor(async () => (await rowsSynced(dbs.target)) - base >= at, run.done))) break
      cuts.push(await cut())
    }
    const res = await run.result
    expect(res.exitCode, res.stderr).toBe(0)
    expect(cuts).toHaveLength(2)
    expect(cuts.every((n) => n > 0)).toBe(true)
    const summary = JSON.parse(res.stdout)
    // Every row was merged as an update of an existing one (a batch whose COMMIT answer was lost in a cut
    // is committed but not counted, hence no exact count).
    expect(summary.tables[0]).toMatchObject({ status: 'ok', inserted: 0 })
    expect(summary.tables[0].updated).toBeLessThanOrEqual(60_000)
    await expectTargetEqualsSource()
    const tries = retries(res)
    figure(
      `incremental merge of 60000 changed rows, target then source cut: ${tries.length} retries ` +
        `[${tries.map((t) => t.code ?? '?').join(', ')}], ${run.seconds().toFixed(1)} s, ` +
        `${summary.tables[0].rows_read} rows read, ${summary.tables[0].updated} updated`,
    )
    // Under a loaded CI machine a first load, a merge and two rounds of retries can take over a minute.
  }, 300_000)
})

describe('network stall', () => {
  let dbs: TestDbs
  let proxy: TcpProxy | undefined
  beforeAll(async () => {
    dbs = await createTestDatabases()
    await createBigTable(dbs.source, 20_000)
  })
  afterAll(async () => {
    await proxy?.close()
    await dbs?.drop()
  })

  // A peer that stops answering without closing is not caught by TCP keepalive, since the proxy still
  // answers it. query_timeout fails the stalled statements (the run retries, fails the table and logs
  // run_end), then the pools close, and every socket still open to the stalled peer is cut, so the
  // process exits. (mysql2's destroy() only half-closes; the run lock's own connection was not cut before.)
  it('ends a run whose target connections stall for good, by query_timeout', async () => {
    const server = new URL(dbs.targetUrl)
    proxy = await startProxy({ targetHost: server.hostname, targetPort: Number(server.port) })
    const file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: proxy.url(dbs.targetUrl),
        tables: '  - name: big\n    cursor: updated_at\n    batch_size: 500',
        extra: 'retry: { attempts: 2, base_delay: 100ms, max_delay: 200ms }\nquery_timeout: 2s',
      }),
    )
    const p = proxy
    const run = startSync(file, 150_000)
    expect(await waitFor(async () => (await rowsSynced(dbs.target)) >= 2_000, run.done)).toBe(true)
    p.stall()
    const res = await run.result
    expect(res.exitCode).toBe(1)
    // The stall was caught by a timeout: a statement's timer ("query timed out"), the socket's ("no answer
    // ... (query_timeout)") or a new connection's handshake ("connect ETIMEDOUT"). The last attempt may
    // then end on any of those, or on a command queued behind a socket the timer destroyed ("Connection
    // lost"); either way the table gave up after its retries.
    const timeout = /query timed out|\(query_timeout\)|ETIMEDOUT/
    expect(retries(res)[0]?.error).toMatch(timeout)
    expect(JSON.parse(res.stdout).tables[0].error).toMatch(
      new RegExp(`^gave up after 2 attempts: .*(${timeout.source}|Connection lost)`),
    )
    figure(
      `target stalled for good (query_timeout 2s): exit ${res.exitCode} after ${run.seconds().toFixed(1)} s`,
    )
  })
})

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
