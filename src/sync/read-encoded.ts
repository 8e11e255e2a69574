import type { PoolConnection } from 'mysql2/promise'
import {
  coreConnection,
  destroyConnection,
  hookRowPackets,
  onConnectionLost,
  ROW_CONSUMED,
} from '../db/driver.js'
import { withDeadline } from '../observe/deadline.js'
import type { InsertEncoder } from './insert-encoder.js'
import { type KeysetQuery, keysetText, nextLimit, type RawRow } from './read.js'
import type { InsertBatch } from './write.js'

/** One keyset batch, already encoded as INSERT statements. */
export interface EncodedRead {
  batch: InsertBatch
  /** The values of the order terms of the batch's last row (copies). */
  last: Buffer[]
}

/**
 * readKeyset (read.ts) with each row encoded as INSERT text the moment its packet arrives (db/driver.ts
 * row hook), so no batch of row objects is ever held: the same batches, the same order, the same bytes.
 * `encoder` makes a fresh encoder per batch; the position of each batch is its last row's order values.
 */
export async function* readKeysetEncoded(
  conn: PoolConnection,
  q: KeysetQuery,
  encoder: () => InsertEncoder,
  profile?: { encodeMs: number },
): AsyncGenerator<EncodedRead> {
  let after = q.after
  let limit = q.batchSize
  for (;;) {
    const enc = encoder()
    const last = await readInto(conn, keysetText(q, after, limit), enc, q, profile)
    if (last === null) return
    after = last
    const rows = enc.rows
    const bytes = enc.bytes
    yield { batch: { statements: enc.finish(), rows }, last }
    if (rows < limit) return
    limit = nextLimit(q, bytes, rows)
  }
}

/** Run one batch's SELECT into `enc`; the last row's order values, or null for no rows. */
async function readInto(
  conn: PoolConnection,
  text: string,
  enc: InsertEncoder,
  q: KeysetQuery,
  profile?: { encodeMs: number },
): Promise<Buffer[] | null> {
  const core = coreConnection(conn)
  const n = q.order.length
  let lastPacket: Buffer | null = null
  let lastOffset = 0
  let lastRow: RawRow | null = null
  const command = core.query({ sql: text, typeCast: false, rowsAsArray: true })
  let lost: (err: Error) => void = () => undefined
  const done = new Promise<void>((resolve, reject) => {
    lost = reject
    hookRowPackets(command, (buf, offset) => {
      const started = profile ? performance.now() : 0
      lastOffset = enc.addPacket(buf, offset)
      lastPacket = buf
      if (profile) profile.encodeMs += performance.now() - started
    })
    // Where the driver does not offer the hook: the rows mysql2 emits, slower and never different.
    command.on('result', (row: RawRow | typeof ROW_CONSUMED) => {
      if (row === ROW_CONSUMED) return
      const started = profile ? performance.now() : 0
      enc.add(row as RawRow)
      lastRow = row as RawRow
      if (profile) profile.encodeMs += performance.now() - started
    })
    command.on('end', () => resolve())
    command.on('error', (err: Error) => reject(err))
  })
  const stopListening = onConnectionLost(core, (err) => lost(err))
  try {
    // Not mysql2's `timeout` option, whose timer outlives a cut connection (read.ts queryWithTimeout).
    await withDeadline(done, q.timeoutMs, () => {
      destroyConnection(conn)
      throw Object.assign(new Error(`query timed out after ${q.timeoutMs} ms`), {
        code: 'PROTOCOL_SEQUENCE_TIMEOUT',
      })
    })
  } finally {
    stopListening()
  }
  if (enc.rows === 0) return null
  if (lastRow) return (lastRow as RawRow).slice(-n).map((v) => Buffer.from(v ?? EMPTY))
  return trailingValues(lastPacket!, lastOffset, n)
}

/** `n` length-encoded values of a row packet from `offset`, copied out of the packet. */
function trailingValues(buf: Buffer, offset: number, n: number): Buffer[] {
  const out: Buffer[] = []
  let o = offset
  for (let i = 0; i < n; i++) {
    const first = buf[o++]!
    let len = first
    if (first === 0xfb) len = 0
    else if (first === 0xfc) {
      len = buf.readUInt16LE(o)
      o += 2
    } else if (first === 0xfd) {
      len = buf.readUIntLE(o, 3)
      o += 3
    } else if (first === 0xfe) {
      len = buf.readUInt32LE(o) + buf.readUInt32LE(o + 4) * 0x100000000
      o += 8
    }
    out.push(Buffer.from(buf.subarray(o, o + len)))
    o += len
  }
  return out
}

const EMPTY = Buffer.alloc(0)
