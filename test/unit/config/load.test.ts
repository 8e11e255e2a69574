import { describe, expect, it } from 'vitest'
import { loadPipeline } from '../../../src/config/load.js'
import { BASE_ENV, configError, example, fixture, lineOf } from './helpers.js'

describe('loadPipeline: valid files', () => {
  it('loads examples/shop.yaml with defaults merged into every table', async () => {
    const file = example('shop.yaml')
    const pipeline = await loadPipeline(file, { env: BASE_ENV })
    expect(pipeline.file).toBe(file)
    expect(pipeline.name).toBe('shop')
    expect(pipeline.concurrency).toBe(4)
    expect(pipeline.source).toMatchObject({ side: 'source', host: 'db.example', user: 'reader', poolMax: 8 })
    expect(pipeline.target).toMatchObject({ side: 'target', host: 'replica.example', password: 'tgt-secret' })
    expect(pipeline.schedule).toEqual({ everyMs: 300_000 })
    expect(pipeline.health).toEqual({ port: 8080, host: '0.0.0.0' })
    expect(pipeline.retry).toEqual({ attempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 })
    expect(pipeline.shutdownTimeoutMs).toBe(30_000)
    const orders = pipeline.tables.find((t) => t.pattern === 'orders')
    expect(orders).toEqual({
      pattern: 'orders',
      isGlob: false,
      exclude: false,
      line: lineOf(file, 'name: orders'),
      strategy: 'incremental',
      strategyInferred: true,
      cursor: ['updated_at', 'created_at'],
      batchSize: 5000,
      lagMs: 30_000,
      deletes: 'detect',
    })
    expect(pipeline.tables.map((t) => [t.pattern, t.isGlob, t.exclude, t.strategy])).toEqual([
      ['customers', false, false, 'incremental'],
      ['orders', false, false, 'incremental'],
      ['order_items', false, false, 'incremental'],
      ['countries', false, false, 'full_refresh'],
      ['audit_*', true, true, 'incremental'],
      ['*', true, false, 'incremental'],
    ])
  })

  it('loads examples/minimal.yaml with every default', async () => {
    const pipeline = await loadPipeline(example('minimal.yaml'), { env: BASE_ENV })
    expect(pipeline.concurrency).toBe(4)
    expect(pipeline.source.poolMax).toBe(10)
    expect(pipeline.source.connectTimeoutMs).toBe(10_000)
    expect(pipeline.source.ssl).toEqual({ mode: 'preferred' })
    expect(pipeline.schedule).toBeUndefined()
    expect(pipeline.health).toBeUndefined()
    expect(pipeline.notify).toBeUndefined()
    expect(pipeline.tables).toEqual([
      {
        pattern: '*',
        isGlob: true,
        exclude: false,
        line: lineOf(example('minimal.yaml'), 'name: "*"'),
        strategy: 'full_refresh',
        strategyInferred: true,
        cursor: [],
        batchSize: 5000,
        lagMs: 0,
        deletes: 'ignore',
      },
    ])
  })

  it('chooses incremental only where a cursor is configured, unless the strategy is set', async () => {
    const pipeline = await loadPipeline(fixture('strategies.yaml'), { env: BASE_ENV })
    const byName = Object.fromEntries(pipeline.tables.map((t) => [t.pattern, t]))
    expect(byName.plain).toMatchObject({ strategy: 'full_refresh', cursor: [], batchSize: 1000 })
    expect(byName.with_cursor).toMatchObject({
      strategy: 'incremental',
      cursor: ['updated_at', 'created_at'],
    })
    // An incremental table without a cursor is left for validate to report, with the table's columns at hand.
    expect(byName.forced).toMatchObject({ strategy: 'incremental', cursor: [] })
    expect(byName.keyed).toMatchObject({ strategy: 'full_refresh', primaryKey: ['id'], lagMs: 120_000 })
    expect(byName.plain?.primaryKey).toBeUndefined()
  })

  it('reads password_file, drops its trailing newline and prefers it to the URL password', async () => {
    const pipeline = await loadPipeline(fixture('password-file.yaml'), { env: BASE_ENV })
    expect(pipeline.target.password).toBe('tgt-file-secret')
    expect(pipeline.target.user).toBe('loader')
  })

  it('reads TLS files relative to the pipeline file; the ssl block wins over URL parameters', async () => {
    const pipeline = await loadPipeline(fixture('tls.yaml'), { env: BASE_ENV })
    expect(pipeline.source.ssl.mode).toBe('required')
    expect(pipeline.source.ssl.ca).toContain('BEGIN CERTIFICATE')
    expect(pipeline.source.connectTimeoutMs).toBe(5000)
    expect(pipeline.target.ssl.mode).toBe('verify-identity')
    expect(pipeline.target.ssl.ca).toContain('BEGIN CERTIFICATE')
    expect(pipeline.target.ssl.cert).toContain('BEGIN CERTIFICATE')
    expect(pipeline.target.ssl.key).toContain('BEGIN TEST CLIENT KEY')
  })

  it('verifies against the CA when a URL names a CA without a mode, as the mysql client does', async () => {
    const env = { ...BASE_ENV, TARGET_DATABASE_URL: 'mysql://u:p@h/d?ssl-ca=certs/ca.pem' }
    const pipeline = await loadPipeline(fixture('strategies.yaml'), { env })
    expect(pipeline.target.ssl.mode).toBe('verify-ca')
    expect(pipeline.target.ssl.ca).toContain('BEGIN CERTIFICATE')
    expect(pipeline.source.ssl).toEqual({ mode: 'preferred' })
  })
})

