import { describe, expect, it } from 'vitest'
import { freePort, get, startDaemon, useScheduleFixture, waitFor } from '../support/daemon.js'

describe('a table that disappears from the source while scheduled', () => {
  const fx = useScheduleFixture()

  it('fails that table (/readyz says so) and keeps syncing the others', async () => {
    const source = fx.dbs().source
    for (const t of ['keep', 'gone']) {
      await source.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, name VARCHAR(50),
          updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`)
      await source.query(`INSERT INTO ${t} (id, name) VALUES (1, 'a')`)
    }
    const port = await freePort()
    const file = await fx.pipeline('missing', '  - name: keep\n  - name: gone\n')
    const d = startDaemon(['sync', '-p', file, '--every', '1s', '--health-port', String(port)])
    await waitFor('/readyz 200', async () => ((await get(port, '/readyz')).status === 200 ? true : undefined))
    expect(await fx.rowCount('gone')).toBe(1)

    await source.query('DROP TABLE gone')
    await source.query(`INSERT INTO keep (id, name) VALUES (2, 'b')`)
    const readyz = await waitFor(
      '/readyz 503',
      async () => {
        const r = await get(port, '/readyz')
        return r.status === 503 ? r : undefined
      },
      60_000,
    )
    expect(JSON.parse(readyz.body).reason).toContain('failed')
    await waitFor('row 2 of keep in the target', async () =>
      (await fx.rowCount('keep')) === 2 ? true : undefined,
    )
    const failed = d
      .events()
      .find((e) => e.event === 'table_end' && e.table === 'gone' && e.status === 'failed')
    expect(String(failed?.error)).toContain('table "gone" does not exist in the source database')
    d.child.kill('SIGTERM')
    expect(await d.exit).toBe(0)
  }, 180_000)
})
