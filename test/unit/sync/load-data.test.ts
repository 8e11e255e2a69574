import { hash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { ColumnCodec } from '../../../src/db/codec.js'
import { bitValue, encodeRows, loadDataStatement, RowEncoder } from '../../../src/sync/load-data.js'
import type { RawRow } from '../../../src/sync/read.js'
import { rowId } from '../../../src/sync/row-id.js'
import type { WriteTarget } from '../../../src/sync/write.js'

const codec = (name: string, kind: ColumnCodec['kind']): ColumnCodec => ({
  name,
  kind,
  select: name,
  literal: () => '',
  write: () => undefined,
})

function target(keyIndexes: number[]): WriteTarget {
  return {
    target: {} as WriteTarget['target'],
    table: 't',
    label: 't',
    codecs: [codec('id', 'number'), codec('v', 'binary'), codec('flags', 'bit'), codec('note', 'text')],
    nullColumns: [],
    keyIndexes,
    mode: 'load',
    loadId: '1795708381.569961',
    timeoutMs: 1000,
  }
}

/** A text-protocol row: each value length-encoded, NULL as 0xFB (what the server sends). */
function packet(row: RawRow): Buffer {
  const parts: Buffer[] = [Buffer.from('HDR!')]
  for (const v of row) {
    if (v === null) {
      parts.push(Buffer.from([0xfb]))
      continue
    }
    const n = v.length
    if (n < 0xfb) parts.push(Buffer.from([n]))
    else if (n < 2 ** 16) parts.push(Buffer.from([0xfc, n & 0xff, n >> 8]))
    else if (n < 2 ** 24) parts.push(Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]))
    else {
      const len = Buffer.alloc(9)
      len[0] = 0xfe
      len.writeUInt32LE(n, 1)
      parts.push(len)
    }
    parts.push(v)
  }
  return Buffer.concat(parts)
}

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s))

const ROWS: RawRow[] = [
  [b('1'), b([0x00, 0x09, 0x0a, 0x5c, 0xff]), b([0x81]), b('tab\there\nnewline \\ back')],
  [b('2'), null, b([0x00]), null],
  [b('18446744073709551615'), b(''), b([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), b('é 😀')],
  [b('3'), Buffer.alloc(300, 0x41), b([0x01, 0x00]), b('x'.repeat(70_000))],
  [b('4'), Buffer.alloc(2 ** 24 + 5, 0x5c), b([0x02]), b('')],
]

describe('LOAD DATA encoding', () => {
  it('encodes a row packet exactly as the parsed row, for every length form, NULL and special byte', () => {
    for (const keys of [[0], [0, 3], []]) {
      const w = target(keys)
      const fromPackets = new RowEncoder(w, 7)
      for (const row of ROWS) fromPackets.addPacket(packet(row), 4)
      const a = Buffer.concat(fromPackets.finish())
      const e = Buffer.concat(encodeRows(w, ROWS, 7))
      // Compared as a boolean: a failing diff of 30 MB would not print anyway.
      expect(a.length).toBe(e.length)
      expect(a.equals(e)).toBe(true)
      expect(fromPackets.rows).toBe(ROWS.length)
      expect(fromPackets.nextOrdinal).toBe(7 + ROWS.length)
    }
  })

  it('escapes tab, newline, backslash and NUL, writes \\N for NULL, and ends with _dlt_id alone', () => {
    const w = target([0])
    const text = Buffer.concat(encodeRows(w, ROWS.slice(0, 2))).toString('latin1')
    const id1 = hash('md5', b('1'), 'base64url')
    const id2 = hash('md5', b('2'), 'base64url')
    expect(text).toBe(
      `1\t\\0\\t\\n\\\\\xff\t129\ttab\\there\\nnewline \\\\ back\t${id1}\n` + `2\t\\N\t0\t\\N\t${id2}\n`,
    )
  })

  it('writes the _dlt_id the INSERT path gives (row-id.ts), for one key column, a composite key and none', () => {
    const rows: RawRow[] = [...ROWS.slice(0, 4), [b('9'.repeat(130)), b('v'), b([1]), b('k'.repeat(300))]]
    for (const keys of [[0], [0, 3], [3, 0], [1, 3], []]) {
      const w = target(keys)
      const lines = Buffer.concat(encodeRows(w, rows, 41))
        .toString('latin1')
        .split('\n')
      rows.forEach((row, r) => {
        expect(lines[r]!.endsWith(`\t${rowId(row, keys, w.loadId, 41 + r)}`)).toBe(true)
        expect(lines[r]!.includes(w.loadId)).toBe(false)
      })
    }
  })

  it('sets _dlt_load_id once in the statement, as an escaped literal, and reads only _dlt_id per row', () => {
    const w = { ...target([0]), loadId: "1.5'\\" }
    const sql = loadDataStatement(w)
    expect(sql).toContain("SET `flags` = CAST(@v2 AS UNSIGNED), `_dlt_load_id` = '1.5\\'\\\\'")
    expect(sql).toContain('(`id`, `v`, @v2, `note`, `_dlt_id`)')
  })

  it('keeps the last row key for the position, and counts the encoded bytes', () => {
    const enc = new RowEncoder(target([0, 3]), 0)
    enc.addPacket(packet(ROWS[0]!), 4)
    enc.addPacket(packet(ROWS[1]!), 4)
    expect(enc.lastKey).toEqual([b('2'), null])
    expect(enc.bytes).toBe(Buffer.concat(enc.finish()).length)
  })

  it('writes BIT values as exact decimal numbers, 64 bits included', () => {
    expect(bitValue(b([]))).toBe('0')
    expect(bitValue(b([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(String(2 ** 48 - 1))
    expect(bitValue(b([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe('18446744073709551615')
    expect(bitValue(b([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]))).toBe(String(2n ** 48n))
  })
})
