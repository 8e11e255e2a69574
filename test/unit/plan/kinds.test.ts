import { describe, expect, it } from 'vitest'
import type { TableConfig } from '../../../src/config/types.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import { planTable, type TablePlan } from '../../../src/plan/plan.js'
import { refusalError } from '../../../src/plan/refusal.js'
import type { TableDef } from '../../../src/schema/table-def.js'
import type { SyncState } from '../../../src/state/sync-state.js'
import { col, table, targetOf } from '../schema/helpers.js'

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

function state(over: Partial<SyncState> = {}): SyncState {
  return {
    pipeline: 'p',
    table: 't',
    strategy: 'incremental',
    phase: 'incremental',
    cursorColumns: ['updated_at'],
    lastCursor: '2024-01-01 00:00:00',
    lastKey: null,
    lastLoadId: '1',
    rowsSynced: 10n,
    status: 'ok',
    error: null,
    updatedAt: '2024-01-01 00:00:00',
    recopyAfter: null,
    ...over,
  }
}

const source = table([col('name', 'varchar(50)'), col('updated_at', 'datetime(6)')])

function plan(opts: {
  config?: TableConfig
  source?: TableDef
  target?: TableDef | null
  state?: SyncState
  fullRefresh?: boolean
}): TablePlan {
  const target = opts.target === undefined ? targetOf(source) : (opts.target ?? undefined)
  return planTable(opts.config ?? config(), opts.source ?? source, target, opts.state, null, {
    lateCommitCap: true,
    targetFlavor: flavor,
    ...(opts.fullRefresh ? { fullRefresh: true } : {}),
  })
}

describe('planTable kinds', () => {
  it('plans a first load with its CREATE TABLE before the rows and its indexes after them', () => {
    const withIndex = {
      ...source,
      indexes: [
        {
          name: 'by_name',
          unique: false,
          kind: 'BTREE',
          columns: [{ name: 'name', subPart: null, descending: false }],
        },
      ],
    }
    const p = plan({ source: withIndex, target: null })
    expect(p.kind).toBe('first-load')
    expect(p.action).toBe('create_table')
    expect(p.ddl.before).toHaveLength(1)
    expect(p.ddl.before[0]).toMatch(/^CREATE TABLE `t`/)
    expect(p.ddl.before[0]).not.toMatch(/by_name/)
    expect(p.ddl.afterLoad.join('\n')).toMatch(/by_name/)
    expect(p.ddl.swap).toEqual([])
  })

  it('plans a first load into an existing table when no position is saved, or the first load was cut', () => {
    expect(plan({}).kind).toBe('first-load')
    expect(plan({ state: state({ phase: 'initial' }) }).kind).toBe('first-load')
    expect(plan({ state: state({ lastCursor: null }) }).kind).toBe('first-load')
  })

  it('plans an incremental run with the exact ALTER TABLE for a new column', () => {
    const wider = { ...source, columns: [...source.columns, col('email', 'varchar(255)')] }
    const p = plan({ source: wider, state: state() })
    expect(p.kind).toBe('incremental')
    expect(p.ddl.before).toHaveLength(1)
    expect(p.ddl.before[0]).toMatch(/^ALTER TABLE `t`.*ADD COLUMN `email` varchar\(255\)/s)
    expect(p.schemaChanges).toEqual(['add column email varchar(255)'])
    expect(p.kind === 'incremental' && p.recopy).toEqual([])
  })

  it('plans no DDL for an incremental table whose schema matches', () => {
    const p = plan({ state: state() })
    expect(p.kind).toBe('incremental')
    expect(p.ddl).toEqual({ before: [], afterLoad: [], swap: [] })
  })

  it('plans a full_refresh table as a staging build and an atomic swap', () => {
    const p = plan({ config: config({ strategy: 'full_refresh', cursor: [] }) })
    expect(p.kind).toBe('full-refresh')
    expect(p.action).toBe('full_reload')
    expect(p.ddl.before[0]).toMatch(/^DROP TABLE IF EXISTS `_dbsync_stage_/)
    expect(p.ddl.before[1]).toMatch(/^CREATE TABLE `_dbsync_stage_/)
    expect(p.ddl.swap[0]).toMatch(/^RENAME TABLE `t` TO `_dbsync_old_.*`, `_dbsync_stage_.*` TO `t`$/)
    const fresh = plan({ config: config({ strategy: 'full_refresh', cursor: [] }), target: null })
    expect(fresh.action).toBe('create_table')
    expect(fresh.ddl.swap).toEqual([expect.stringMatching(/^RENAME TABLE `_dbsync_stage_.*` TO `t`$/)])
  })

  it('plans sync --full-refresh of an incremental table as a full refresh, even one it would refuse', () => {
    expect(plan({ state: state(), fullRefresh: true }).kind).toBe('full-refresh')
    expect(plan({ config: config({ cursor: [] }), fullRefresh: true }).kind).toBe('full-refresh')
  })
})

