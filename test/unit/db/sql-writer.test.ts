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

  it('quotes ASCII, and valid UTF-8 only where asked (a utf8mb4 column)', () => {
    const q = (v: Buffer, utf8 = false) => canQuote(v, 0, v.length, utf8)
    expect(q(Buffer.from("it's ok", 'utf8'))).toBe(true)
    expect(q(Buffer.from('a\\b', 'utf8'))).toBe(true)
    expect(q(Buffer.from([0x61, 0x00]))).toBe(true)
    expect(q(Buffer.from("it's 😀 𝄞", 'utf8'))).toBe(false)
    expect(q(Buffer.from("it's 😀 𝄞 é ✓ \u{10ffff}", 'utf8'), true)).toBe(true)
    const invalid = [
      [0xe9, 0xff], // latin1 bytes
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate, not UTF-8
      [0xc0, 0xaf], // overlong '/'
      [0xe0, 0x80, 0xaf], // overlong
      [0xf0, 0x80, 0x80, 0xaf], // overlong
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x9c], // cut short
      [0x80], // a lone continuation byte
      [0xc3, 0x41],
    ]
    for (const bytes of invalid) expect(q(Buffer.from(bytes), true), bytes.join(',')).toBe(false)
  })

  it('round-trips every valid UTF-8 value it quotes through the string mysql2 sends', () => {
    const samples = ['é', '✓', '😀', '\u{10ffff}', '\u{fffd}', '\u{ffff}', '\u{d7ff}\u{e000}', "a'b\\c\0d"]
    for (const s of samples) {
      const v = Buffer.from(s, 'utf8')
      expect(canQuote(v, 0, v.length, true), s).toBe(true)
      const out = new SqlWriter()
      out.quoted(v, 0, v.length)
      expect(Buffer.from(out.text(), 'utf8'), s).toEqual(out.buf.subarray(0, out.len))
    }
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
    expect(written('varchar', 'utf8mb4', Buffer.from('😀', 'utf8'))).toBe("_utf8mb4'😀'")
    expect(written('varchar', 'utf8mb4', Buffer.from([0xf0, 0x9f, 0x98]))).toBe("_utf8mb4 X'f09f98'")
    expect(written('varchar', 'utf8mb4', b('a\\b'))).toBe("_utf8mb4'a\\\\b'")
    expect(written('varchar', 'utf8mb4', b('a\0b'))).toBe("_utf8mb4'a\\0b'")
    expect(written('varchar', 'utf8mb3', Buffer.from('✓', 'utf8'))).toBe("_utf8mb3 X'e29c93'")
    expect(written('varchar', 'latin1', Buffer.from([0xe9]))).toBe("_latin1 X'e9'")
    expect(written('varchar', 'latin1', b('a\\b'))).toBe("_latin1'a\\\\b'")
    expect(written('varbinary', null, b("'"))).toBe("X'27'")
    expect(written('json', 'utf8mb4', b('{"a": 1}'))).toBe(`_utf8mb4'{"a": 1}'`)
    expect(written('decimal', null, b('-0.5'))).toBe('-0.5')
    expect(written('datetime', null, b('2024-01-01 00:00:00.000001'))).toBe("'2024-01-01 00:00:00.000001'")
    expect(() => written('int', null, b('1 OR 1'))).toThrow(/unexpected numeric value/)
    expect(() => written('datetime', null, b("1'"))).toThrow(/unexpected temporal value/)
  })
})
