import { describe, expect, it } from 'vitest'
import { parseDuration, tryParseDuration } from '../../../src/config/duration.js'
import { ConfigError } from '../../../src/errors.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['0s', 0],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['', '5', 's', '1.5h', '-1s', '5 m', '5min', '1h30m', '10S'])('rejects %j', (text) => {
    expect(tryParseDuration(text)).toBeUndefined()
    expect(() => parseDuration(text)).toThrow(ConfigError)
  })

  it('names what was being parsed and what was expected', () => {
    const err = catchError(() => parseDuration('5x', '--every'))
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).exitCode).toBe(2)
    expect((err as ConfigError).message).toBe(
      '--every: expected a duration such as 500ms, 30s, 5m, 2h or 1d, got "5x"',
    )
  })

  it('rejects durations too long to count in milliseconds exactly', () => {
    expect(tryParseDuration('99999999999999999d')).toBeUndefined()
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected an error')
}
