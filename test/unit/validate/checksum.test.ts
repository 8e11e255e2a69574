import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { bisect, type RangeHash, type RangeReader, sameHash } from '../../../src/validate/checksum.js'
import type { KeyRange } from '../../../src/validate/checksum-sql.js'

/** Two "tables" of integer keys to values, read through the same interface as the servers. */
class FakeReader implements RangeReader {
  hashCalls = 0
  leaves: Array<{ range: KeyRange; sourceRows: number }> = []
  differences: string[] = []

  constructor(
    readonly source: Map<number, string>,
    readonly target: Map<number, string>,
    readonly joined = false,
  ) {}

  private keysIn(side: Map<number, string>, r: KeyRange): number[] {
    const lo = r.lo ? Number(r.lo[0]!.toString()) : -Infinity
    const hi = r.hi ? Number(r.hi[0]!.toString()) : Infinity
    return [...side.keys()].filter((k) => k > lo && k <= hi).sort((a, b) => a - b)
  }

  async hashes(r: KeyRange): Promise<[RangeHash, RangeHash]> {
    this.hashCalls += 2
    return [this.hash(this.source, r), this.hash(this.target, r)]
  }

  /** A sum of per-row digests (linear), or, with `joined`, SHA1 of the rows joined in key order. */
  private hash(rows: Map<number, string>, r: KeyRange): RangeHash {
    const keys = this.keysIn(rows, r)
    if (this.joined) {
      const text = keys.map((k) => `${k}#${rows.get(k)}`).join('/')
      const sum = BigInt(`0x${createHash('sha1').update(text).digest('hex')}`)
      return { count: BigInt(keys.length), sum, pending: 0n, linear: false }
    }
    let sum = 0n
    for (const k of keys) sum += rowHash(k, rows.get(k)!)
    return { count: BigInt(keys.length), sum, pending: 0n, linear: true }
  }

  async keyAt(r: KeyRange, offset: number): Promise<Buffer[]> {
    const k = this.keysIn(this.source, r)[offset]
    if (k === undefined) throw new Error('offset outside the range')
    return [Buffer.from(String(k))]
  }

  async leaf(r: KeyRange): Promise<void> {
    const s = this.keysIn(this.source, r)
    this.leaves.push({ range: r, sourceRows: s.length })
    const t = this.keysIn(this.target, r)
    for (const k of s) {
      if (!this.target.has(k)) this.differences.push(`missing ${k}`)
      else if (this.target.get(k) !== this.source.get(k)) this.differences.push(`differs ${k}`)
    }
    for (const k of t) if (!this.source.has(k)) this.differences.push(`extra ${k}`)
  }
}

function rowHash(k: number, v: string): bigint {
  return BigInt(`0x${createHash('sha1').update(`${k}#${v}`).digest('hex').slice(0, 16)}`)
}

function table(n: number): Map<number, string> {
  return new Map(Array.from({ length: n }, (_v, i) => [i + 1, `row ${i + 1}`]))
}

async function run(reader: FakeReader, leafRows: number) {
  const all: KeyRange = { lo: null, hi: null }
  const [s, t] = await reader.hashes(all)
  reader.hashCalls = 0
  await bisect(reader, all, s, t, leafRows)
  return reader
}

describe('bisect', () => {
  it('does nothing for equal ranges', async () => {
    const r = await run(new FakeReader(table(1000), table(1000)), 10)
    expect(r.hashCalls).toBe(0)
    expect(r.leaves).toEqual([])
  })

  it('narrows a changed, a deleted and an added row down to small leaves', async () => {
    const source = table(10_000)
    const target = table(10_000)
    target.set(17, 'changed')
    target.delete(5000)
    target.set(20_000, 'extra')
    const r = await run(new FakeReader(source, target), 50)
    expect(r.differences.sort()).toEqual(['differs 17', 'extra 20000', 'missing 5000'])
    for (const leaf of r.leaves) expect(leaf.sourceRows).toBeLessThanOrEqual(50)
    // Three isolated differences: about log2(10000 / 50) levels each, two hash queries per level.
    expect(r.hashCalls).toBeLessThanOrEqual(3 * 2 * 9)
    expect(r.leaves.length).toBeLessThanOrEqual(3)
  })

  it('hashes both halves of each level when the hash is SHA1 of joined rows, and finds the same rows', async () => {
    const source = table(10_000)
    const target = table(10_000)
    target.set(17, 'changed')
    target.delete(5000)
    target.set(20_000, 'extra')
    const r = await run(new FakeReader(source, target, true), 50)
    expect(r.differences.sort()).toEqual(['differs 17', 'extra 20000', 'missing 5000'])
    for (const leaf of r.leaves) expect(leaf.sourceRows).toBeLessThanOrEqual(50)
    // Two queries per side per level, where a sum needs one.
    expect(r.hashCalls).toBeLessThanOrEqual(3 * 4 * 9)
    expect(r.leaves.length).toBeLessThanOrEqual(3)
  })

  it('finds a row moved to another key and two rows that swapped values (SHA1 of joined rows)', async () => {
    const source = table(1000)
    const target = table(1000)
    target.set(10, 'row 11')
    target.set(11, 'row 10')
    target.delete(500)
    target.set(1500, 'row 500')
    const r = await run(new FakeReader(source, target, true), 16)
    expect(r.differences.sort()).toEqual(['differs 10', 'differs 11', 'extra 1500', 'missing 500'])
  })

  it('finds target rows below the first and above the last source key', async () => {
    const source = new Map([...table(1000)].filter(([k]) => k > 10))
    const target = table(1001)
    const r = await run(new FakeReader(source, target), 100)
    expect(r.differences.sort()).toEqual(
      [...Array.from({ length: 10 }, (_v, i) => `extra ${i + 1}`), 'extra 1001'].sort(),
    )
  })

  it('reaches every row when the target is empty, with leaves no larger than asked', async () => {
    const r = await run(new FakeReader(table(1000), new Map()), 64)
    expect(r.differences).toHaveLength(1000)
    for (const leaf of r.leaves) expect(leaf.sourceRows).toBeLessThanOrEqual(64)
  })

  it('compares an empty source range row by row at once (the target may hold anything there)', async () => {
    const r = await run(new FakeReader(new Map(), table(3)), 64)
    expect(r.leaves).toHaveLength(1)
    expect(r.differences).toEqual(['extra 1', 'extra 2', 'extra 3'])
  })
})

describe('sameHash', () => {
  const h = (count: bigint, sum: bigint, pending = 0n, linear = true) => ({ count, sum, pending, linear })
  it('needs equal counts and sums', () => {
    expect(sameHash(h(1n, 5n), h(1n, 5n, 3n))).toBe(true)
    expect(sameHash(h(1n, 5n), h(2n, 5n))).toBe(false)
    expect(sameHash(h(1n, 5n), h(1n, 6n))).toBe(false)
  })
  it('never calls a sum equal to a SHA1 of joined rows', () => {
    expect(sameHash(h(1n, 5n), h(1n, 5n, 0n, false))).toBe(false)
  })
})
