import pLimit from 'p-limit'
import { describe, expect, it } from 'vitest'
import type { Db } from '../../../src/db/connect.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import type { ColumnDef } from '../../../src/schema/table-def.js'
import { keyTerms } from '../../../src/validate/checksum-sql.js'
import type { CompareSpec } from '../../../src/validate/checksum-types.js'
import { ChunkBounds } from '../../../src/validate/chunk-bounds.js'
import { col } from '../schema/helpers.js'

const mariadb = detectFlavor('10.11.6-MariaDB')
const key = (v: Buffer[] | null) => v?.map((b) => b.toString())

/** A source whose table holds these sorted integer keys; it records the SQL it is sent. */
function source(keys: number[]): { db: Db; sent: string[] } {
  const sent: string[] = []
  const query = async ({ sql }: { sql: string }) => {
    sent.push(sql)
    if (sql.startsWith('SELECT MIN'))
      return [
        keys.length ? [[Buffer.from(String(keys[0])), Buffer.from(String(keys.at(-1)))]] : [[null, null]],
      ]
    const after = /> (-?\d+)/.exec(sql)
    const offset = Number(/OFFSET (\d+)/.exec(sql)![1])
    const rest = keys.filter((k) => !after || k > Number(after[1]))
    return [rest[offset] === undefined ? [] : [[Buffer.from(String(rest[offset]))]]]
  }
  return { db: { pool: { query } } as unknown as Db, sent }
}

function spec(columns: ColumnDef[], chunkRows: number): CompareSpec {
  const keys = keyTerms(columns.slice(0, 1), mariadb)
  return {
    table: 't',
    columns,
    keys: { source: keys, target: keys },
    pending: null,
    chunkRows,
    leafRows: 2,
    limit: pLimit(1),
    targetSnapshot: true,
  }
}

const range = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step)

describe('ChunkBounds', () => {
  it('steps an integer key by value: one MIN/MAX read, no index walk, the last chunk open', async () => {
    const { db, sent } = source(range(5, 34))
    const b = new ChunkBounds(db, spec([col('id', 'bigint(20) unsigned'), col('v', 'text')], 10))
    expect(key(await b.after(null))).toEqual(['14'])
    b.counted(10)
    expect(key(await b.after([Buffer.from('14')]))).toEqual(['24'])
    expect(await b.after([Buffer.from('24')])).toBeNull()
    expect(sent).toEqual(['SELECT MIN(`id`), MAX(`id`) FROM `t`'])
  })

  it('walks the index where keys are sparse, and steps again where they are dense', async () => {
    const { db, sent } = source([...range(100, 10000, 100), ...range(10001, 10100)])
    const b = new ChunkBounds(db, spec([col('id', 'int')], 10))
    expect(key(await b.after(null))).toEqual(['109'])
    b.counted(1)
    // Sparse: a walk, which spans 1,000 values, so the next boundary is walked too.
    expect(key(await b.after([Buffer.from('109')]))).toEqual(['1100'])
    expect(key(await b.after([Buffer.from('1100')]))).toEqual(['2100'])
    expect(sent.filter((s) => s.includes('OFFSET 9'))).toHaveLength(2)
    // A walk that spans at most twice chunkRows values (9900..10009 is not; 10009..10019 is) steps again.
    expect(key(await b.after([Buffer.from('9900')]))).toEqual(['10009'])
    expect(key(await b.after([Buffer.from('10009')]))).toEqual(['10019'])
    expect(key(await b.after([Buffer.from('10019')]))).toEqual(['10029'])
    expect(sent.filter((s) => s.includes('OFFSET 9'))).toHaveLength(4)
  })

  it('stops stepping for good when a chunk holds more rows than chunkRows (a key that is not unique)', async () => {
    const { db, sent } = source(range(1, 100))
    const b = new ChunkBounds(db, spec([col('id', 'int')], 10))
    await b.after(null)
    b.counted(11)
    expect(key(await b.after([Buffer.from('10')]))).toEqual(['20'])
    expect(key(await b.after([Buffer.from('20')]))).toEqual(['30'])
    expect(sent.filter((s) => s.includes('OFFSET'))).toHaveLength(2)
  })

  it('walks other keys, and makes an empty table one open chunk', async () => {
    const text = source([])
    const b = new ChunkBounds(text.db, spec([col('code', 'varchar(10)')], 10))
    expect(await b.after(null)).toBe(null)
    expect(text.sent[0]).toMatch(/OFFSET 9$/)
    const empty = source([])
    expect(await new ChunkBounds(empty.db, spec([col('id', 'int')], 10)).after(null)).toBe(null)
    expect(empty.sent).toEqual(['SELECT MIN(`id`), MAX(`id`) FROM `t`'])
  })
})
