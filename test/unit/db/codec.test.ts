import { describe, expect, it } from 'vitest'
import { codecKind, columnCodec } from '../../../src/db/codec.js'
import { detectFlavor } from '../../../src/db/flavor.js'
import { col } from '../schema/helpers.js'

// The codecs turn the exact text-protocol bytes of a value into the literal written to the target.
// Each case pins the literal byte for byte: a change here changes what lands on the target.

const mariadb = detectFlavor('10.11.6-MariaDB')
const literal = (columnType: string, raw: Buffer | string | null, opts = {}) =>
  columnCodec(col('c', columnType, opts), mariadb).literal(
    raw === null ? null : Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1'),
  )

describe('column codecs', () => {
  it('writes DECIMAL(65,30) digits unchanged, past any JS number precision', () => {
    const v = '-12345678901234567890123456789012345.123456789012345678901234567890'
    expect(literal('decimal(65,30)', v)).toBe(v)
  })

  it('writes BIGINT UNSIGNED 18446744073709551615 exactly', () => {
    expect(literal('bigint(20) unsigned', '18446744073709551615')).toBe('18446744073709551615')
    expect(literal('bigint(20)', '-9223372036854775808')).toBe('-9223372036854775808')
  })

  it('quotes DATETIME(6) text with its microseconds, and zero dates as they are', () => {
    expect(literal('datetime(6)', '2038-01-19 03:14:07.999999')).toBe("'2038-01-19 03:14:07.999999'")
    expect(literal('datetime', '0000-00-00 00:00:00')).toBe("'0000-00-00 00:00:00'")
    expect(literal('time(6)', '-838:59:59.000000')).toBe("'-838:59:59.000000'")
  })

  it('writes BIT as hex of its bytes', () => {
    expect(literal('bit(10)', Buffer.from([0x03, 0xff]))).toBe("X'03ff'")
    expect(literal('bit(1)', Buffer.from([0x00]))).toBe("X'00'")
  })

  it('writes binary values, NUL and quote bytes included, as hex', () => {
    expect(literal('varbinary(8)', Buffer.from([0x00, 0x27, 0x5c, 0xff]))).toBe("X'00275cff'")
    expect(literal('blob', Buffer.alloc(0))).toBe("X''")
  })

  it("writes text as the column's own bytes under its charset introducer", () => {
    const bytes = Buffer.from("it's ☃", 'utf8')
    expect(literal('varchar(10)', bytes)).toBe(`_utf8mb4 X'${bytes.toString('hex')}'`)
    expect(literal('char(3)', Buffer.from([0xe9]), { charset: 'latin1' })).toBe("_latin1 X'e9'")
  })

  it('writes JSON as utf8mb4 text, key order and spacing untouched', () => {
    const json = '{"b": 1, "a": [1.10, "ü"]}'
    const c = columnCodec(col('c', 'json', { charset: null }), mariadb)
    expect(c.kind).toBe('utf8')
    expect(c.literal(Buffer.from(json, 'utf8'))).toBe(`_utf8mb4 X'${Buffer.from(json).toString('hex')}'`)
  })

  it('writes NULL for a null value of every kind', () => {
    for (const t of ['int', 'float', 'bit(1)', 'date', 'blob', 'varchar(5)', 'json', 'point'])
      expect(literal(t, null)).toBe('NULL')
  })

  it('refuses numeric and temporal bytes that could carry SQL', () => {
    expect(() => literal('int', '1 OR 1=1')).toThrow(/unexpected numeric value/)
    expect(() => literal('decimal(5,2)', '1e')).toThrow(/unexpected numeric value/)
    expect(() => literal('datetime', "2020-01-01' OR '1")).toThrow(/unexpected temporal value/)
  })

  it('reads FLOAT widened to DOUBLE and text as binary, identifiers quoted', () => {
    expect(columnCodec(col('f`x', 'float'), mariadb).select).toBe('(`f``x` * 1e0)')
    expect(columnCodec(col('t', 'text'), mariadb).select).toBe('CAST(`t` AS BINARY)')
    expect(columnCodec(col('d', 'decimal(10,2)'), mariadb).select).toBe('`d`')
  })

  it('treats character types with the binary charset as binary', () => {
    expect(codecKind({ dataType: 'varchar', charset: 'binary' })).toBe('binary')
    expect(codecKind({ dataType: 'enum', charset: 'utf8mb4' })).toBe('text')
    expect(codecKind({ dataType: 'inet6', charset: null })).toBe('utf8')
  })
})
