import { hash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MD5_B64URL_LENGTH, MD5_JS_MAX, md5Base64url } from '../../../src/sync/md5.js'

describe('md5Base64url', () => {
  it('gives node:crypto base64url MD5 for every length up to past the JavaScript limit, at any offset', () => {
    const bytes = Buffer.from(Array.from({ length: 400 }, (_v, i) => (i * 131 + 7) & 0xff))
    const out = Buffer.alloc(40, 0x2e)
    for (let len = 0; len <= MD5_JS_MAX + 40; len++) {
      const start = len % 17
      md5Base64url(bytes, start, start + len, out, 5)
      expect(out.toString('latin1', 5, 5 + MD5_B64URL_LENGTH)).toBe(
        hash('md5', bytes.subarray(start, start + len), 'base64url'),
      )
      // Nothing written around the 22 characters.
      expect(out[4]).toBe(0x2e)
      expect(out[5 + MD5_B64URL_LENGTH]).toBe(0x2e)
    }
  })

  it('matches the RFC 1321 test suite', () => {
    const out = Buffer.alloc(MD5_B64URL_LENGTH)
    const hex = (s: string) => {
      md5Base64url(Buffer.from(s), 0, s.length, out, 0)
      return Buffer.from(out.toString('latin1'), 'base64url').toString('hex')
    }
    expect(hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e')
    expect(hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72')
    expect(hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe(
      '57edf4a22be3c955ac49da2e2107b67a',
    )
  })
})
