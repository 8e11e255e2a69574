import type { ResultSetHeader } from 'mysql2'
import type { PoolConnection } from 'mysql2/promise'
import pLimit from 'p-limit'
import { type KeyTerm, keyTerms } from '../db/keyset.js'
import { log } from '../observe/log.js'
import type { ColumnDef } from '../schema/table-def.js'
import { type ChunkConns, compareByKey } from '../validate/checksum.js'
import { deleteKeysSql, keysPresentSql } from '../validate/checksum-sql.js'
import type { RowShape, TableJob } from './job.js'

/** Keys per DELETE, each its own transaction: short locks, a bounded statement. */
export const DELETE_BATCH = 1000
const CHUNK_ROWS = 10_000
const LEAF_ROWS = 500
/** Chunks compared at once per table; run.ts already syncs several tables at once. */
const WORKERS = 2

/**
 * `deletes: detect`: remove target rows whose primary key no longer exists in the source.
 *
 * The same chunked comparison as `validate --data` (validate/checksum.ts), over the key columns only:
 * per key range a COUNT and a hash of the keys on each server, drilling into the ranges that differ. Target
 * keys the source lacks arrive a page at a time and are deleted in batches, so no list of all keys is ever
 * held. Runs after the table's incremental sync, under the run lock: nothing else writes the target, so
 * it is read outside a snapshot and deleted from through the same connection.
 * `counted` hears of each committed DELETE as it commits, so a run retried after a failure half-way
 * still reports every row it removed (the retry finds only the rest).
 */
export async function detectDeletes(
  job: TableJob,
  shape: RowShape,
  counted: (rows: number) => void,
): Promise<void> {
  const table = job.config.name
  const keyCols = shape.keyCodecs.map(
    (c) => job.sourceDef.columns.find((x) => x.name === c.name) as ColumnDef,
  )
  const keys = { source: keyTerms(keyCols, job.source.flavor), target: keyTerms(keyCols, job.target.flavor) }
  let deleted = 0
  const totals = await compareByKey(
    job.source,
    job.target,
    {
      table,
      columns: keyCols,
      keys,
      pending: null,
      chunkRows: CHUNK_ROWS,
      leafRows: LEAF_ROWS,
      limit: pLimit(WORKERS),
      targetSnapshot: false,
      signal: job.signal,
    },
    {
      extra: async (_chunk, list, conns) => {
        for (let i = 0; i < list.length; i += DELETE_BATCH) {
          const rows = await deleteAbsent(table, keys, list.slice(i, i + DELETE_BATCH), conns)
          deleted += rows
          counted(rows)
        }
      },
    },
  )
  log().debug(
    {
      event: 'deletes_checked',
      table,
      chunks: totals.chunks,
      differing_chunks: totals.differingChunks,
      deleted,
    },
    `${table}: ${totals.chunks} key ranges compared, ${deleted} rows deleted`,
  )
}

/**
 * Delete target keys the source does not hold. The leaf matched keys by their bytes; the source is asked
 * again with its own equality first (absentInSource).
 */
async function deleteAbsent(
  table: string,
  keys: { source: KeyTerm[]; target: KeyTerm[] },
  candidates: Buffer[][],
  conns: ChunkConns,
): Promise<number> {
  const doomed = await absentInSource(table, keys.source, candidates, conns.source)
  if (doomed.length === 0) return 0
  const conn = conns.target
  await conn.query('START TRANSACTION')
  try {
    const [res] = await conn.query(deleteKeysSql(table, keys.target, doomed))
    await conn.query('COMMIT')
    return (res as ResultSetHeader).affectedRows
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/**
 * Which of these target keys the source does not hold, asked with the source's own equality: a key the
 * server treats as equal (another case under a _ci collation, trailing spaces) is held.
 */
export async function absentInSource(
  table: string,
  keys: KeyTerm[],
  candidates: Buffer[][],
  source: Pick<PoolConnection, 'query'>,
): Promise<Buffer[][]> {
  if (candidates.length === 0) return []
  const [present] = await source.query({
    sql: keysPresentSql(table, keys, candidates),
    typeCast: false,
    rowsAsArray: true,
  })
  if ((present as unknown[]).length === 0) return candidates
  // Rare: find out key by key which candidates the source holds under its collation.
  const doomed: Buffer[][] = []
  for (const key of candidates) {
    const [rows] = await source.query({
      sql: `${keysPresentSql(table, keys, [key])} LIMIT 1`,
      rowsAsArray: true,
    })
    if ((rows as unknown[]).length === 0) doomed.push(key)
  }
  return doomed
}
