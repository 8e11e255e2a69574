import { describe, expect, it } from 'vitest'
import type { Pipeline, TableConfig } from '../../../src/config/types.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import { type PendingRows, planTables } from '../../../src/plan/plan.js'
import type { TableDef } from '../../../src/schema/table-def.js'
import type { SyncState } from '../../../src/state/sync-state.js'
import { col, table, targetOf } from '../schema/helpers.js'

const pipeline = { name: 'p' } as Pipeline
const flavor = detectFlavor('10.11.6-MariaDB')

function config(over: Partial<TableConfig> = {}): TableConfig {
  return {
    name: 't',
    strategy: 'incremental',
    cursor: ['updated_at'],
    batchSize: 1000,
    lagMs: 0,
    deletes: 'ignore',
    line: 5,
    ...over,
  }
}

function state(lastCursor: string | null): SyncState {
  return {
    pipeline: 'p',
    table: 't',
    strategy: 'incremental',
    phase: 'incremental',
    cursorColumns: ['updated_at'],
    lastCursor,
    lastKey: null,
    lastLoadId: '1',
    rowsSynced: 10n,
    status: 'ok',
    error: null,
    updatedAt: '2024-01-01 00:00:00',
    recopyAfter: null,
  }
}

const source = table([col('name', 'varchar(50)'), col('updated_at', 'datetime(6)')], {
  indexes: [
    {
      name: 'by_updated',
      unique: false,
      kind: 'BTREE',
      columns: [{ name: 'updated_at', subPart: null, descending: false }],
    },
  ],
})

function plan1(opts: {
  config?: TableConfig
  source?: TableDef
  target?: TableDef | null
  state?: SyncState
  pending?: PendingRows
  lateCommitCap?: boolean
}) {
  const target = opts.target === undefined ? targetOf(source) : opts.target
  const [p] = planTables(
    pipeline,
    [opts.config ?? config()],
    new Map([['t', opts.source ?? source]]),
    new Map(target ? [['t', target]] : []),
    new Map(opts.state ? [['t', opts.state]] : []),
    new Map(opts.pending ? [['t', opts.pending]] : []),
    { lateCommitCap: opts.lateCommitCap ?? true, targetFlavor: flavor },
  )
  return p!
}

