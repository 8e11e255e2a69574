import { type KeyRange, keysAfter, rangeWhere, rowImagesSql } from './checksum-sql.js'
import type { CompareEvents, CompareSpec, LeafFindings } from './checksum-types.js'
import type { ChunkConns, Raw } from './read-pair.js'
import { rawQuery } from './read-pair.js'

/** Target rows per page of a row-level comparison. */
const TARGET_PAGE = 1000

/**
 * Row-level comparison: the source's rows of the range (at most leafRows) by key bytes, then the target's
 * in pages, each matched against them. What is left of the source's afterwards is missing in the target.
 */
export async function compareRows(
  spec: CompareSpec,
  conns: ChunkConns,
  r: KeyRange,
  chunk: number,
  events: CompareEvents,
) {
  const k = spec.keys.source.length
  const n = spec.columns.length
  const isPending = (row: Raw) => spec.pending !== null && row[k + n]?.toString() === '1'
  const srcSql = rowImagesSql(
    spec.table,
    spec.keys.source,
    spec.columns,
    rangeWhere(spec.keys.source, r),
    spec.pending,
    null,
  )
  // Collected for the `leaf` event only (repair): at most leafRows source keys, plus the target's extras.
  const found: LeafFindings | null = events.leaf
    ? { range: r, missing: [], differing: [], extra: [], pending: 0 }
    : null
  const bySource = new Map<string, Raw>()
  for (const row of await rawQuery(conns.source, srcSql)) bySource.set(keyId(row, k), row)
  const tkeys = spec.keys.target
  let after: Buffer[] | null = null
  for (;;) {
    const conds = rangeWhere(tkeys, r)
    if (after) conds.push(keysAfter(tkeys, after))
    const page = await rawQuery(
      conns.target,
      rowImagesSql(spec.table, tkeys, spec.columns, conds, null, TARGET_PAGE),
    )
    const extra: Buffer[][] = []
    for (const t of page) {
      const id = keyId(t, k)
      const s = bySource.get(id)
      if (!s) {
        extra.push(t.slice(0, k) as Buffer[])
        continue
      }
      bySource.delete(id)
      const cols = spec.columns
        .filter((_c, i) => !sameValue(s[k + i] ?? null, t[k + i] ?? null))
        .map((c) => c.name)
      if (cols.length > 0) {
        events.differing?.(chunk, s.slice(0, k) as Buffer[], cols, isPending(s))
        if (found && isPending(s)) found.pending++
        else found?.differing.push(s.slice(0, k) as Buffer[])
      }
    }
    if (extra.length > 0) await events.extra?.(chunk, extra, conns)
    found?.extra.push(...extra)
    if (page.length < TARGET_PAGE) break
    after = page[page.length - 1]!.slice(0, k) as Buffer[]
  }
  for (const s of bySource.values()) {
    events.missing?.(chunk, s.slice(0, k) as Buffer[], isPending(s))
    if (found && isPending(s)) found.pending++
    else found?.missing.push(s.slice(0, k) as Buffer[])
  }
  if (found) await events.leaf!(chunk, found, conns)
}

function keyId(row: Raw, k: number): string {
  let id = ''
  for (let i = 0; i < k; i++) id += `${row[i]?.toString('hex') ?? '-'},`
  return id
}

function sameValue(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}
