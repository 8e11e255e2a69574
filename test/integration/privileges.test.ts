import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CliResult, runCli, writeTempPipeline } from '../support/cli.js'
import { expectSameRows, pipelineYaml } from '../support/compare.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'
import { quoteIdent } from '../support/urls.js'

// Users holding exactly the grants README's "Least privilege" section documents, and nothing else:
//   source: SELECT on the database (+ PROCESS, global, for the late-commit cap; optional)
//   target: CREATE, ALTER, INSERT, UPDATE, DELETE, DROP, SELECT on the database
// INDEX is not needed: indexes are added with ALTER TABLE. Each of the others is (UPDATE: upserts and
// _sync_state; DELETE: LOAD DATA … REPLACE and deletes: detect; DROP: staging tables of a full refresh).
// GET_LOCK needs no privilege, nor does LOAD DATA LOCAL INFILE (FILE is for server-side files only).

let dbs: TestDbs
const users: string[] = []
const PASSWORD = 'Least-Priv-9'

beforeEach(async () => {
  dbs = await createTestDatabases()
  await dbs.source.query(
    `CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80) UNIQUE,
       updated_at DATETIME(6) NOT NULL, KEY (name))`,
  )
  await dbs.source.query(
    `INSERT INTO customers SELECT seq, CONCAT('c', seq), CONCAT('c', seq, '@example.com'),
       '2024-01-01' + INTERVAL seq MINUTE FROM seq_1_to_300`,
  )
  await dbs.source.query('CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(40) NOT NULL)')
  await dbs.source.query("INSERT INTO countries VALUES ('DE', 'Germany'), ('FR', 'France'), ('JP', 'Japan')")
})

afterEach(async () => {
  while (users.length > 0) {
    const user = users.pop()!
    const conn = user.startsWith('r') ? dbs.source : dbs.target
    await conn.query(`DROP USER IF EXISTS ${user}@'%'`)
  }
  await dbs?.drop()
})

/** Creates a user with exactly `grants` and returns the URL of `url`'s database logged in as that user. */
async function userUrl(side: 'source' | 'target', grants: string[]): Promise<string> {
  const conn = side === 'source' ? dbs.source : dbs.target
  const db = side === 'source' ? dbs.sourceDb : dbs.targetDb
  const user = `${side === 'source' ? 'r' : 'w'}_${randomBytes(4).toString('hex')}`
  await conn.query(`CREATE USER ${user}@'%' IDENTIFIED BY '${PASSWORD}'`)
  users.push(user)
  for (const grant of grants) {
    await conn.query(grant.replace('$DB', quoteIdent(db)).replace('$USER', `${user}@'%'`))
  }
  const url = new URL(side === 'source' ? dbs.sourceUrl : dbs.targetUrl)
  url.username = user
  url.password = PASSWORD
  return url.toString()
}

const TARGET_GRANTS = ['GRANT CREATE, ALTER, INSERT, UPDATE, DELETE, DROP, INDEX, SELECT ON $DB.* TO $USER']

function ok(res: CliResult, what: string): CliResult {
  expect(res.exitCode, `${what}\n${res.stderr}\n${res.stdout}`).toBe(0)
  return res
}

async function expectEqual(table: string, key: string[]) {
  const { source, target } = await expectSameRows(dbs.source, dbs.target, table, key)
  expect(target).toEqual(source)
}

describe('least privilege', () => {
  for (const withProcess of [true, false]) {
    it(`runs every command with the minimum grants${withProcess ? '' : ', and warns without PROCESS'}`, async () => {
      const sourceUrl = await userUrl('source', [
        'GRANT SELECT ON $DB.* TO $USER',
        ...(withProcess ? ['GRANT PROCESS ON *.* TO $USER'] : []),
      ])
      const targetUrl = await userUrl('target', TARGET_GRANTS)
      const file = await writeTempPipeline(
        pipelineYaml({
          sourceUrl,
          targetUrl,
          tables: [
            '  - name: customers',
            '    cursor: updated_at',
            '    deletes: detect',
            '  - name: countries',
            '    strategy: full_refresh',
          ].join('\n'),
        }),
      )
      const cli = (...args: string[]) => runCli([...args, '-p', file])

      // init reads the source only.
      const initFile = `${file}.init.yaml`
      ok(await runCli(['init', '--source', sourceUrl, '--target', targetUrl, '-o', initFile]), 'init')
      ok(await cli('validate'), 'validate')
      ok(await cli('plan'), 'plan')
      // Drift before the first sync (the tables do not exist yet) is exit 1, not a privilege error.
      expect((await cli('diff-schema', '--sql')).exitCode).toBe(1)

      const first = ok(await cli('sync', '--json'), 'first sync')
      const summary = JSON.parse(first.stdout)
      expect(summary.status).toBe('ok')
      const warnings: string[] = summary.tables.flatMap((t: { warnings: string[] }) => t.warnings)
      if (withProcess) expect(warnings.join('\n')).not.toMatch(/PROCESS/)
      else expect(warnings.join('\n')).toMatch(/PROCESS privilege/)
      await expectEqual('customers', ['id'])
      await expectEqual('countries', ['code'])

      // A second run: upserts, a new column (ALTER), a hard delete (deletes: detect), a refreshed table
      // swapped in with RENAME (which needs ALTER and DROP on the old table, CREATE and INSERT on the new).
      await dbs.source.query('ALTER TABLE customers ADD COLUMN tier TINYINT NULL')
      await dbs.source.query(
        "UPDATE customers SET tier = 2, name = 'changed', updated_at = '2024-06-01' WHERE id <= 10",
      )
      await dbs.source.query('DELETE FROM customers WHERE id = 300')
      await dbs.source.query("INSERT INTO countries VALUES ('BR', 'Brazil')")
      ok(await cli('plan'), 'plan again')
      const second = ok(await cli('sync', '--json'), 'second sync')
      const byTable = Object.fromEntries(
        JSON.parse(second.stdout).tables.map((t: { table: string }) => [t.table, t]),
      )
      expect(byTable.customers).toMatchObject({ status: 'ok', updated: 10, deleted: 1 })
      expect(byTable.countries).toMatchObject({ status: 'ok', rows_read: 4 })
      await expectEqual('customers', ['id'])
      await expectEqual('countries', ['code'])

      ok(await cli('diff-schema'), 'diff-schema after sync')
      ok(await cli('validate', '--data'), 'validate --data')
      ok(await cli('sync', '--verify'), 'sync --verify')
    })
  }

  it('names the missing privilege when the target user lacks one (here: ALTER)', async () => {
    const sourceUrl = await userUrl('source', ['GRANT SELECT ON $DB.* TO $USER'])
    const targetUrl = await userUrl('target', [
      'GRANT CREATE, INSERT, UPDATE, DELETE, DROP, INDEX, SELECT ON $DB.* TO $USER',
    ])
    const file = await writeTempPipeline(
      pipelineYaml({ sourceUrl, targetUrl, tables: '  - name: customers\n    cursor: updated_at' }),
    )
    // A table this small is created with its indexes, so its first load needs no ALTER; a column added on
    // the source does.
    expect((await runCli(['sync', '-p', file])).exitCode).toBe(0)
    await dbs.source.query('ALTER TABLE customers ADD COLUMN note VARCHAR(20) NULL')
    const res = await runCli(['sync', '-p', file, '--json'])
    expect(res.exitCode).toBe(1)
    const error = JSON.parse(res.stdout).tables[0].error as string
    expect(error).toMatch(/ALTER command denied to user 'w_\w+'@'[^']+' for table `[^`]+`\.`customers`/)
  })
})
