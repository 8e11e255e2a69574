import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { repoRoot, runCli, writeTempPipeline } from '../support/cli.js'
import { definitionImage, expectSameRows, loadFixture, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

const FIXTURE = join(repoRoot, 'test/fixtures/real-schemas/sakila.sql')
const TABLES: Record<string, string[]> = {
  actor: ['actor_id'],
  address: ['address_id'],
  film: ['film_id'],
  film_text: ['film_id'],
  staff: ['staff_id'],
  payment: ['payment_id'],
}

// Changes an application makes: updates (ON UPDATE CURRENT_TIMESTAMP stamps them), inserts through a
// trigger, deletes of the newest rows, a widened column, comment and CHECK changes.
const CHANGES = [
  "UPDATE actor SET last_name = 'GUINESS-SMITH' WHERE actor_id = 1",
  "INSERT INTO film (title, description, release_year, rating, special_features, extra) VALUES ('AFRICAN EGG', 'A Fast-Paced Documentary', 2006, 'G', 'Deleted Scenes', '{\"b\": [true, null]}')",
  "UPDATE film SET title = 'ACE GOLDFINGER II' WHERE film_id = 2",
  "INSERT INTO address (address, district, phone, location) VALUES ('1913 Hanoi Way', 'Nagasaki', '28303384290', ST_GeomFromText('POINT(129.7 32.75)'))",
  'DELETE FROM payment WHERE payment_id = 2',
  "ALTER TABLE actor MODIFY last_name VARCHAR(60) NOT NULL COMMENT 'surname', COMMENT = 'people who act in films'",
  "ALTER TABLE staff MODIFY first_name VARCHAR(45) NOT NULL COMMENT 'given name'",
  'ALTER TABLE payment ADD CONSTRAINT amount_positive CHECK (amount >= 0)',
  'ALTER TABLE film DROP CONSTRAINT rate_positive',
  // Expression defaults: the target's ALTER would compute its own values for the existing rows.
  'ALTER TABLE actor ADD COLUMN token CHAR(36) NOT NULL DEFAULT (uuid()) AFTER last_name',
  'ALTER TABLE payment ADD COLUMN noted_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)',
]

describe('a sakila-like schema, end to end', () => {
  let dbs: TestDbs
  let file: string
  const cli = (...args: string[]) => runCli([...args, '-p', file], { timeoutMs: 170_000 })

  async function expectIdentical(): Promise<void> {
    for (const [table, key] of Object.entries(TABLES)) {
      const def = await Promise.all([definitionImage(dbs.source, table), definitionImage(dbs.target, table)])
      expect(def[1], `definition of ${table}`).toEqual(def[0])
      const rows = await expectSameRows(dbs.source, dbs.target, table, key)
      expect(rows.target, `rows of ${table}`).toEqual(rows.source)
    }
    const [stale] = await dbs.target.query("SHOW TABLES LIKE '\\_dbsync\\_%'")
    expect(stale).toEqual([])
  }

  beforeAll(async () => {
    dbs = await createTestDatabases()
    await loadFixture(dbs.source, FIXTURE)
    file = await writeTempPipeline(
      pipelineYaml({
        sourceUrl: dbs.sourceUrl,
        targetUrl: dbs.targetUrl,
        defaults: '  cursor: last_update\n  deletes: detect',
        tables: [
          '  - name: film_text\n    strategy: full_refresh\n    cursor: []',
          '  - name: address\n    strategy: full_refresh',
          '  - name: "*"',
        ].join('\n'),
      }),
    )
  })
  afterAll(async () => {
    await dbs?.drop()
  })

  it('init chooses incremental on last_update (ON UPDATE CURRENT_TIMESTAMP), with a reason per table', async () => {
    const out = join(dirname(file), 'init.yaml')
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl }
    const res = await runCli(['init', '-o', out], { env })
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    const text = await readFile(out, 'utf8')
    const doc = parse(text) as { tables: Array<{ name: string; strategy: string; cursor?: string }> }
    const byName = Object.fromEntries(doc.tables.map((t) => [t.name, t]))
    for (const t of ['actor', 'address', 'film', 'payment', 'staff']) {
      expect(byName[t], t).toMatchObject({ strategy: 'incremental', cursor: 'last_update' })
    }
    expect(byName.film_text).toMatchObject({ strategy: 'full_refresh' })
    expect(text).toContain('the server stamps it on every update')

    // Everything else in the source is named, never skipped in silence.
    await dbs.source.query('CREATE TABLE late_table (id INT PRIMARY KEY)')
    try {
      for (const command of ['validate', 'plan']) {
        const r = await runCli([command, '-p', out], { env })
        expect(r.exitCode, r.stderr + r.stdout).toBe(0)
        expect(r.stdout).toContain('not synced (no pipeline entry selects them): late_table')
        expect(r.stdout).toContain('views, not copied (a view is a query, not data): actor_info')
        expect(r.stdout).toMatch(/triggers, not copied \(.*\): ins_film on film, upd_film on film/)
        expect(r.stdout).toContain('routines, not copied (code, not data): film_count (function)')
      }
      const json = await runCli(['plan', '-p', out, '--json'], { env })
      expect(JSON.parse(json.stdout).source_objects).toMatchObject({
        not_synced: ['late_table'],
        views: ['actor_info'],
      })
    } finally {
      await dbs.source.query('DROP TABLE late_table')
    }
  }, 180_000)

  it('copies every table bit for bit, definitions included (spatial, fulltext, checks, comments, counters)', async () => {
    const res = await cli('sync')
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    await expectIdentical()
    const validate = await cli('validate', '--data')
    expect(validate.exitCode, validate.stderr + validate.stdout).toBe(0)
  }, 180_000)

  it('after application changes, diff-schema names them and sync applies them', async () => {
    for (const statement of CHANGES) await dbs.source.query(statement)
    const diff = await cli('diff-schema')
    expect(diff.exitCode, diff.stderr + diff.stdout).toBe(1)
    expect(diff.stdout).toContain('comment of last_name: "family name" -> "surname"')
    expect(diff.stdout).toContain('table comment: "people who act" -> "people who act in films"')
    expect(diff.stdout).toContain('add check amount_positive')
    expect(diff.stdout).toContain('drop check rate_positive')
    const plan = await cli('plan')
    expect(plan.exitCode, plan.stderr + plan.stdout).toBe(0)
    expect(plan.stdout).toContain('re-copy existing rows (~')
    expect(plan.stdout).toContain('new column token has a computed default')
    const res = await cli('sync')
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    await expectIdentical()
    const again = await cli('diff-schema')
    expect(again.exitCode, again.stderr + again.stdout).toBe(0)
    const validate = await cli('validate', '--data')
    expect(validate.exitCode, validate.stderr + validate.stdout).toBe(0)
  }, 180_000)

  it('a re-copy saved before the ALTER still happens after a crash between the two', async () => {
    const add = 'ALTER TABLE staff ADD COLUMN badge CHAR(36) NOT NULL DEFAULT (uuid())'
    await dbs.source.query(add)
    // As a run killed right after its ALTER leaves it: the column exists, the re-copy is only recorded.
    await dbs.target.query(add)
    await dbs.target.query("UPDATE _sync_state SET recopy_after = '[]' WHERE table_name = 'staff'")
    const plan = await cli('plan')
    expect(plan.stdout).toContain('re-copy existing rows (~')
    const res = await cli('sync')
    expect(res.exitCode, res.stderr + res.stdout).toBe(0)
    await expectIdentical()
    const [state] = await dbs.target.query("SELECT recopy_after FROM _sync_state WHERE table_name = 'staff'")
    expect(state).toEqual([{ recopy_after: null }])
  }, 180_000)
})
