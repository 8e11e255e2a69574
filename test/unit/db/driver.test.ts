import mysql from 'mysql2'
import { describe, expect, it } from 'vitest'
import {
  hookRowPackets,
  isConnectionLost,
  MYSQL2_VERSION,
  type QueryCommand,
  ROW_CONSUMED,
  ROW_HOOK_TESTED,
  rowHookSupported,
} from '../../../src/db/driver.js'

// The driver-adapter checks that need no server; test/integration/driver-contract.test.ts runs the row
// hook and the pool bookkeeping against a real server.
describe('db/driver.ts', () => {
  it('enables the row hook only for the tested mysql2 versions', () => {
    expect(rowHookSupported('3.24.6', { from: '3.24.6', to: '3.24.6' })).toBe(true)
    expect(rowHookSupported('3.24.7', { from: '3.24.6', to: '3.24.6' })).toBe(false)
    expect(rowHookSupported('3.9.10', { from: '3.9.2', to: '3.24.6' })).toBe(true)
    expect(rowHookSupported('3.25.0-rc.1', { from: '3.0.0', to: '4.0.0' })).toBe(false)
    expect(rowHookSupported('garbage')).toBe(false)
  })

  it('runs with the mysql2 that package.json pins, inside the tested range', async () => {
    const { readFile } = await import('node:fs/promises')
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'))
    expect(pkg.dependencies.mysql2).toBe(MYSQL2_VERSION)
    expect(rowHookSupported(MYSQL2_VERSION)).toBe(true)
    expect(ROW_HOOK_TESTED.to).toBe(MYSQL2_VERSION)
  })

  it("takes mysql2's row-parser slot on a real Query command and sets mysql2's own parser aside", () => {
    // The port is never answered: the command exists before any packet, which is all this needs.
    const conn = mysql.createConnection({ host: '127.0.0.1', port: 1 })
    conn.on('error', () => undefined)
    try {
      const command = conn.query('SELECT 1') as unknown as QueryCommand & Record<string, unknown>
      command.on('error', () => undefined)
      const rows: Array<[Buffer, number]> = []
      const hook = hookRowPackets(command, (buf, offset) => rows.push([buf, offset]))
      expect(hook).not.toBeNull()
      // What mysql2 does once the column definitions are in (lib/commands/query.js readField).
      command._rowParser = { next: () => ['not', 'ours'] }
      expect(hook?.replaced).toBe(1)
      const parser = command._rowParser as { next(p: object): unknown }
      const packet = { buffer: Buffer.from([0, 1, 0x61]), offset: 1 }
      expect(parser.next(packet)).toBe(ROW_CONSUMED)
      expect(rows).toEqual([[packet.buffer, 1]])
      // A packet of another shape fails the read instead of being read at the wrong bytes.
      expect(() => parser.next({ buf: packet.buffer })).toThrow(/unknown shape/)
    } finally {
      conn.destroy()
    }
  })

  it('leaves a command without the row-parser slot alone', () => {
    const command = { on() {}, removeListener() {}, stream() {} } as unknown as QueryCommand
    expect(hookRowPackets(command, () => undefined)).toBeNull()
  })

  it('tells a lost connection by code, client errno or mysql2 message, and nothing else', () => {
    expect(isConnectionLost({ code: 'PROTOCOL_CONNECTION_LOST' })).toBe(true)
    expect(isConnectionLost({ code: 'ECONNRESET' })).toBe(true)
    expect(isConnectionLost({ errno: 2013 })).toBe(true)
    expect(isConnectionLost(new Error("Can't add new command when connection is in closed state"))).toBe(true)
    expect(isConnectionLost(new Error('Connection lost: The server closed the connection.'))).toBe(true)
    expect(isConnectionLost({ code: 'ER_LOCK_DEADLOCK', errno: 1213 })).toBe(false)
    expect(isConnectionLost(new Error('Duplicate entry'))).toBe(false)
    expect(isConnectionLost(null)).toBe(false)
  })
})
