import { describe, expect, it } from 'vitest'
import {
  assembleReport,
  type RawRun,
  type RawState,
  type ReportInput,
} from '../../../src/state/report-model.js'

const now = Date.parse('2026-01-02T00:10:00Z')

function state(table: string, extra: Partial<RawState> = {}): RawState {
  return {
    table_name: table,
    strategy: 'incremental',
    status: 'ok',
    error: null,
    last_cursor: null,
    last_load_id: 'run1',
    rows_synced: '12345678901234567890',
    updated_at: '2026-01-02 00:00:00.000000',
    finished_at: '2026-01-02 00:00:00.500000',
    ...extra,
  }
}

function run(loadId: string, extra: Partial<RawRun> = {}): RawRun {
  return {
    load_id: loadId,
    status: 'ok',
    started_at: '2026-01-02 00:00:00.000000',
    finished_at: '2026-01-02 00:00:02.500000',
    tables_json: null,
    error: null,
    ...extra,
  }
}

function input(extra: Partial<ReportInput>): ReportInput {
  return {
    pipeline: 'p',
    states: [],
    runs: [],
    lockHeld: false,
    live: { holders: new Map(), runs: new Set() },
    now,
    ...extra,
  }
}

describe('assembleReport', () => {
  it('calls a running row abandoned only when neither the pipeline lock nor its own lock is held', () => {
    const states = [state('a', { status: 'running' }), state('b', { status: 'running' })]
    const runs = [run('r1', { status: 'running', finished_at: null })]
    const nobody = assembleReport(input({ states, runs }))
    expect(nobody.tables.map((t) => t.status)).toEqual(['abandoned', 'abandoned'])
    expect(nobody.runs[0]?.status).toBe('abandoned')
    const claimed = assembleReport(
      input({ states, runs, live: { holders: new Map([['b', 'host-2']]), runs: new Set(['r1']) } }),
    )
    expect(claimed.tables.map((t) => [t.status, t.held_by])).toEqual([
      ['abandoned', null],
      ['running', 'host-2'],
    ])
    expect(claimed.runs[0]?.status).toBe('running')
    const locked = assembleReport(input({ states, runs, lockHeld: true }))
    expect(locked.tables.map((t) => t.status)).toEqual(['running', 'running'])
  })

  it('takes the last success of a failed table from the newest run that synced it', () => {
    const report = assembleReport(
      input({
        states: [state('a', { status: 'failed', error: 'boom' })],
        runs: [
          run('r3', { status: 'failed', tables_json: '{"a":{"status":"failed","rows":0}}' }),
          run('r2', {
            finished_at: '2026-01-02 00:05:00.250000',
            tables_json: '{"a":{"status":"ok","rows":7}}',
          }),
        ],
      }),
    )
    expect(report.tables[0]).toMatchObject({
      status: 'failed',
      error: 'boom',
      last_success_at: '2026-01-02T00:05:00.250Z',
      age_seconds: 299.8,
      rows_synced: '12345678901234567890',
    })
    expect(report.runs.map((r) => [r.load_id, r.rows, r.seconds])).toEqual([
      ['r3', 0, 2.5],
      ['r2', 7, 300.3],
    ])
  })

  it('reports an expected table with no state as never synced, and reads a broken tables_json as none', () => {
    const report = assembleReport(
      input({ expected: ['a', 'b'], states: [state('a')], runs: [run('r1', { tables_json: '{not json' })] }),
    )
    expect(report.tables.map((t) => [t.table, t.status, t.last_success_at])).toEqual([
      ['a', 'ok', '2026-01-02T00:00:00.500Z'],
      ['b', 'never', null],
    ])
    expect(report.runs[0]?.tables).toEqual({})
    expect(report.checked_at).toBe('2026-01-02T00:10:00.000Z')
  })

  it('keeps only the newest runs asked for', () => {
    const runs = Array.from({ length: 60 }, (_, i) => run(`r${i}`))
    expect(assembleReport(input({ runs })).runs).toHaveLength(50)
    expect(assembleReport(input({ runs, shownRuns: 3 })).runs.map((r) => r.load_id)).toEqual([
      'r0',
      'r1',
      'r2',
    ])
  })

  it('shows how far a load in key ranges is, for a table with a state row and for one without', () => {
    const ranges = new Map([
      ['a', { done: 3, total: 10 }],
      ['b', { done: 0, total: 4 }],
    ])
    const report = assembleReport(
      input({
        states: [state('a', { status: 'running' }), state('c')],
        expected: ['b'],
        ranges,
        lockHeld: true,
      }),
    )
    expect(report.tables.map((t) => [t.table, t.key_ranges])).toEqual([
      ['a', { done: 3, total: 10 }],
      ['c', null],
      ['b', { done: 0, total: 4 }],
    ])
  })
})
