import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { repoRoot, runCli, writeTempPipeline } from '../support/cli.js'
import { definitionImage, expectSameRows, loadFixture } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

// The whole cycle a user goes through on schemas nobody here designed: init -> validate -> plan -> sync ->
// the application's own changes -> sync -> validate --data, and a bit-exact comparison of every table.
interface App {
  fixture: string
  tables: Record<string, string[]>
  /** Expected init choices: table -> cursor (null: full refresh). */
  init: Record<string, string | null>
  changes: string[]
}

const APPS: Record<string, App> = {
  wordpress: {
    fixture: 'wordpress.sql',
    tables: {
      wp_posts: ['ID'],
      wp_postmeta: ['meta_id'],
      wp_comments: ['comment_ID'],
      wp_options: ['option_id'],
    },
    init: { wp_posts: 'post_modified_gmt', wp_postmeta: null, wp_comments: null, wp_options: null },
    changes: [
      // The source session is lax (the fixture set it): zero dates as WordPress writes them.
      "UPDATE wp_posts SET post_title = 'Hello again', post_modified = '2024-03-01 10:00:00', post_modified_gmt = '2024-03-01 09:00:00' WHERE ID = 1",
      "INSERT INTO wp_posts (post_author, post_content, post_title, post_status) VALUES (2, '', 'Auto Draft', 'auto-draft')",
      "INSERT INTO wp_comments (comment_post_ID, comment_author, comment_content) VALUES (1, 'Spammer', 'buy now')",
      "UPDATE wp_options SET option_value = 'My Renamed Blog' WHERE option_name = 'blogname'",
      "ALTER TABLE wp_posts ADD COLUMN guid VARCHAR(255) NOT NULL DEFAULT '' AFTER post_parent",
      "DELETE FROM wp_postmeta WHERE meta_key = '_edit_lock'",
    ],
  },
  employees: {
    fixture: 'employees.sql',
    tables: {
      employees: ['emp_no'],
      departments: ['dept_no'],
      dept_emp: ['emp_no', 'dept_no'],
      salaries: ['emp_no', 'from_date'],
    },
    init: { employees: null, departments: null, dept_emp: null, salaries: null },
    changes: [
      'DELETE FROM employees WHERE emp_no = 10003', // cascades to dept_emp and salaries
      "INSERT INTO employees VALUES (10004, '1954-05-01', 'Chirstian', 'Koblick', 'M', '1986-12-01')",
      "INSERT INTO dept_emp VALUES (10004, 'd001', '1986-12-01', '9999-01-01')",
      "INSERT INTO salaries VALUES (10004, 40054, '1986-12-01', '9999-01-01')",
      "UPDATE salaries SET salary = salary + 1000 WHERE emp_no = 10001 AND to_date = '9999-01-01'",
      "ALTER TABLE departments ADD COLUMN budget DECIMAL(12,2) NULL COMMENT 'yearly'",
    ],
  },
}

for (const [name, app] of Object.entries(APPS)) {
  describe(`${name}: init, sync, application changes, sync, bit-exact`, () => {
    let dbs: TestDbs
    let file: string
    const env = () => ({ SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl })
    const cli = (...args: string[]) => runCli([...args, '-p', file], { env: env(), timeoutMs: 170_000 })

    async function expectIdentical(): Promise<void> {
      for (const [table, key] of Object.entries(app.tables)) {
        const def = await Promise.all([
          definitionImage(dbs.source, table),
          definitionImage(dbs.target, table),
        ])
        expect(def[1], `definition of ${table}`).toEqual(def[0])
        const rows = await expectSameRows(dbs.source, dbs.target, table, key)
        expect(rows.target, `rows of ${table}`).toEqual(rows.source)
      }
    }

    beforeAll(async () => {
      dbs = await createTestDatabases()
      await loadFixture(dbs.source, join(repoRoot, 'test/fixtures/real-schemas', app.fixture))
      file = join(dirname(await writeTempPipeline('')), `${name}.yaml`)
    })
    afterAll(async () => {
      await dbs?.drop()
    })

    it('init knows the schema; validate and plan accept it; sync copies it exactly', async () => {
      const init = await runCli(['init', '-o', file], { env: env() })
      expect(init.exitCode, init.stderr + init.stdout).toBe(0)
      const doc = parse(await readFile(file, 'utf8')) as { tables: Array<{ name: string; cursor?: string }> }
      const chosen = Object.fromEntries(doc.tables.map((t) => [t.name, t.cursor ?? null]))
      expect(chosen).toEqual(app.init)
      const validate = await cli('validate')
      expect(validate.exitCode, validate.stderr + validate.stdout).toBe(0)
      const plan = await cli('plan')
      expect(plan.exitCode, plan.stderr + plan.stdout).toBe(0)
      const sync = await cli('sync')
      expect(sync.exitCode, sync.stderr + sync.stdout).toBe(0)
      await expectIdentical()
    }, 180_000)

    it("after the application's changes, sync makes the target equal again and validate --data agrees", async () => {
      for (const statement of app.changes) await dbs.source.query(statement)
      const sync = await cli('sync')
      expect(sync.exitCode, sync.stderr + sync.stdout).toBe(0)
      await expectIdentical()
      const data = await cli('validate', '--data')
      expect(data.exitCode, data.stderr + data.stdout).toBe(0)
    }, 180_000)
  })
}
