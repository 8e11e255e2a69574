import type { LimitFunction } from 'p-limit'
import type { ColumnDef } from '../schema/table-def.js'
import type { KeyRange, KeyTerm } from './checksum-sql.js'
import type { ChunkConns } from './read-pair.js'

/* The shapes of the chunked comparison (checksum.ts runs it, checksum-rows.ts compares a leaf's rows). */

/** COUNT, hash and pending rows of a key range on one side (pending is 0 on the target). */
export interface RangeHash {
  count: bigint
  /** The rows' summed digest parts (linear), or the SHA1 of their joined images. */
  sum: bigint
  pending: bigint
  /** A sum: the hash of a range's right half is the whole's minus its left half's. */
  linear: boolean
}

export interface CompareSpec {
  table: string
  /** Hashed and compared: every copied source column, or only the key for delete detection. */
  columns: ColumnDef[]
  keys: { source: KeyTerm[]; target: KeyTerm[] }
  /** Source-side SQL condition of rows not judged (changed after the saved cursor); null: all are judged. */
  pending: string | null
  chunkRows: number
  leafRows: number
  /** Gates every query round; its concurrency also caps this table's chunks in flight. */
  limit: LimitFunction
  /** Read the target in a snapshot too (validate); off when the caller deletes through it. */
  targetSnapshot: boolean
  signal?: AbortSignal
  /** Start after this source key (a resumed verification); null or absent: at the table's start. */
  from?: Buffer[] | null
  /** Stop after this many chunks (a verification slice); absent: go to the table's end. */
  maxChunks?: number
  /**
   * Hash a range as SHA1 of its row images in scan order (checksum-hash.ts): set only where both sides
   * read a range along the same primary key, so equal rows come in the same order. Else (absent) sums,
   * which need no order.
   */
  concat?: boolean
}

/** What one leaf's row-level comparison found; pending rows are left out of `missing` and `differing`. */
export interface LeafFindings {
  range: KeyRange
  missing: Buffer[][]
  differing: Buffer[][]
  extra: Buffer[][]
  pending: number
}

/** What the comparison found, as it finds it; `chunk` is the chunk's index in key order. */
export interface CompareEvents {
  missing?(chunk: number, key: Buffer[], pending: boolean): void
  differing?(chunk: number, key: Buffer[], columns: string[], pending: boolean): void
  /** Target keys the source lacks, one call per page read; awaited before the next page. */
  extra?(chunk: number, keys: Buffer[][], conns: ChunkConns): Promise<void> | void
  /** Asked before drilling into a differing chunk; false leaves it undrilled (the report cap is reached). */
  drill?(): boolean
  /** A leaf's findings once compared (repair rewrites them), with the chunk's connections. */
  leaf?(chunk: number, found: LeafFindings, conns: ChunkConns): Promise<void>
  /** A chunk is done: equal (hashes matched) or not, with its range and source rows. */
  chunkEnd?(chunk: number, range: KeyRange, equal: boolean, sourceRows: number): void
}

export interface CompareTotals {
  chunks: number
  /** Chunks whose hashes differed (pending rows alone make a chunk differ). */
  differingChunks: number
  undrilledChunks: number
  sourceRows: number
  targetRows: number
  pending: number
  /** The last chunk's upper key: where a resumed comparison starts; null once the table's end was reached. */
  next: Buffer[] | null
}
