import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'
import { cutAfterOrDone, figure, ROWS, retries, rowsSynced, startSync, waitFor } from '../support/faults.js'
import { createBigTable } from '../support/own-dbs.js'
import { startProxy, type TcpProxy } from '../support/proxy.js'

// Fault injection for real: a TCP proxy between dbsync and a server cuts, stalls or refuses connections
// (server kills and lock waits are in faults-server.test.ts). Figures (retries, seconds) are printed on
// stderr as `faults:` lines for README's Reliability section.

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
