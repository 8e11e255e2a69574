import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { withDeadline } from '../../../src/observe/deadline.js'

describe('withDeadline', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('returns the work and leaves no timer behind', async () => {
    const expire = vi.fn(() => 'late')
    await expect(withDeadline(Promise.resolve('done'), 1000, expire)).resolves.toBe('done')
    expect(vi.getTimerCount()).toBe(0)
    expect(expire).not.toHaveBeenCalled()
  })

  it("passes the work's rejection through and clears the timer", async () => {
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000, () => 0)).rejects.toThrow('boom')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('settles as expire() once the deadline passes, not before', async () => {
    const never = new Promise<string>(() => {})
    const expire = vi.fn(() => 'gave up')
    const result = withDeadline(never, 1000, expire)
    await vi.advanceTimersByTimeAsync(999)
    expect(expire).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    await expect(result).resolves.toBe('gave up')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects with what expire() throws, and a late rejection of the work stays handled', async () => {
    let fail!: (err: Error) => void
    const work = new Promise<string>((_, reject) => {
      fail = reject
    })
    const result = withDeadline(work, 10, () => {
      throw new Error('timed out')
    })
    const settled = expect(result).rejects.toThrow('timed out')
    await vi.advanceTimersByTimeAsync(10)
    await settled
    // vitest fails the run on an unhandled rejection: this line would, were the late one unheard.
    fail(new Error('late'))
    await vi.advanceTimersByTimeAsync(0)
  })
})
