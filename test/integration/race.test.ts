import { afterAll, beforeAll, expect, inject, it } from 'vitest'
import { runRace } from '../race/harness.js'
import { ownServer } from '../support/external.js'
import { createDatabasesOn } from '../support/own-dbs.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'

// The race harness of issue 12, bounded: writers of every kind, an INNODB_TRX poller, a source server in a
// non-UTC system time zone, `sync --every 2s` SIGKILLed at random moments. No row may be lost or damaged.
// Longer runs: `npm run soak -- --minutes N`.
const SECONDS = Number(process.env.DBSYNC_RACE_SECONDS ?? 90)

const own = ownServer('a source server of its own in a non-UTC system time zone')

own.describe('race harness', () => {
  let server: ThrowawayServer
  beforeAll(async () => {
    // Its own source: the writers' long transactions and the poller hold back every sync on the server.
    server = await startServer({ name: 'race-source', env: { TZ: 'Asia/Kolkata' } })
  }, 180_000)
  afterAll(async () => {
    await server?.stop()
  })

  it(
    'ends bit-exact after concurrent writers, late commits, a poller and SIGKILLed scheduled syncs',
    async () => {
      const dbs = await createDatabasesOn(server.url, inject('targetUrl'))
      try {
        const report = await runRace({
          sourceUrl: dbs.sourceUrl,
          targetUrl: dbs.targetUrl,
          name: `race_${dbs.targetDb}`.slice(0, 64),
          durationMs: SECONDS * 1000,
        })
        const summary = JSON.stringify({ ...report, validate: undefined, finalSync: undefined })
        expect(report.finalSync.exitCode, report.finalSync.output).toBe(0)
        expect(report.mismatches, summary).toEqual([])
        expect(report.validate.exitCode, report.validate.output).toBe(0)
        // The race did race: commits, late commits, rollbacks and kills all happened.
        expect(report.writes.commits, summary).toBeGreaterThan(100)
        expect(report.writes.longTransactions, summary).toBeGreaterThan(0)
        expect(report.writes.rollbacks, summary).toBeGreaterThan(0)
        expect(report.kills, summary).toBeGreaterThan(0)
      } finally {
        await dbs.drop()
      }
    },
    (SECONDS + 200) * 1000,
  )
})
