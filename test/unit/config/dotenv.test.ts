import { describe, expect, it } from 'vitest'
import { parseDotenv } from '../../../src/config/dotenv.js'
import { ConfigError } from '../../../src/errors.js'

describe('parseDotenv', () => {
  it('reads KEY=VALUE lines, skipping blanks and comments', () => {
    expect(parseDotenv('# a comment\n\nA=1\n  B = two words  \n', '.env')).toEqual({ A: '1', B: 'two words' })
  })

  it('accepts an export prefix', () => {
    expect(parseDotenv('export A=1\n', '.env')).toEqual({ A: '1' })
  })

  it('strips an inline comment from unquoted values only', () => {
    expect(parseDotenv('A=x # note\nB=p#ss\nC="x # kept"\n', '.env')).toEqual({
      A: 'x',
      B: 'p#ss',
      C: 'x # kept',
    })
  })

  it('keeps single-quoted values literally and unescapes double-quoted ones', () => {
    expect(parseDotenv(`A='a\\nb $x'\nB="a\\nb \\"q\\""\n`, '.env')).toEqual({ A: 'a\\nb $x', B: 'a\nb "q"' })
  })

  it('reads a double-quoted value over several lines', () => {
    expect(parseDotenv('KEY="line1\nline2"\nNEXT=1\n', '.env')).toEqual({ KEY: 'line1\nline2', NEXT: '1' })
  })

  it('keeps "=" inside values and handles CRLF line ends', () => {
    expect(parseDotenv('URL=mysql://u:p=q@h/d?ssl-mode=REQUIRED\r\nB=2\r\n', '.env')).toEqual({
      URL: 'mysql://u:p=q@h/d?ssl-mode=REQUIRED',
      B: '2',
    })
  })

  it('names the file and line of a malformed line', () => {
    expect(() => parseDotenv('A=1\nnot a pair\n', 'prod.env')).toThrow(ConfigError)
    expect(() => parseDotenv('A=1\nnot a pair\n', 'prod.env')).toThrow(/^prod\.env:2: expected KEY=VALUE$/)
  })

  it('rejects an unclosed quote', () => {
    expect(() => parseDotenv('A="open\n', '.env')).toThrow(/\.env:1: unclosed " in the value of A/)
  })
})