describe('planTable refusals', () => {
  const refused = (p: TablePlan) => {
    if (p.kind !== 'refused') throw new Error(`expected refused, got ${p.kind}`)
    expect(p.ddl).toEqual({ before: [], afterLoad: [], swap: [] })
    expect(p.action).toBe('fails')
    return p.refusals
  }

  it('refuses an incremental table without a cursor', () => {
    const [r] = refused(plan({ config: config({ cursor: [] }) }))
    expect(r).toEqual({ reason: 'no-cursor' })
    expect(refusalError('t', r!).message).toBe(
      'table t: incremental sync needs a cursor column, and none is set',
    )
    expect(refusalError('t', r!).hint).toBe(
      'set cursor: for t (or under defaults:), or use strategy: full_refresh',
    )
  })

  it('refuses a cursor column the source lacks', () => {
    const [r] = refused(plan({ config: config({ cursor: ['nope'] }) }))
    expect(r).toEqual({ reason: 'missing-cursor', column: 'nope' })
    expect(refusalError('t', r!).message).toBe('table t: cursor column "nope" does not exist in the source')
  })

  it('refuses an incremental table without a primary key, unless the file names one', () => {
    const keyless = { ...source, primaryKey: [] }
    const [r] = refused(plan({ source: keyless, target: targetOf(keyless) }))
    expect(r).toEqual({ reason: 'no-key' })
    expect(refusalError('t', r!).hint).toMatch(/set primary_key for t/)
    expect(
      plan({ source: keyless, target: targetOf(keyless), config: config({ primaryKey: ['id'] }) }).kind,
    ).not.toBe('refused')
  })

  it('refuses an incompatible type change, naming every such column and the full refresh', () => {
    const target = targetOf(table([col('name', 'int'), col('updated_at', 'date')]))
    const [r] = refused(plan({ target, state: state() }))
    expect(r?.reason).toBe('incompatible')
    const err = refusalError('t', r!)
    expect(err.message).toMatch(
      /^table t: column name changed from int \(target\) to varchar\(50\) \(source\)/,
    )
    expect(err.message).toMatch(/and 1 more incompatible change\)$/)
    expect(err.hint).toBe('to rebuild the table, run dbsync sync --full-refresh --tables t')
  })

  it('lists every refusal, most fundamental first; plan shows the first', () => {
    const keyless = { ...source, primaryKey: [] }
    const p = plan({ source: keyless, target: targetOf(keyless), config: config({ cursor: [] }) })
    expect(refused(p).map((r) => r.reason)).toEqual(['no-cursor', 'no-key'])
    expect(p.summary).toBe(
      'fails: incremental sync needs a cursor column, and none is set; set cursor: for t (or under defaults:), ' +
        'or use strategy: full_refresh',
    )
  })

  it('never refuses a full_refresh table for its cursor or key', () => {
    const keyless = { ...source, primaryKey: [] }
    const p = plan({ source: keyless, config: config({ strategy: 'full_refresh', cursor: [] }) })
    expect(p.kind).toBe('full-refresh')
  })
})