describe('planTables', () => {
  it('plans a table missing in the target as create table plus its rows', () => {
    const p = plan1({ target: null, pending: { rows: 42, estimated: false } })
    expect(p).toMatchObject({
      action: 'create_table',
      summary: 'create table, then load 42 rows (counted)',
      lastCursor: null,
    })
  })

  it('says a big table loads in key ranges through a staging table, as sync does (range-split.ts)', () => {
    const big = { ...source, estimatedRows: 3_000_000 }
    const pending = { rows: 3_000_000, estimated: true }
    const first = plan1({ source: big, target: null, pending })
    expect(first).toMatchObject({
      kind: 'first-load',
      action: 'create_table',
      keyRanges: { rowsPerRange: 500_000, ranges: 6 },
      summary:
        'create table by loading ~3,000,000 rows (estimated) in ~6 key ranges of 500,000 rows, into a ' +
        'staging table swapped in with RENAME',
    })
    const refresh = plan1({ source: big, pending, config: config({ strategy: 'full_refresh' }) })
    expect(refresh.keyRanges).toEqual({ rowsPerRange: 500_000, ranges: 6 })
    expect(refresh.summary).toMatch(
      /^full reload of ~3,000,000 rows \(estimated\) in ~6 key ranges of 500,000/,
    )
    // One pass: below parallel.above_rows, a table the target has (its first load resumes), no key.
    const settings = { aboveRows: 4_000_000, rangeRows: 500_000, workers: 4 }
    expect(plan1({ source: big, target: null, config: config({ parallel: settings }) }).keyRanges).toBeNull()
    expect(plan1({ source: big }).keyRanges).toBeNull()
    const keyless = { ...big, primaryKey: [] }
    const fullRefresh = config({ strategy: 'full_refresh', cursor: [] })
    expect(plan1({ source: keyless, target: null, config: fullRefresh })).toMatchObject({
      keyRanges: null,
      summary: 'create table, then load rows not counted',
    })
  })

  it('reports rows pending after the saved cursor, counted or estimated', () => {
    const counted = plan1({
      state: state('2024-01-01 00:00:00.000000'),
      pending: { rows: 3, estimated: false },
    })
    expect(counted).toMatchObject({
      action: 'rows_pending',
      summary: '3 rows (counted) pending',
      lastCursor: '2024-01-01 00:00:00.000000',
    })
    const estimated = plan1({ state: state('2024-01-01'), pending: { rows: 2_500_000, estimated: true } })
    expect(estimated).toMatchObject({
      action: 'rows_pending',
      summary: '~2,500,000 rows (estimated) pending',
      pending: { estimated: true },
    })
  })

  it('reports an interrupted first load as resumed, with all its rows', () => {
    const p = plan1({
      state: { ...state('2024-05-01 00:00:00'), phase: 'initial' },
      pending: { rows: 9, estimated: false },
    })
    expect(p).toMatchObject({ action: 'rows_pending', summary: 'resume the first load: 9 rows (counted)' })
  })

  it('says up to date when nothing is pending and the schema matches', () => {
    expect(plan1({ state: state('2024-01-01'), pending: { rows: 0, estimated: false } })).toMatchObject({
      action: 'up_to_date',
      summary: 'up to date',
      schemaChanges: [],
    })
  })

  it('lists schema changes before the pending rows', () => {
    const target = targetOf(table([col('name', 'varchar(20)'), col('updated_at', 'datetime(6)')]))
    const s = { ...source, columns: [...source.columns, col('email', 'varchar(255)')] }
    const p = plan1({ source: s, target, state: state('x'), pending: { rows: 0, estimated: false } })
    expect(p).toMatchObject({
      action: 'schema_changes',
      schemaChanges: ['widen name varchar(20) -> varchar(50)', 'add column email varchar(255)'],
      summary: '2 schema changes, then no rows pending',
    })
  })

  it('says the table would fail on an incompatible change, naming the fix', () => {
    const target = targetOf(table([col('name', 'int'), col('updated_at', 'datetime(6)')]))
    const p = plan1({ target, state: state('x'), pending: { rows: 1, estimated: false } })
    expect(p.action).toBe('fails')
    expect(p.summary).toBe(
      'fails: column name changed from int to varchar(50) (the type changed); run dbsync sync --full-refresh --tables t',
    )
    expect(p.pending).toBeNull()
  })

  it('plans a full_refresh table as a full reload that also takes any schema difference', () => {
    const target = targetOf(table([col('name', 'int'), col('updated_at', 'datetime(6)')]))
    const p = plan1({
      config: config({ strategy: 'full_refresh', cursor: [] }),
      target,
      pending: { rows: 7, estimated: false },
    })
    expect(p).toMatchObject({
      action: 'full_reload',
      schemaChanges: ['incompatible name: int -> varchar(50) (the type changed)'],
    })
    expect(p.summary).toBe('full reload of 7 rows (counted), with 1 schema change')
  })

  it('fails an incremental table without a cursor, with a missing cursor column, or without a key', () => {
    expect(plan1({ config: config({ cursor: [] }) }).summary).toMatch(/needs a cursor column/)
    expect(plan1({ config: config({ cursor: ['nope'] }) }).summary).toMatch(
      /cursor column "nope" does not exist/,
    )
    const keyless = { ...source, primaryKey: [] }
    expect(plan1({ source: keyless, target: { ...targetOf(keyless) } }).summary).toMatch(
      /needs a primary key/,
    )
    expect(
      plan1({ source: keyless, target: targetOf(keyless), config: config({ primaryKey: ['id'] }) }).action,
    ).not.toBe('fails')
  })

  it('shows whether deletes are detected', () => {
    expect(plan1({}).deletes).toBe(false)
    expect(plan1({ config: config({ deletes: 'detect' }) }).deletes).toBe(true)
  })

  it('warns about a cursor without an index, a nullable cursor, no late-commit cap, no primary key', () => {
    const bare = table([col('updated_at', 'timestamp', { nullable: true })])
    const p = plan1({ source: bare, target: targetOf(bare), lateCommitCap: false })
    expect(p.warnings).toEqual([
      'cursor column "updated_at" has no index that starts with it, so each run scans the whole table',
      'cursor column "updated_at" is nullable, so rows with NULL cursor are re-read on every run',
      expect.stringMatching(/^late-commit cap unavailable: .*PROCESS privilege/),
    ])
    expect(plan1({}).warnings).toEqual([])
    const keyless = { ...bare, primaryKey: [] }
    const full = plan1({
      source: keyless,
      target: targetOf(keyless),
      config: config({ strategy: 'full_refresh', cursor: [] }),
    })
    expect(full.warnings).toEqual(['no primary key: each load gives the rows new _dlt_id values'])
  })

  it('skips tables the source does not have', () => {
    expect(
      planTables(pipeline, [config({ name: 'gone' })], new Map(), new Map(), new Map(), new Map(), {
        lateCommitCap: true,
        targetFlavor: flavor,
      }),
    ).toEqual([])
  })
})
