import { sql } from 'kysely'
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
  const k = source.kysely
  const db = sql<string>`DATABASE()`
  // A catalog view the account cannot read hides nothing dbsync would copy.
  const orNone = <T>(rows: Promise<T[]>): Promise<T[]> => rows.catch(() => [])
  const [views, triggers, routines, events] = await Promise.all([
    orNone(
      k
        .selectFrom('information_schema.TABLES')
        .select('TABLE_NAME')
        .where('TABLE_SCHEMA', '=', db)
        .where('TABLE_TYPE', '=', 'VIEW')
        .orderBy('TABLE_NAME')
        .execute(),
    ).then((rows) => rows.map((r) => r.TABLE_NAME)),
    orNone(
      k
        .selectFrom('information_schema.TRIGGERS')
        .select(['TRIGGER_NAME', 'EVENT_OBJECT_TABLE'])
        .where('TRIGGER_SCHEMA', '=', db)
        .orderBy('TRIGGER_NAME')
        .execute(),
    ).then((rows) => rows.map((r) => `${r.TRIGGER_NAME} on ${r.EVENT_OBJECT_TABLE}`)),
    orNone(
      k
        .selectFrom('information_schema.ROUTINES')
        .select(['ROUTINE_NAME', 'ROUTINE_TYPE'])
        .where('ROUTINE_SCHEMA', '=', db)
        .orderBy('ROUTINE_NAME')
        .execute(),
    ).then((rows) => rows.map((r) => `${r.ROUTINE_NAME} (${r.ROUTINE_TYPE.toLowerCase()})`)),
    orNone(
      k
        .selectFrom('information_schema.EVENTS')
        .select('EVENT_NAME')
        .where('EVENT_SCHEMA', '=', db)
        .orderBy('EVENT_NAME')
        .execute(),
    ).then((rows) => rows.map((r) => r.EVENT_NAME)),
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
