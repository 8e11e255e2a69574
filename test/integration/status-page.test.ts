import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'
import { afterAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../support/cli.js'
import { freePort, get, startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'

// The status page as a person sees it: scheduled mode against real servers, the page loaded in headless
// Chromium (Debian's `chromium`; .ci/run installs it), assertions on the rendered DOM.
const CHROMIUM = process.env.DBSYNC_TEST_CHROMIUM ?? '/usr/bin/chromium'

describe('the status page', () => {
  const fx = useScheduleFixture()
  let browser: Browser | undefined
  afterAll(async () => {
    await browser?.close()
  })

  it('shows every table with its state, a failing table with its error and hint, and charts with points', async () => {
    expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`).toBe(true)
    const db = fx.dbs()
    await db.source.query(
      'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), updated_at DATETIME(6) NOT NULL)',
    )
    await db.source.query(
      "INSERT INTO items SELECT seq, CONCAT('item ', seq), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_500",
    )
    await db.source.query(
      'CREATE TABLE prices (id INT PRIMARY KEY, label VARCHAR(20), updated_at DATETIME(6) NOT NULL)',
    )
    await db.source.query("INSERT INTO prices VALUES (1, 'cheap', '2024-01-01'), (2, 'dear', '2024-01-02')")
    const port = await freePort()
    const name = `page_${port}`
    const file = await fx.pipeline(name, '  - name: items\n  - name: prices\n')
    const d = startDaemon(['sync', '-p', file, '--every', '1s', '--health-port', String(port)])
    const status = async () => JSON.parse((await get(port, '/status')).body)
    await waitFor('a first successful run', async () => (await status()).last_run?.status === 'ok', 60_000)
    // Narrowing a source column is a change the target cannot follow: prices fails from now on, with the
    // way out in its error.
    await db.source.query('ALTER TABLE prices MODIFY label VARCHAR(5)')
    await waitFor('prices to fail twice', async () => (await status()).consecutive_failures >= 2, 90_000)

    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As root in a container Chromium's sandbox cannot start; the page is our own, served locally.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    const page = await browser.newPage()
    await page.setViewport({ width: 1000, height: 1100 })
    const requests: string[] = []
    const consoleErrors: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(String(e)))
    // The daemon starts a run every second, and a page rendered during one shows it running (its table
    // too). One response renders the whole page, so load it until it shows the moment between two runs.
    const res = await waitFor(
      'the page between two runs',
      async () => {
        await waitFor('the run in progress to end', async () => (await status()).state === 'waiting', 60_000)
        const r = await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load' })
        const running = await page.$$eval(
          'tr.run-row[data-status="running"], tr.table-row .state',
          (els) => els.filter((e) => e.matches('tr.run-row') || e.textContent === 'running').length,
        )
        return running === 0 ? r : undefined
      },
      120_000,
    )
    expect(res?.status()).toBe(200)
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'")

    const rows = await page.$$eval('tr.table-row', (trs) =>
      trs.map((tr) => ({
        table: tr.getAttribute('data-table'),
        state: tr.querySelector('.state')?.textContent,
        error:
          tr.nextElementSibling?.classList.contains('error-row') === true
            ? (tr.nextElementSibling.querySelector('.error')?.textContent ?? null)
            : null,
      })),
    )
    expect(rows.map((r) => [r.table, r.state])).toEqual([
      ['items', 'ok'],
      ['prices', 'failed'],
    ])
    const prices = rows.find((r) => r.table === 'prices')!
    expect(prices.error).toMatch(/column label changed from varchar\(20\).*the new type is narrower/)
    expect(prices.error).toContain('run dbsync sync --full-refresh --tables prices')
    expect(rows.find((r) => r.table === 'items')!.error).toBeNull()

    // Charts: one point per run (rows/s from _sync_runs, lag from this process's runs).
    expect(await page.$$eval('#chart-rps circle', (c) => c.length)).toBeGreaterThanOrEqual(3)
    expect(await page.$$eval('#chart-lag circle', (c) => c.length)).toBeGreaterThanOrEqual(3)
    expect(await page.$$eval('#chart-rps polyline', (p) => p.length)).toBe(1)
    // The last runs, newest first, with their outcome; the pools and memory.
    const runs = await page.$$eval('tr.run-row', (trs) => trs.map((tr) => tr.getAttribute('data-status')))
    expect(runs.length).toBeGreaterThanOrEqual(3)
    expect(runs[0]).toBe('failed')
    expect(runs.at(-1)).toBe('ok')
    const pools = await page.$$eval('table.pools tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-side')),
    )
    expect(pools).toEqual(['source', 'target'])
    expect(await page.$eval('.memory', (p) => p.textContent)).toMatch(/Memory: \d+ MB resident/)
    // Styled as written: the CSP let the inline stylesheet through (a blocked one leaves th bold-less).
    expect(await page.evaluate("getComputedStyle(document.querySelector('.state-failed')).fontWeight")).toBe(
      '600',
    )

    expect(consoleErrors).toEqual([])
    expect(requests.length).toBeGreaterThan(0)
    for (const url of requests) expect(url.startsWith(`http://127.0.0.1:${port}/`), url).toBe(true)
    fx.expectNoPassword(await page.content())

    // For a human to look at (test/artifacts/ is ignored by git).
    const dir = join(repoRoot, 'test', 'artifacts')
    await mkdir(dir, { recursive: true })
    await page.screenshot({ path: join(dir, 'status-page.png'), fullPage: true })
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }])
    await page.setViewport({ width: 390, height: 844 })
    await page.screenshot({ path: join(dir, 'status-page-phone-dark.png'), fullPage: true })
    // Nothing wider than a phone's screen but the tables' own scroll boxes.
    expect(await page.evaluate('document.body.scrollWidth')).toBeLessThanOrEqual(390)

    d.child.kill('SIGTERM')
    expect(await d.exit).toBe(0)
  }, 240_000)
})
