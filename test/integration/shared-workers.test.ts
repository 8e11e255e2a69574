import { describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { expectSameRows } from '../support/compare.js'
import { startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'
import { openConnection } from '../support/db.js'

// workers: shared. Three scheduled instances of one pipeline split 300 small tables through per-table claims
// (GET_LOCK) on the target; one is SIGKILLed mid-run. Its claims die with its sessions, so the others pick
// its tables up; no table is ever worked on by two instances at once, and the target ends up bit-exact.
const TABLES = 300
const ROWS = 12
const names = Array.from({ length: TABLES }, (_, i) => `t${String(i).padStart(3, '0')}`)

describe('workers: shared', () => {
  const fx = useScheduleFixture()

  it('three instances share 300 tables, one is killed mid-run, every table is synced by one at a time', async () => {
    const { source, target } = fx.dbs()
    for (let i = 0; i < TABLES; i += 50) {
      const sqlText = names
        .slice(i, i + 50)
        .map(
          (t, j) =>
            `CREATE TABLE \`${t}\` (id INT PRIMARY KEY, v VARCHAR(40), d DECIMAL(30,10), updated_at DATETIME(6) NOT NULL);` +
            `INSERT INTO \`${t}\` VALUES ${Array.from(
              { length: ROWS },
              (_, k) =>
                `(${k + 1}, '${t}-${k}-ü', ${i + j}${k}.0123456789, '2024-01-0${1 + (k % 9)} 10:00:00.${String(k).padStart(6, '0')}')`,
            ).join(', ')};`,
        )
        .join('\n')
      await source.query(sqlText)
    }
    const name = `shared_${process.pid}`
    const file = await fx.pipeline(name, "  - name: 't*'", 'workers: shared\nconcurrency: 3')
    const start = (i: number) =>
      startDaemon(['sync', '-p', file, '--every', '2s'], {
        DBSYNC_INSTANCE: `worker-${i}`,
      })
    const workers = [start(0), start(1), start(2)]
    const [victim] = workers
    // Kill the first instance once it is in the middle of its first run, holding claims.
    await waitFor(
      'the first instance to finish some tables',
      () => victim!.events().filter((e) => e.event === 'table_end' && e.status === 'ok').length >= 5,
      120_000,
    )
    victim!.child.kill('SIGKILL')
    const killedAt = Date.now()
    await victim!.exit

    // Meanwhile `status` names the instance working on each running table, and calls no live run abandoned.
    const victimRuns = new Set(victim!.events().map((e) => e.run as string))
    const holders = new Set<string>()
    let sawRunning = false
    const wrong: string[] = []
    await waitFor(
      'every table synced',
      async () => {
        const st = await runCli(['status', '-p', file, '--json'])
        const report = JSON.parse(st.stdout) as {
          tables: Array<{ table: string; status: string; held_by: string | null }>
          runs: Array<{ load_id: string; status: string }>
        }
        for (const t of report.tables) {
          if (t.status === 'running' && !['worker-1', 'worker-2'].includes(t.held_by ?? ''))
            wrong.push(`${t.table}: running, held by ${t.held_by}`)
          if (t.held_by) holders.add(t.held_by)
          if (t.status === 'running') sawRunning = true
        }
        for (const r of report.runs.filter((x) => x.status === 'abandoned'))
          if (!victimRuns.has(r.load_id)) wrong.push(`run ${r.load_id} reported abandoned`)
        return report.tables.filter((t) => t.status === 'ok').length === TABLES
      },
      250_000,
    )
    expect(wrong).toEqual([])
    // On a loaded machine every table may finish between two status calls (each starts a CLI); when a
    // call did see tables at work, it named their holders.
    if (sawRunning) expect(holders.size, 'status named the instances at work').toBeGreaterThan(0)
    for (const w of workers.slice(1)) w.child.kill('SIGTERM')
    for (const w of workers.slice(1)) expect(await w.exit).toBe(0)

    // Each instance's table_start..table_end intervals, the victim's open ones ending when it was killed.
    const spans = new Map<string, Array<{ worker: number; from: number; to: number }>>()
    let skipped = 0
    workers.forEach((w, worker) => {
      const open = new Map<string, number>()
      for (const e of w.events()) {
        const table = e.table as string
        if (e.event === 'table_start') open.set(table, Date.parse(e.time as string))
        if (e.event === 'table_end' && e.status === 'skipped') skipped++
        if (e.event === 'table_end' && open.has(table)) {
          const list = spans.get(table) ?? []
          list.push({ worker, from: open.get(table)!, to: Date.parse(e.time as string) })
          spans.set(table, list)
          open.delete(table)
        }
      }
      for (const [table, from] of open) {
        spans.set(table, [...(spans.get(table) ?? []), { worker, from, to: killedAt }])
      }
    })
    expect(skipped, 'instances skipped the tables others held or had synced').toBeGreaterThan(0)
    expect(spans.size).toBe(TABLES)
    for (const [table, list] of spans) {
      const sorted = [...list].sort((a, b) => a.from - b.from)
      for (let i = 1; i < sorted.length; i++) {
        const [a, b] = [sorted[i - 1]!, sorted[i]!]
        expect(
          a.worker === b.worker || b.from >= a.to,
          `${table}: worker-${a.worker} and worker-${b.worker} at once`,
        ).toBe(true)
      }
    }
    // More than one instance did real work.
    const workedBy = new Set([...spans.values()].flat().map((s) => s.worker))
    expect(workedBy.size).toBeGreaterThanOrEqual(2)

    for (const t of names) {
      const { source: a, target: b } = await expectSameRows(source, target, t, ['id'])
      expect(b, t).toEqual(a)
    }
  }, 420_000)
})

describe('workers: shared, one table held elsewhere', () => {
  const fx = useScheduleFixture()

  it('skips a table whose claim another session holds, and exits 4 while a run that must be alone holds the pipeline', async () => {
    const { source, target, targetUrl } = fx.dbs()
    await source.query(
      'CREATE TABLE a (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL); INSERT INTO a VALUES (1, NOW(6));' +
        'CREATE TABLE b (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL); INSERT INTO b VALUES (1, NOW(6));',
    )
    const name = `shared_hold_${process.pid}`
    const file = await fx.pipeline(name, '  - name: a\n  - name: b', 'workers: shared')
    const other = await openConnection(targetUrl)
    try {
      // Another instance works on table a.
      await other.query('SELECT GET_LOCK(?, 0)', [`dbsync:${name}/a`])
      const res = await runCli(['sync', '-p', file, '--json'])
      expect(res.exitCode, res.stderr).toBe(0)
      const tables = JSON.parse(res.stdout).tables as Array<{
        table: string
        status: string
        warnings: string[]
      }>
      expect(tables.find((t) => t.table === 'a')).toMatchObject({ status: 'skipped' })
      expect(tables.find((t) => t.table === 'a')?.warnings.join()).toContain('held by another instance')
      expect(tables.find((t) => t.table === 'b')).toMatchObject({ status: 'ok' })
      const [aRows] = await target.query("SHOW TABLES LIKE 'a'")
      expect(aRows).toEqual([])
      await other.query('DO RELEASE_LOCK(?)', [`dbsync:${name}/a`])

      // A full refresh of every table holds the pipeline lock: shared runs wait their turn (exit 4).
      await other.query('SELECT GET_LOCK(?, 0)', [`dbsync:${name}`])
      const locked = await runCli(['sync', '-p', file, '--json'])
      expect(locked.exitCode, locked.stderr).toBe(4)
      expect(JSON.parse(locked.stdout).error).toContain('must be alone')
      await other.query('DO RELEASE_LOCK(?)', [`dbsync:${name}`])

      // Once free, the table is synced.
      const next = await runCli(['sync', '-p', file, '--json'])
      expect(next.exitCode, next.stderr).toBe(0)
      expect(await fx.rowCount('a')).toBe(1)

      // A full refresh of every table takes the pipeline lock and waits for the claims in use.
      await other.query('SELECT GET_LOCK(?, 0)', [`dbsync:${name}/b`])
      const refresh = runCli(['sync', '-p', file, '--full-refresh', '--json'])
      await waitFor(
        'the refresh to hold the pipeline lock',
        async () => {
          const [rows] = await target.query('SELECT IS_USED_LOCK(?) AS id', [`dbsync:${name}`])
          return (rows as Array<{ id: unknown }>)[0]?.id != null
        },
        60_000,
      )
      await other.query('DO RELEASE_LOCK(?)', [`dbsync:${name}/b`])
      const refreshed = await refresh
      expect(refreshed.exitCode, refreshed.stderr).toBe(0)
      const statuses = (JSON.parse(refreshed.stdout).tables as Array<{ status: string }>).map((t) => t.status)
      expect(statuses).toEqual(['ok', 'ok'])
    } finally {
      await other.end()
    }
  })
})
