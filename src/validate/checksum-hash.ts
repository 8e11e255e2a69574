import { SyncError } from '../errors.js'
import { chunkConcatSql, chunkHashSql, type KeyRange, rangeWhere, splitHash } from './checksum-sql.js'
import type { CompareSpec, RangeHash } from './checksum-types.js'
import { type ChunkConns, type Raw, rawQuery } from './read-pair.js'

type Side = 'source' | 'target'

/**
 * Both sides' hashes of a range, read at once. With `spec.concat`, SHA1 of the joined row images
 * (chunkConcatSql); a side whose text was cut or lost a row (any warning) or came back NULL for rows has
 * not hashed them all, so the range is hashed again on both sides as a sum, the exact form that needs no
 * order. Both hashes of a pair are always of the same form.
 */
export async function readHashes(
  spec: CompareSpec,
  conns: ChunkConns,
  r: KeyRange,
): Promise<[RangeHash, RangeHash]> {
  if (spec.concat) {
    const [s, t] = await Promise.all([
      concatHash(spec, conns, 'source', r),
      concatHash(spec, conns, 'target', r),
    ])
    if (s && t) return [s, t]
  }
  return Promise.all([sumHash(spec, conns, 'source', r), sumHash(spec, conns, 'target', r)])
}

async function concatHash(
  spec: CompareSpec,
  conns: ChunkConns,
  side: Side,
  r: KeyRange,
): Promise<RangeHash | null> {
  const pending = side === 'source' ? spec.pending : null
  const text = chunkConcatSql(spec.table, spec.columns, rangeWhere(spec.keys[side], r), pending)
  const [row] = await rawQuery(conns[side], text)
  // Read right after, on the same connection: the hash query's own warnings (a statement without tables
  // keeps them on MySQL and MariaDB alike).
  const [warnings] = await rawQuery(conns[side], 'SELECT @@warning_count')
  const count = big(row?.[0])
  const digest = row?.[1] ?? null
  if (big(warnings?.[0]) > 0n || (count > 0n && digest === null)) return null
  return {
    count,
    sum: digest === null ? 0n : BigInt(`0x${digest.toString('latin1')}`),
    pending: pending ? big(row?.[2]) : 0n,
    linear: false,
  }
}

async function sumHash(spec: CompareSpec, conns: ChunkConns, side: Side, r: KeyRange): Promise<RangeHash> {
  const pending = side === 'source' ? spec.pending : null
  const text = chunkHashSql(spec.table, spec.columns, rangeWhere(spec.keys[side], r), pending)
  return toSumHash((await rawQuery(conns[side], text))[0], pending !== null, spec.table, side)
}

/**
 * A sum hash row as read. Rows without a digest (digestSum) make the range impossible to compare: equal
 * sums would prove nothing about them, so the comparison fails loudly rather than call them equal.
 */
export function toSumHash(
  row: Raw | undefined,
  withPending: boolean,
  table: string,
  side: string,
): RangeHash {
  const { sum, unhashed } = splitHash(big(row?.[1]))
  if (unhashed > 0n)
    throw new SyncError(
      `table ${table}: ${unhashed} ${side} row(s) cannot be checksummed: their row image is longer than ` +
        `the ${side} server's max_allowed_packet (the comparison would not see them); raise it there`,
      `SET GLOBAL max_allowed_packet = ... on the ${side} server`,
    )
  return { count: big(row?.[0]), sum, pending: withPending ? big(row?.[2]) : 0n, linear: true }
}

function big(v: Buffer | null | undefined): bigint {
  return BigInt(v ? v.toString('latin1') : '0')
}
