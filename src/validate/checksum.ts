import type { Db } from '../db/connect.js'
import type { ColumnDef } from '../schema/table-def.js'
import { readHashes, toSumHash } from './checksum-hash.js'
import { compareRows } from './checksum-rows.js'
import { chunkHashSql, type KeyRange, keyAtSql, rangeWhere } from './checksum-sql.js'
import type { CompareEvents, CompareSpec, CompareTotals, RangeHash } from './checksum-types.js'
import { ChunkBounds } from './chunk-bounds.js'
import { type ChunkConns, closePair, openPair, rawQuery } from './read-pair.js'

export type { CompareEvents, CompareSpec, CompareTotals, LeafFindings, RangeHash } from './checksum-types.js'
export type { ChunkConns }

/**
 * The chunked comparison of one table on two servers, shared by `validate --data` and delete detection.
 *
 * Chunk boundaries come from chunk-bounds.ts (stepped by value for an integer key, else keyset reads of the
 * source's primary key, one key crossing the network per chunk); each chunk's COUNT and hash are computed on each server. A chunk whose hashes differ is bisected
 * at the source's median key, down to ranges of at most `leafRows` source rows, which are compared row by
 * row. Memory holds at most one leaf of source rows and one page of target rows per running chunk, however
 * big the table.
 */

/** Compare a table that has a key, chunk by chunk. */
export async function compareByKey(
  source: Db,
  target: Db,
  spec: CompareSpec,
  events: CompareEvents = {},
): Promise<CompareTotals> {
  const totals: CompareTotals = {
    chunks: 0,
    differingChunks: 0,
    undrilledChunks: 0,
    sourceRows: 0,
    targetRows: 0,
    pending: 0,
    next: null,
  }
  const inflight = new Set<Promise<void>>()
  const failure: { err?: unknown } = {}
  const bounds = new ChunkBounds(source, spec)
  let lo: Buffer[] | null = spec.from ?? null
  for (let index = 0; !('err' in failure) && !spec.signal?.aborted; index++) {
    if (spec.maxChunks !== undefined && index >= spec.maxChunks) {
      totals.next = lo
      break
    }
    const from: Buffer[] | null = lo
    const hi: Buffer[] | null = await spec.limit(() => bounds.after(from))
    const counted = (rows: number) => bounds.counted(rows)
    const task = spec
      .limit(() => checkChunk(source, target, spec, { lo: from, hi }, index, totals, { ...events, counted }))
      .catch((err: unknown) => {
        if (!('err' in failure)) failure.err = err
      })
    inflight.add(task)
    void task.then(() => inflight.delete(task))
    while (inflight.size >= spec.limit.concurrency) await Promise.race(inflight)
    if (hi === null) break
    lo = hi
  }
  await Promise.all(inflight)
  if ('err' in failure) throw failure.err
  if (spec.signal?.aborted) totals.next = lo
  return totals
}

/** COUNT and hash of a whole table on each side, for tables without a key. */
export async function compareWhole(
  source: Db,
  target: Db,
  table: string,
  columns: ColumnDef[],
): Promise<{ source: RangeHash; target: RangeHash }> {
  const text = chunkHashSql(table, columns, [], null)
  const [s, t] = await Promise.all([rawQuery(source.pool, text), rawQuery(target.pool, text)])
  return { source: toSumHash(s[0], false, table, 'source'), target: toSumHash(t[0], false, table, 'target') }
}

async function checkChunk(
  source: Db,
  target: Db,
  spec: CompareSpec,
  range: KeyRange,
  chunk: number,
  totals: CompareTotals,
  events: CompareEvents & { counted(rows: number): void },
): Promise<void> {
  const conns = await openPair(source, target, spec.targetSnapshot)
  let failed = true
  try {
    const reader = sqlReader(spec, conns, chunk, events)
    const [s, t] = await reader.hashes(range)
    events.counted(Number(s.count))
    totals.chunks++
    totals.sourceRows += Number(s.count)
    totals.targetRows += Number(t.count)
    totals.pending += Number(s.pending)
    const equal = sameHash(s, t)
    if (!equal) {
      totals.differingChunks++
      if (events.drill?.() ?? true) await bisect(reader, range, s, t, spec.leafRows)
      else totals.undrilledChunks++
    }
    events.chunkEnd?.(chunk, range, equal, Number(s.count))
    failed = false
  } finally {
    await closePair(conns, spec.targetSnapshot, failed)
  }
}

/** What bisection needs from the servers: SQL here, arrays in the unit tests. */
export interface RangeReader {
  /** Both sides' hashes of a range, of the same form. */
  hashes(r: KeyRange): Promise<[RangeHash, RangeHash]>
  /** The source key at 0-based position `offset` of the range, in key order. */
  keyAt(r: KeyRange, offset: number): Promise<Buffer[]>
  /** Row-level comparison of a range holding at most leafRows source rows. */
  leaf(r: KeyRange): Promise<void>
}

export function sameHash(a: RangeHash, b: RangeHash): boolean {
  return a.count === b.count && a.sum === b.sum && a.linear === b.linear
}

/**
 * Narrow a differing range down to its differing rows. When the hash is a sum, the right half's hash is the
 * range's minus the left half's: one query per side per level; a SHA1 of the joined rows costs two. Only
 * differing halves are followed.
 */
export async function bisect(reader: RangeReader, r: KeyRange, s: RangeHash, t: RangeHash, leafRows: number) {
  if (sameHash(s, t)) return
  if (s.count <= BigInt(leafRows)) {
    await reader.leaf(r)
    return
  }
  const mid = await reader.keyAt(r, Number(s.count / 2n) - 1)
  const left: KeyRange = { lo: r.lo, hi: mid }
  const right: KeyRange = { lo: mid, hi: r.hi }
  const [sl, tl] = await reader.hashes(left)
  await bisect(reader, left, sl, tl, leafRows)
  const [sr, tr] = s.linear && sl.linear ? [minus(s, sl), minus(t, tl)] : await reader.hashes(right)
  await bisect(reader, right, sr, tr, leafRows)
}

function minus(a: RangeHash, b: RangeHash): RangeHash {
  return { count: a.count - b.count, sum: a.sum - b.sum, pending: a.pending - b.pending, linear: true }
}

function sqlReader(spec: CompareSpec, conns: ChunkConns, chunk: number, events: CompareEvents): RangeReader {
  return {
    hashes: (r) => readHashes(spec, conns, r),
    async keyAt(r, offset) {
      const keys = spec.keys.source
      const row = (await rawQuery(conns.source, keyAtSql(spec.table, keys, rangeWhere(keys, r), offset)))[0]
      if (!row) throw new Error(`table ${spec.table}: the source range changed inside its snapshot`)
      return row as Buffer[]
    },
    leaf: (r) => compareRows(spec, conns, r, chunk, events),
  }
}
