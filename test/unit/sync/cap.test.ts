import { describe, expect, it } from 'vitest'
import type { ColumnDef } from '../../../src/schema/table-def.js'
import {
  capBound,
  cursorIsCapped,
  floorTo,
  futureBound,
  oldestStart,
  type RunCap,
} from '../../../src/sync/cap.js'

const col = (dataType: string, columnType = dataType) => ({ dataType, columnType }) as ColumnDef

const cap: RunCap = {
  utc: '2026-03-01 10:20:30.456789',
  serverLocal: '2026-03-01 15:50:30.456789',
  clock: { utc: '2026-03-01 10:20:31.999999', serverLocal: '2026-03-01 15:50:31.999999' },
  warning: null,
}

describe('the cap per cursor column', () => {
  it('floors to the column precision, in the zone the column is compared in', () => {
    expect(capBound(cap, [col('timestamp')])).toBe(`'2026-03-01 10:20:30'`)
    expect(capBound(cap, [col('datetime')])).toBe(`'2026-03-01 15:50:30'`)
    expect(capBound(cap, [col('datetime', 'datetime(3)')])).toBe(`'2026-03-01 15:50:30.456'`)
    expect(capBound(cap, [col('timestamp', 'timestamp(6)')])).toBe(`'2026-03-01 10:20:30.456789'`)
    expect(capBound(cap, [col('date')])).toBe(`'2026-03-01'`)
  })
  it('takes the coarsest column of a cursor list', () => {
    expect(capBound(cap, [col('datetime', 'datetime(6)'), col('datetime')])).toBe(`'2026-03-01 15:50:30'`)
  })
  it('is null when positions are held', () => {
    expect(capBound({ ...cap, utc: null, serverLocal: null }, [col('datetime')])).toBeNull()
  })
  it('caps only instants: DATE, DATETIME, TIMESTAMP', () => {
    expect(cursorIsCapped([col('datetime')])).toBe(true)
    expect(cursorIsCapped([col('time')])).toBe(false)
    expect(cursorIsCapped([col('bigint')])).toBe(false)
  })
  it('puts the future a whole second (a day for DATE) past the clock', () => {
    expect(futureBound(cap, [col('datetime', 'datetime(6)')])).toBe('2026-03-01 15:50:32')
    expect(futureBound(cap, [col('date')])).toBe('2026-03-02')
    expect(floorTo('2026-03-01 10:20:30', 3)).toBe('2026-03-01 10:20:30.000')
  })
})

describe('the oldest open transaction as a UTC instant', () => {
  it('is one second before its start, converted from the server zone', () => {
    const row = {
      seen: 1,
      oldest: '2026-03-01 15:50:30',
      oldest_utc: '2026-03-01 10:20:30',
      back: '2026-03-01 14:50:30',
    }
    expect(oldestStart(row)).toBe('2026-03-01 10:20:29.000000')
  })
  it('takes the earlier instant in a DST repeat hour', () => {
    // America/New_York, 2026-11-01: 01:30 local is 05:30 UTC (EDT) and again 06:30 UTC (EST).
    const row = {
      seen: 1,
      oldest: '2026-11-01 01:30:00',
      oldest_utc: '2026-11-01 06:30:00',
      back: '2026-11-01 01:30:00',
    }
    expect(oldestStart(row)).toBe('2026-11-01 05:29:59.000000')
  })
  it('is none without an open writer', () => {
    expect(oldestStart({ seen: 1, oldest: null, oldest_utc: null, back: null })).toBeNull()
  })
})
