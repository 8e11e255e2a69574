import type { Db } from '../db/connect.js'

/**
 * What the source database holds besides the tables a pipeline copies, so nothing is skipped in silence:
 * base tables no entry selects, and the objects dbsync never copies (views: queries, not data; triggers:
 * their effects already arrive as rows, and firing them again in the target would write twice; stored
 * routines and events: code, not data).
 */
export interface SourceInventory {
  not_synced: string[]
  views: string[]
  /** `name on table`. */
  triggers: string[]
  /** `name (function|procedure)`. */
  routines: string[]
  events: string[]
}

/** Read the inventory of the source database; `synced` are the tables the pipeline selects. */
export async function sourceInventory(
  source: Db,
  baseTables: Iterable<string>,
  synced: ReadonlySet<string>,
): Promise<SourceInventory> {
  const names = async (sql: string): Promise<string[]> => {
    try {
      const [rows] = await source.pool.query({ sql, rowsAsArray: true })
      return (rows as unknown as string[][]).map((r) => r.join(''))
    } catch {
      return [] // a catalog view the account cannot read hides nothing dbsync would copy
    }
  }
  const [views, triggers, routines, events] = await Promise.all([
    names(
      `SELECT TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'VIEW' ORDER BY TABLE_NAME`,
    ),
    names(
      `SELECT CONCAT(TRIGGER_NAME, ' on ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS
        WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME`,
    ),
    names(
      `SELECT CONCAT(ROUTINE_NAME, ' (', LOWER(ROUTINE_TYPE), ')') FROM information_schema.ROUTINES
        WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME`,
    ),
    names(
      `SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME`,
    ),
  ])
  const not_synced = [...baseTables].filter((t) => !synced.has(t)).sort()
  return { not_synced, views, triggers, routines, events }
}

/** The inventory as text lines for `plan` and `validate`; empty when there is nothing to say. */
export function inventoryLines(inv: SourceInventory): string[] {
  const lines: string[] = []
  const add = (label: string, items: string[]) => {
    if (items.length) lines.push(`${label}: ${items.join(', ')}`)
  }
  add('not synced (no pipeline entry selects them)', inv.not_synced)
  add('views, not copied (a view is a query, not data)', inv.views)
  add(
    'triggers, not copied (the rows they write arrive as rows; firing them again would write twice)',
    inv.triggers,
  )
  add('routines, not copied (code, not data)', inv.routines)
  add('events, not copied (code, not data)', inv.events)
  return lines
}
