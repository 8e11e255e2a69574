import { describe, expect, it } from 'vitest'
import { ChunkWriter, recycleChunks } from '../../../src/sync/tsv-chunks.js'

/** LOAD DATA escaping written the plain way, to compare with. */
function escapedPlain(v: Buffer): string {
  const map: Record<number, string> = { 9: '\\t', 10: '\\n', 92: '\\\\', 0: '\\0' }
  return Array.from(v, (b) => map[b] ?? String.fromCharCode(b)).join('')
}

describe('ChunkWriter', () => {
  it('writes values larger than a chunk across chunks of a fixed size, byte-exact', () => {
    // 1.5 MB of every byte value, escapes included: several chunks, each value crossing their ends.
    const big = Buffer.from(Array.from({ length: 1_500_000 }, (_v, i) => (i * 7919) % 256))
    const small = Buffer.from('a\tb\nc\\d\0e')
    const out = new ChunkWriter()
    const expected: string[] = []
    for (let r = 0; r < 3; r++) {
      out.escaped(big, r, big.length)
      out.byte(0x09)
      out.escaped(small, 0, small.length)
      out.nullField()
      out.byte(0x0a)
      out.maybeFlush()
      expected.push(`${escapedPlain(big.subarray(r))}\t${escapedPlain(small)}\\N\n`)
    }
    const size = out.size
    const chunks = out.finish()
    const text = Buffer.concat(chunks).toString('latin1')
    expect(text.length).toBe(size)
    expect(text === expected.join('')).toBe(true)
    // No buffer grew past the chunk size: every one can be reused by the next batch.
    const sizes = new Set(out.owned.map((b) => b.length))
    expect(sizes.size).toBe(1)
    expect(chunks.length).toBeGreaterThan(10)
    recycleChunks(out.owned)
  })
})
