import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { runCli } from '../support/cli.js'
import { createTestDatabases, type TestDbs } from '../support/db.js'

describe('dbsync init', () => {
  let dbs: TestDbs
  let dir: string
  let env: Record<string, string>

  beforeAll(async () => {
    dbs = await createTestDatabases()
    dir = await mkdtemp(join(tmpdir(), 'dbsync-init-'))
    // TARGET_DATABASE_URL is unset on purpose: init needs only the source.
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: '' }
    await dbs.source.query(`
      CREATE TABLE orders (id BIGINT PRIMARY KEY, total DECIMAL(10,2),
                           updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
                           INDEX (updated_at));
      CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(50));
      CREATE TABLE audit_log (msg TEXT, updated_at DATETIME NOT NULL);
      CREATE TABLE signups (id INT PRIMARY KEY, email VARCHAR(100), created_at DATETIME NOT NULL, INDEX (created_at));
      CREATE TABLE \`order items\` (id INT PRIMARY KEY, modified DATETIME NOT NULL, INDEX (modified));
      CREATE VIEW recent_orders AS SELECT id FROM orders;
    `)
  })

  afterAll(async () => {
    await dbs?.drop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('writes a commented pipeline with a strategy per table, which validate accepts', async () => {
    const file = join(dir, 'pipeline.yaml')
    const r = await runCli(['init'], { cwd: dir, env })
    expect(r.stderr).not.toContain('error')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('wrote pipeline.yaml: 5 tables, 3 incremental, 2 full_refresh')
    expect(r.stdout).toContain('TARGET_DATABASE_URL')

    const text = await readFile(file, 'utf8')
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=\S+pipeline\.schema\.json$/)
    expect(text).toContain(`url: \${SOURCE_DATABASE_URL}`)
    expect(text).toContain(`url: \${TARGET_DATABASE_URL}`)
    expect(text).not.toContain(dbs.sourceUrl)
    expect(text).toContain(
      '# primary key (id) and modifier column updated_at; the server stamps it on every update\n  - name: orders\n',
    )
    expect(text).toContain('# no primary key')
    expect(text).toContain('- name: "order items"')
    expect(text).not.toContain('recent_orders')

    const doc = parse(text)
    expect(doc.name).toBe(dbs.sourceDb)
    expect(doc.tables).toEqual([
      { name: 'audit_log', strategy: 'full_refresh' },
      { name: 'countries', strategy: 'full_refresh' },
      { name: 'order items', strategy: 'incremental', cursor: 'modified' },
      { name: 'orders', strategy: 'incremental', cursor: 'updated_at' },
      { name: 'signups', strategy: 'incremental', cursor: 'created_at' },
    ])

    const v = await runCli(['validate', '-p', file], {
      env: { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl },
    })
    expect(v.stdout).not.toContain('warning')
    expect(v.exitCode).toBe(0)
    expect(v.stdout).toContain('valid (5 tables)')
  })

  it('refuses to overwrite the file without --force, and overwrites it with --force', async () => {
    const file = join(dir, 'again.yaml')
    expect((await runCli(['init', '-o', file], { env })).exitCode).toBe(0)
    await writeFile(file, '# edited by hand\n')

    const refused = await runCli(['init', '-o', file], { env })
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toContain(`${file} already exists`)
    expect(refused.stderr).toContain('--force')
    expect(refused.stdout).toBe('')
    expect(await readFile(file, 'utf8')).toBe('# edited by hand\n')

    const forced = await runCli(['init', '-o', file, '--force'], { env })
    expect(forced.exitCode).toBe(0)
    expect(await readFile(file, 'utf8')).toContain('- name: orders')
  })

  it('prints the tables as one JSON document with --json', async () => {
    const file = join(dir, 'json.yaml')
    const r = await runCli(['init', '-o', file, '--json', '--tables', 'orders,countries,audit_*'], { env })
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      file,
      tables: [
        {
          name: 'audit_log',
          strategy: 'full_refresh',
          cursor: null,
          primary_key: [],
          reason: 'no primary key (updated_at alone cannot match rows between runs)',
        },
        {
          name: 'countries',
          strategy: 'full_refresh',
          cursor: null,
          primary_key: ['code'],
          reason: 'primary key (code) but no modifier column such as updated_at',
        },
        {
          name: 'orders',
          strategy: 'incremental',
          cursor: 'updated_at',
          primary_key: ['id'],
          reason: 'primary key (id) and modifier column updated_at; the server stamps it on every update',
        },
      ],
    })
  })

  it('never writes or prints the URLs given with --source and --target', async () => {
    const user = `u_init_${randomBytes(3).toString('hex')}`
    const loader = `l_init_${randomBytes(3).toString('hex')}`
    const password = 'S3cr3t-p4ss'
    await dbs.source.query(
      `CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; GRANT SELECT ON \`${dbs.sourceDb}\`.* TO '${user}'@'%'`,
    )
    // init connects to the --target too (reachable, and not the source database itself).
    await dbs.target.query(
      `CREATE USER '${loader}'@'%' IDENTIFIED BY 'T4rget-p4ss'; GRANT SELECT ON \`${dbs.targetDb}\`.* TO '${loader}'@'%'`,
    )
    try {
      const source = new URL(dbs.sourceUrl)
      source.username = user
      source.password = password
      const target = new URL(dbs.targetUrl)
      target.username = loader
      target.password = 'T4rget-p4ss'
      const file = join(dir, 'flags.yaml')
      const r = await runCli(
        ['init', '--source', source.toString(), '--target', target.toString(), '-o', file],
        {
          env: { SOURCE_DATABASE_URL: '', TARGET_DATABASE_URL: '' },
        },
      )
      expect(r.stderr).toBe('')
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toContain(
        'set SOURCE_DATABASE_URL to the --source URL and TARGET_DATABASE_URL to the --target URL',
      )
      const text = await readFile(file, 'utf8')
      for (const secret of [password, 'T4rget-p4ss', user, loader]) {
        expect(text).not.toContain(secret)
        expect(r.stdout).not.toContain(secret)
      }
    } finally {
      await dbs.source.query(`DROP USER IF EXISTS '${user}'@'%'`)
      await dbs.target.query(`DROP USER IF EXISTS '${loader}'@'%'`)
    }
  })

  it('exits 2 without a source URL, and 3 when the source cannot be reached', async () => {
    const none = await runCli(['init', '-o', join(dir, 'none.yaml')], {
      env: { SOURCE_DATABASE_URL: '' },
    })
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toContain('SOURCE_DATABASE_URL')

    const bad = new URL(dbs.sourceUrl)
    bad.password = 'Wr0ng-p4ss'
    bad.username = 'nobody_here'
    const denied = await runCli(['init', '-o', join(dir, 'denied.yaml')], {
      env: { SOURCE_DATABASE_URL: bad.toString() },
    })
    expect(denied.exitCode).toBe(3)
    expect(`${denied.stdout}${denied.stderr}`).not.toContain('Wr0ng-p4ss')
    expect(existsSync(join(dir, 'none.yaml'))).toBe(false)
    expect(existsSync(join(dir, 'denied.yaml'))).toBe(false)
  })

  it('rejects a --tables entry that matches no source table', async () => {
    const r = await runCli(['init', '-o', join(dir, 'typo.yaml'), '--tables', 'ordrs'], { env })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('did you mean "orders"?')
  })
})
