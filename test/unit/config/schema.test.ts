import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { allowedKeys } from '../../../src/config/issues.js'
import { pipelineFileSchema } from '../../../src/config/schema.js'
import { JSON_SCHEMA_URL, renderJsonSchema } from '../../../src/config/write-json-schema.js'

const MINIMAL = {
  version: 1,
  name: 'shop',
  source: { url: 'mysql://u@h/d' },
  target: { url: 'mysql://u@h/d' },
  tables: [{ name: '*' }],
}

describe('pipeline schema', () => {
  it('matches the committed schema/pipeline.schema.json (run: npx tsx src/config/write-json-schema.ts)', () => {
    expect(readFileSync(JSON_SCHEMA_URL, 'utf8')).toBe(renderJsonSchema())
  })

  it('fills in the documented defaults', () => {
    const file = pipelineFileSchema.parse({
      ...MINIMAL,
      health: { port: 8080 },
      notify: { webhook: 'https://x.test/h' },
    })
    expect(file.concurrency).toBe(4)
    expect(file.retry).toEqual({ attempts: 5, base_delay: '1s', max_delay: '60s' })
    expect(file.shutdown_timeout).toBe('30s')
    expect(file.health).toEqual({ port: 8080, host: '0.0.0.0' })
    expect(file.notify?.on).toEqual(['failure', 'recovery'])
  })

  it('rejects unknown keys at every level', () => {
    for (const data of [
      { ...MINIMAL, extra: 1 },
      { ...MINIMAL, source: { url: 'x', user: 'u' } },
      { ...MINIMAL, tables: [{ name: 'a', cursr: 'b' }] },
      { ...MINIMAL, defaults: { name: 'a' } },
      { ...MINIMAL, schedule: { every: '5m', at: 'noon' } },
    ]) {
      const result = pipelineFileSchema.safeParse(data)
      expect(result.success).toBe(false)
      expect(result.error?.issues[0]?.code).toBe('unrecognized_keys')
    }
  })

  it('accepts a cursor and a primary key as one column or a list', () => {
    const file = pipelineFileSchema.parse({
      ...MINIMAL,
      defaults: { cursor: ['updated_at', 'created_at'], primary_key: 'id' },
      tables: [{ name: 'a', cursor: 'modified', primary_key: ['a', 'b'] }],
    })
    expect(file.tables[0]?.cursor).toBe('modified')
  })

  it('lists the allowed keys of the object at a path, for suggestions', () => {
    expect(allowedKeys(pipelineFileSchema, ['tables', 3])).toEqual([
      'name',
      'exclude',
      'strategy',
      'cursor',
      'primary_key',
      'batch_size',
      'lag',
      'deletes',
      'verify',
      'parallel',
    ])
    expect(allowedKeys(pipelineFileSchema, ['defaults', 'verify'])).toEqual([
      'every',
      'repair',
      'max_rows_per_second',
    ])
    expect(allowedKeys(pipelineFileSchema, ['target', 'ssl'])).toEqual(['mode', 'ca', 'cert', 'key'])
    expect(allowedKeys(pipelineFileSchema, [])).toContain('shutdown_timeout')
  })
})
