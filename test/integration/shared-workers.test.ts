import { describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { expectSameRows } from '../support/compare.js'
import { startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'

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
        }
        for (const r of report.runs.filter((x) => x.status === 'abandoned'))
          if (!victimRuns.has(r.load_id)) wrong.push(`run ${r.load_id} reported abandoned`)
        return report.tables.filter((t) => t.status === 'ok').length === TABLES
      },
      250_000,
    )
    expect(wrong).toEqual([])
    expect(holders.size, 'status named the instances at work').toBeGreaterThan(0)
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
