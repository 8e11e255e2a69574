import type { TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { cursorTerm, type KeyTerm, keysAfter } from '../db/keyset.js'
import { column, type TableDef } from '../schema/table-def.js'
import type { SyncState } from '../state/sync-state.js'

/**
 * Rows whose source cursor is past the saved position were changed after the last sync: they are pending,
 * not judged. The position is (last_cursor, last_key), which the next run reads after; without a saved
 * key, rows at last_cursor itself are re-read, so they are pending too. Rows with a NULL cursor are re-read
 * by every run (incremental.ts) and judged. During a first load (phase 'initial') rows are copied in key
 * order: those after the saved key are pending, and so is any row changed since the load began (cursor at
 * or above its bound, last_cursor).
 */
export function pendingRule(
  config: TableConfig,
  sourceDef: TableDef,
  keys: KeyTerm[],
  source: Db,
  state: SyncState | undefined,
): { pending: string; detail: string } {
  const cols = config.cursor.map((name) => {
    const c = column(sourceDef, name)
    if (!c) throw new Error(`cursor column "${name}" does not exist in the source`)
    return c
  })
  const cursor = cursorTerm(cols, source.flavor)
  const { expr, name: label } = cursor
  const last = state?.lastCursor == null ? null : Buffer.from(state.lastCursor, 'utf8')
  const lastKey = state?.lastKey?.length === keys.length ? state.lastKey : null
  const changedSince = last ? `(${expr} IS NOT NULL AND ${expr} >= ${cursor.literal(last)})` : null
  if (state?.phase === 'initial' && lastKey) {
    const pending = [keysAfter(keys, lastKey), ...(changedSince ? [changedSince] : [])].join(' OR ')
    return {
      pending: `(${pending})`,
      detail:
        'incremental, first load in progress: rows it copied are judged; the rest, and rows changed since it began, are pending',
    }
  }
  if (state?.phase === 'initial' || !last) {
    return { pending: '1', detail: 'incremental, nothing loaded yet: every source row is pending' }
  }
  return {
    pending: lastKey
      ? `(${expr} IS NOT NULL AND ${keysAfter([cursor, ...keys], [last, ...lastKey])})`
      : changedSince!,
    detail: `incremental: rows up to the saved cursor (${label} = ${state?.lastCursor}) judged; rows changed after the last sync are pending`,
  }
}
