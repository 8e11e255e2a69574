import { describe, expect, it } from 'vitest'
import { columnCodec } from '../../../src/db/codec.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import { InsertEncoder, type InsertTarget, insertShape } from '../../../src/sync/insert-encoder.js'
import { rowId } from '../../../src/sync/row-id.js'

const flavor = detectFlavor('10.11.6-MariaDB')
const target: InsertTarget = {
  target: { flavor, maxAllowedPacket: 64 * 1024 * 1024 },
  table: 't',
  label: 't',
  codecs: [
    columnCodec({ name: 'id', dataType: 'bigint', charset: null }, flavor),
    columnCodec({ name: 'note', dataType: 'varchar', charset: 'utf8mb4' }, flavor),
  ],
  nullColumns: [],
  keyIndexes: [0],
  mode: 'insert',
  loadId: '1.5',
}

/** Encode `n` rows whose note is `note(i)`; the statements as the strings mysql2 would send. */
function encode(
  n: number,
  note: (i: number) => string,
): Array<{ text: string; bytes: Buffer; rows: number }> {
  const enc = new InsertEncoder(target, insertShape(target))
  for (let i = 0; i < n; i++) enc.add([Buffer.from(String(i)), Buffer.from(note(i), 'utf8')])
  return enc.finish().map((s) => ({
    text: s.sql.text(),
    bytes: Buffer.from(s.sql.buf.subarray(s.sql.start, s.sql.len)),
    rows: s.rows,
  }))
}

describe('InsertEncoder', () => {
  it('keeps ASCII statements to 120 KB and those with non-ASCII text to 60 KB, each a string of at most 120 KB', () => {
    const ascii = encode(2000, (i) => `note ${i} ${'x'.repeat(200)}`)
    const wide = encode(2000, (i) => (i === 700 ? 'plain' : `note ${i} 😀 ✓ ${'y'.repeat(200)}`))
    for (const [statements, cap] of [
      [ascii, 120 * 1024],
      [wide, 60 * 1024],
    ] as const) {
      expect(statements.length).toBeGreaterThan(2)
      expect(statements.reduce((n, s) => n + s.rows, 0)).toBe(2000)
      for (const s of statements) {
        expect(s.bytes.length).toBeLessThanOrEqual(cap)
        // Exactly these bytes reach the server: mysql2 encodes the string as UTF-8.
        expect(Buffer.from(s.text, 'utf8').equals(s.bytes)).toBe(true)
        expect(s.text.length * (cap === 120 * 1024 ? 1 : 2)).toBeLessThanOrEqual(120 * 1024)
      }
    }
    expect(wide[0]!.text).toContain("_utf8mb4'note 0 😀 ✓ y")
  })

  it('keeps the non-ASCII row that starts a new statement exact', () => {
    // ASCII rows fill the first statement past 60 KB; the first non-ASCII row moves to the next one.
    const statements = encode(400, (i) => (i < 300 ? 'a'.repeat(300) : `é ${i} 😀`))
    expect(statements.length).toBeGreaterThan(1)
    for (const s of statements) expect(Buffer.from(s.text, 'utf8').equals(s.bytes)).toBe(true)
    expect(statements.map((s) => s.text).join('')).toContain("(300,_utf8mb4'é 300 😀'")
  })

  it('writes the _dlt_id of row-id.ts, computed in place for a one-column key', () => {
    const [first] = encode(3, () => 'n')
    for (const id of ['0', '1', '2']) {
      const expected = rowId([Buffer.from(id)], [0], '1.5', 0)
      expect(first!.text).toContain(`(${id},_utf8mb4'n','1.5','${expected}')`)
    }
  })
})
