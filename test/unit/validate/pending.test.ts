import { describe, expect, it } from 'vitest'
import type { TableConfig } from '../../../src/config/types.js'
import type { Db } from '../../../src/db/connect.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import type { SyncState } from '../../../src/state/sync-state.js'
import { keyTerms } from '../../../src/validate/checksum-sql.js'
import { pendingRule } from '../../../src/validate/pending.js'
import { col, table } from '../schema/helpers.js'

const source = { flavor: detectFlavor('10.11.6-MariaDB') } as Db
const def = table([col('updated_at', 'timestamp(6)', { nullable: true }), col('created_at', 'datetime')])
const keys = keyTerms([def.columns[0]!], source.flavor)
const config: TableConfig = {
  name: 't',
  strategy: 'incremental',
  cursor: ['updated_at'],
  batchSize: 5000,
  lagMs: 0,
  deletes: 'ignore',
  line: 1,
}

function state(s: Partial<SyncState>): SyncState {
  return {
    pipeline: 'p',
    table: 't',
    strategy: 'incremental',
    phase: 'incremental',
    cursorColumns: ['updated_at'],
    lastCursor: null,
    lastKey: null,
    lastLoadId: 'l',
    rowsSynced: 0n,
    status: 'ok',
    error: null,
    updatedAt: '2024-01-01 00:00:00',
    recopyAfter: null,
    ...s,
  }
}

const at = '2024-05-01 10:00:00.000000'

describe('pendingRule', () => {
  it('judges rows up to the saved (cursor, key) position; NULL cursors are judged', () => {
    const r = pendingRule(config, def, keys, source, state({ lastCursor: at, lastKey: [Buffer.from('42')] }))
    expect(r.pending).toBe(
      `(\`updated_at\` IS NOT NULL AND (\`updated_at\` > '${at}' OR (\`updated_at\` = '${at}' AND \`id\` > 42)))`,
    )
    expect(r.detail).toContain(`saved cursor (updated_at = ${at}) judged`)
  })

  it('counts rows at the saved cursor as pending when no key was saved (they are re-read)', () => {
    const r = pendingRule(config, def, keys, source, state({ lastCursor: at }))
    expect(r.pending).toBe(`(\`updated_at\` IS NOT NULL AND \`updated_at\` >= '${at}')`)
  })

  it('takes the first non-NULL of several cursor columns', () => {
    const two = { ...config, cursor: ['updated_at', 'created_at'] }
    const r = pendingRule(two, def, keys, source, state({ lastCursor: at }))
    expect(r.pending).toContain('COALESCE(`updated_at`, `created_at`) >= ')
  })

  it('during a first load judges the rows copied so far, unless changed since it began', () => {
    const r = pendingRule(
      config,
      def,
      keys,
      source,
      state({ phase: 'initial', lastCursor: at, lastKey: [Buffer.from('7')] }),
    )
    expect(r.pending).toBe(`(\`id\` > 7 OR (\`updated_at\` IS NOT NULL AND \`updated_at\` >= '${at}'))`)
    expect(r.detail).toMatch(/first load in progress/)
  })

  it('holds every row pending before anything was loaded', () => {
    expect(pendingRule(config, def, keys, source, undefined).pending).toBe('1')
    expect(pendingRule(config, def, keys, source, state({ phase: 'initial', lastCursor: at })).pending).toBe(
      '1',
    )
    expect(pendingRule(config, def, keys, source, state({ lastCursor: null })).detail).toMatch(
      /nothing loaded yet/,
    )
  })

  it('names a cursor column the source lacks', () => {
    expect(() => pendingRule({ ...config, cursor: ['nope'] }, def, keys, source, undefined)).toThrow(
      /cursor column "nope" does not exist/,
    )
  })
})
