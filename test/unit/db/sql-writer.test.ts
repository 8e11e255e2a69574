import { describe, expect, it } from 'vitest'
import { columnCodec } from '../../../src/db/codec.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import { canQuote, isNumberText, isTemporalText, SqlWriter } from '../../../src/db/sql-writer.js'

const b = (s: string) => Buffer.from(s, 'latin1')
const NUMBER_RE = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/
const TEMPORAL_RE = /^-?[\d: .-]+$/

function written(dataType: string, charset: string | null, v: Buffer): string {
  const codec = columnCodec({ name: 'c', dataType, charset }, detectFlavor('10.11.6-MariaDB'))
  const out = new SqlWriter()
  codec.write(out, v, 0, v.length)
  return out.text()
}

describe('sql-writer', () => {
  it('checks numbers and temporal text byte by byte exactly as the codec regexes do', () => {
    const samples = [
      '1',
      '-1',
      '+1',
      '1.',
      '.5',
      '.',
      '',
      '1e5',
      '1E-5',
      '1e',
      'e5',
      '1.2.3',
      '--1',
      '1-1',
      '0x1',
      '12345678901234567890123456789012345.123456789012345678901234567890',
      ' 1',
      '1 ',
      '2024-01-01 00:00:00.5',
      '-838:59:59',
      '-',
      '1;',
      "1'",
      '9999-12-31',
    ]
    for (const s of samples) {
      expect(isNumberText(b(s), 0, s.length), s).toBe(NUMBER_RE.test(s))
      expect(isTemporalText(b(s), 0, s.length), s).toBe(TEMPORAL_RE.test(s))
    }
  })

  it('quotes only ASCII without backslash or NUL', () => {
    const q = (v: Buffer) => canQuote(v, 0, v.length)
    expect(q(Buffer.from("it's ok", 'utf8'))).toBe(true)
    expect(q(Buffer.from("it's 😀 𝄞", 'utf8'))).toBe(false)
    expect(q(Buffer.from('a\\b', 'utf8'))).toBe(false)
    expect(q(Buffer.from([0x61, 0x00]))).toBe(false)
    expect(q(Buffer.from([0xe9, 0xff]))).toBe(false)
    expect(q(Buffer.from([0xed, 0xa0, 0x80]))).toBe(false) // a UTF-16 surrogate, not UTF-8
  })

  it('writes identifiers as UTF-8 and values as ASCII, so the text round-trips exactly', () => {
    const out = new SqlWriter()
    out.utf8('INSERT INTO `ünï` VALUES (')
    out.quoted(Buffer.from('x'), 0, 1)
    out.ascii(')')
    expect(Buffer.from(out.text(), 'utf8')).toEqual(out.buf.subarray(0, out.len))
  })

  it('writes the literals the codecs define, text quoted where exact and hex otherwise', () => {
    expect(written('varchar', 'utf8mb4', Buffer.from("it's", 'utf8'))).toBe("_utf8mb4'it''s'")
    expect(written('varchar', 'utf8mb4', Buffer.from('😀', 'utf8'))).toBe("_utf8mb4 X'f09f9880'")
    expect(written('varchar', 'utf8mb4', b('a\\b'))).toBe("_utf8mb4 X'615c62'")
    expect(written('varchar', 'latin1', Buffer.from([0xe9]))).toBe("_latin1 X'e9'")
    expect(written('varbinary', null, b("'"))).toBe("X'27'")
    expect(written('json', 'utf8mb4', b('{"a": 1}'))).toBe(`_utf8mb4'{"a": 1}'`)
    expect(written('decimal', null, b('-0.5'))).toBe('-0.5')
    expect(written('datetime', null, b('2024-01-01 00:00:00.000001'))).toBe("'2024-01-01 00:00:00.000001'")
    expect(() => written('int', null, b('1 OR 1'))).toThrow(/unexpected numeric value/)
    expect(() => written('datetime', null, b("1'"))).toThrow(/unexpected temporal value/)
  })
})