describe('loadPipeline: errors carry exit code 2 and file:LINE', () => {
  it('reports an unreadable pipeline file by its path', async () => {
    const err = await configError(loadPipeline('/nonexistent/dir/pipeline.yaml', { env: BASE_ENV }))
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe('cannot read pipeline file /nonexistent/dir/pipeline.yaml (ENOENT)')
  })

  it('reports bad YAML at its line', async () => {
    const file = fixture('bad-yaml.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(new RegExp(`^${escapeRegExp(file)}:${lineOf(file, 'customers: orders')}: `))
  })

  it('reports a key written twice in one mapping', async () => {
    const file = fixture('duplicate-key.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(`${file}:5: Map keys must be unique`)
  })

  it('reports an unknown key at its line with a close-match suggestion', async () => {
    const file = fixture('unknown-key.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe(`${file}:${lineOf(file, 'cursr')}: unknown key "cursr" in tables[1]`)
    expect(err.hint).toBe('did you mean "cursor"?')
  })

  it('reports a wrong type with the value found', async () => {
    const file = fixture('wrong-type.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(
      `${file}:${lineOf(file, 'four')}: concurrency: expected a positive integer, got "four"`,
    )
  })

  it('reports a bad duration', async () => {
    const file = fixture('bad-duration.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(
      `${file}:${lineOf(file, 'lag:')}: defaults.lag: expected a duration such as 500ms, 30s, 5m, 2h or 1d, got "5 minutes"`,
    )
  })

  it('reports an unset variable by name and line', async () => {
    const file = fixture('unset-variable.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe(
      `${file}:${lineOf(file, 'webhook:')}: variable DBSYNC_TEST_UNSET_WEBHOOK is not set`,
    )
    expect(err.hint).toContain('--env FILE')
  })

  it('reports a table listed twice, naming both lines', async () => {
    const file = fixture('duplicate-table.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    const first = lineOf(file, 'name: orders')
    expect(err.message).toBe(`${file}:12: table "orders" is listed twice (lines ${first} and 12)`)
  })

  it('reports an empty tables list', async () => {
    const file = fixture('empty-tables.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(`${file}:${lineOf(file, 'tables:')}: tables: expected at least one table`)
  })

  it('reports a schedule with both every and cron', async () => {
    const file = fixture('schedule-both.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(
      `${file}:${lineOf(file, 'schedule:')}: schedule: set either every or cron, not both`,
    )
  })

  it('reports a cron expression without 5 or 6 fields', async () => {
    const file = fixture('bad-cron.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toMatch(
      new RegExp(`^${escapeRegExp(file)}:${lineOf(file, 'cron:')}: schedule.cron: `),
    )
  })

  it('reports a missing required key at its parent', async () => {
    const file = fixture('missing-key.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(`${file}:1: missing key "target"`)
  })

  it('reports every problem at once, in line order', async () => {
    const file = fixture('several-problems.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message.split('\n')).toEqual([
      `${file}:1: version: expected 1, got 2`,
      `${file}:2: name: expected letters, digits, "_" and "-" only, got "shop db"`,
      `${file}:5: unknown key "pol" in source`,
      `${file}:10: tables[0].batch_size: expected a positive integer, got 0`,
    ])
    expect(err.hint).toBe('line 5: did you mean "pool"?')
  })

  it('reports a missing password_file by its path', async () => {
    const file = fixture('missing-password-file.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toMatch(
      new RegExp(
        `^${escapeRegExp(file)}:${lineOf(file, 'password_file')}: .*secrets/does-not-exist\\.txt \\(ENOENT\\)$`,
      ),
    )
  })

  it('reports a missing TLS file', async () => {
    const file = fixture('missing-ca.yaml')
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toMatch(
      new RegExp(`^${escapeRegExp(file)}:${lineOf(file, 'ca:')}: target ssl ca: cannot read `),
    )
  })

  it('reports a bad URL at the line of the url key', async () => {
    const file = fixture('strategies.yaml')
    const env = { ...BASE_ENV, TARGET_DATABASE_URL: 'mysql://loader:tgt-secret@replica.example:3306' }
    const err = await configError(loadPipeline(file, { env }))
    expect(err.message).toBe(`${file}:${lineOf(file, 'TARGET_DATABASE_URL')}: target url: no database name`)
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
