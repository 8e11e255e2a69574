import { describe, expect, it } from 'vitest'
import { snakeCase, toJsonDocument } from '../../../src/cli/json.js'

describe('toJsonDocument', () => {
  it('turns every key snake_case, however deep', () => {
    expect(
      toJsonDocument({
        loadId: 'x',
        tables: [{ rowsRead: 1, profile: { readWaitMs: 2 } }],
        already_snake: 1,
      }),
    ).toEqual({ load_id: 'x', tables: [{ rows_read: 1, profile: { read_wait_ms: 2 } }], already_snake: 1 })
  })

  it('leaves row keys alone: column names are data', () => {
    const doc = toJsonDocument({
      missing: [{ customerId: '7' }],
      differing: [{ key: { orderId: '1' }, columns: ['unitPrice'] }],
    })
    expect(doc).toEqual({
      missing: [{ customerId: '7' }],
      differing: [{ key: { orderId: '1' }, columns: ['unitPrice'] }],
    })
  })

  it('rounds seconds to 3 decimals and milliseconds to integers', () => {
    expect(toJsonDocument({ seconds: 3.0803939999999557, writeMs: 12.6, rows: 5 })).toEqual({
      seconds: 3.08,
      write_ms: 13,
      rows: 5,
    })
  })

  it('writes bigints as strings and drops undefined', () => {
    expect(toJsonDocument({ n: 2n ** 64n, gone: undefined })).toEqual({ n: '18446744073709551616' })
  })

  it('converts camelCase only', () => {
    expect(snakeCase('exitCode')).toBe('exit_code')
    expect(snakeCase('exit_code')).toBe('exit_code')
    expect(snakeCase('Orders')).toBe('Orders')
  })
})
