import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/errors.js'
import { backoffTicks, describeSchedule, resolveSchedule } from '../../../src/schedule/spec.js'

function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('resolveSchedule', () => {
  it('runs once without a flag or a schedule in the file', () => {
    expect(resolveSchedule({}, undefined)).toBeUndefined()
  })

  it('takes the file schedule when no flag is given', () => {
    expect(resolveSchedule({}, { everyMs: 300_000 })).toEqual({ everyMs: 300_000 })
    expect(resolveSchedule({}, { cron: '*/5 * * * *' })).toEqual({ cron: '*/5 * * * *' })
  })

  it('lets a flag win over the file', () => {
    expect(resolveSchedule({ every: '30s' }, { cron: '0 3 * * *' })).toEqual({ everyMs: 30_000 })
    expect(resolveSchedule({ cron: '0 3 * * *' }, { everyMs: 60_000 })).toEqual({ cron: '0 3 * * *' })
  })

  it('allows second-level intervals and six-field cron expressions', () => {
    expect(resolveSchedule({ every: '1s' })).toEqual({ everyMs: 1000 })
    expect(resolveSchedule({ cron: '*/10 * * * * *' })).toEqual({ cron: '*/10 * * * * *' })
  })

  it('refuses --every and --cron together', () => {
    expect(configError(() => resolveSchedule({ every: '1m', cron: '* * * * *' })).message).toContain(
      'cannot be used together',
    )
  })

  it.each(['500ms', '1500ms', '0s'])('refuses an interval of %s: whole seconds, at least one', (every) => {
    expect(configError(() => resolveSchedule({ every })).message).toContain('whole number of seconds')
  })

  it('names the flag when the duration does not parse', () => {
    expect(configError(() => resolveSchedule({ every: '5 minutes' })).message).toMatch(/^--every: /)
  })

  it('refuses a cron expression croner cannot read, naming where it came from', () => {
    const err = configError(() => resolveSchedule({}, { cron: '61 * * * *' }))
    expect(err.message).toContain('schedule.cron: "61 * * * *" is not a cron expression')
    expect(err.exitCode).toBe(2)
  })

  it('describes the schedule for /status', () => {
    expect(describeSchedule({ everyMs: 90_000 })).toEqual({ every: '90s' })
    expect(describeSchedule({ cron: '0 * * * *' })).toEqual({ cron: '0 * * * *' })
  })
})

describe('backoffTicks', () => {
  it('retries at the next tick after one failure, then doubles the gap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffTicks(n, 60_000))).toEqual([0, 1, 3, 7, 15])
  })

  it('keeps the wait under 15 minutes', () => {
    expect(backoffTicks(10, 60_000)).toBe(15)
    expect(backoffTicks(50, 1000)).toBe(900)
    expect(backoffTicks(10, 30 * 60_000)).toBe(0)
  })
})
