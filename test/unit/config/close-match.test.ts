import { describe, expect, it } from 'vitest'
import { closeMatch, levenshtein, suggestionHint } from '../../../src/config/close-match.js'

describe('closeMatch', () => {
  it('measures edit distance', () => {
    expect(levenshtein('cursr', 'cursor')).toBe(1)
    expect(levenshtein('kitten', 'sitting')).toBe(3)
    expect(levenshtein('', 'abc')).toBe(3)
  })

  it('suggests the nearest key for a typo', () => {
    expect(closeMatch('cursr', ['name', 'cursor', 'strategy'])).toBe('cursor')
    expect(closeMatch('primarykey', ['primary_key', 'batch_size'])).toBe('primary_key')
    expect(closeMatch('Strategy', ['strategy'])).toBe('strategy')
  })

  it('suggests nothing for a word unlike every candidate', () => {
    expect(closeMatch('foo', ['cursor', 'strategy'])).toBeUndefined()
  })

  it('falls back to listing what is allowed', () => {
    expect(suggestionHint('zzz', ['a', 'b'])).toBe('allowed: a, b')
    expect(suggestionHint('bach_size', ['batch_size'])).toBe('did you mean "batch_size"?')
  })
})
