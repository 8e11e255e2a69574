import { describe, expect, it } from 'vitest'
import { quoteId, quoteQualified, quoteString } from '../../../src/db/quote.js'

describe('quoteId', () => {
  it('backticks a name and doubles the backticks inside it', () => {
    expect(quoteId('orders')).toBe('`orders`')
    expect(quoteId('a`b')).toBe('`a``b`')
    expect(quoteId('x`; DROP TABLE t; --')).toBe('`x``; DROP TABLE t; --`')
    expect(quoteQualified('db', 't`')).toBe('`db`.`t```')
  })

  it('refuses names no server accepts', () => {
    expect(() => quoteId('')).toThrow(/empty/)
    expect(() => quoteId('a\u0000b')).toThrow(/NUL/)
  })
})

describe('quoteString', () => {
  it('escapes quotes, backslashes and control bytes', () => {
    expect(quoteString("it's")).toBe("'it\\'s'")
    expect(quoteString('a\\b"c')).toBe("'a\\\\b\\\"c'")
    expect(quoteString('\u0000\b\t\n\r\u001a')).toBe("'\\0\\b\\t\\n\\r\\Z'")
    expect(quoteString('ünï 😀')).toBe("'ünï 😀'")
  })
})
