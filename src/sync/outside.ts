import type { PoolConnection } from 'mysql2/promise'
import type { KeyTerm } from '../db/keyset.js'
import { quoteId } from '../db/quote.js'
import type { ColumnDef } from '../schema/table-def.js'
import { futureBound } from './cap.js'
import type { RowShape, TableJob, TableResult } from './job.js'
import type { KeysetQuery, RawRow } from './read.js'

/** The earliest valid DATE/DATETIME: below it lie zero dates ('0000-00-00') and other out-of-range stamps. */
const FIRST_VALID = '1000-01-01'
/**
 * The earliest valid TIMESTAMP in the session's zone (UTC): below it lies only the zero value. The bound
 * of a TIMESTAMP cursor must be a TIMESTAMP the server can convert: against '1000-01-01', out of the type's
 * range, it compares row by row and scans the whole index on every run.
 */
const FIRST_VALID_TIMESTAMP = '1970-01-01 00:00:01'

type Read = (q: Omit<KeysetQuery, 'from' | 'select' | 'batchSize' | 'timeoutMs'>) => AsyncIterable<RawRow[]>
type Write = (rows: RawRow[]) => Promise<void>

/**
 * Re-read, on every run and without moving the saved position, the rows the cursor walk can never reach:
 * a NULL cursor (no place in the order), a zero date or another stamp below 1000-01-01 (sorts below every
 * saved position; lax sql_mode sources insert them, often as the column's default), and a stamp at or
 * after the source clock (above every cap: a writer whose clock runs ahead, a typo, test data). They are
 * few on a healthy table, so reading them by key each run is cheap; future rows are counted and reported
 * (the warning and dbsync_cursor_rows_above_clock), since each costs a re-read per run until its time comes.
 * Returns false if the run was asked to stop.
 */
export async function copyOutsideRows(
  job: TableJob,
  shape: RowShape,
  result: TableResult,
  io: { read: Read; write: Write; flush(): Promise<void>; keyTerms: KeyTerm[] },
): Promise<boolean> {
  const cursor = shape.cursor!
  if (cursor.nullable) {
    for await (const rows of io.read({
      where: [`${cursor.expr} IS NULL`],
      order: io.keyTerms,
      after: null,
    })) {
      await io.write(rows)
      if (job.signal.aborted) break
    }
    await io.flush()
    if (job.signal.aborted) return false
  }
  if (!cursor.capped) return true
  const future = futureBound(job.cap, cursor.columns)
  const futureLit = cursor.literal(Buffer.from(future, 'utf8'))
  const n = shape.codecs.length
  let above = 0
  let furthest: string | null = null
  // One range scan with two intervals on the cursor's index, when it has one.
  const where = [outsideWhere(cursor, futureLit)]
  for await (const rows of io.read({ where, order: [cursor, ...io.keyTerms], after: null })) {
    for (const r of rows) {
      const c = r[n]?.toString('utf8')
      if (c !== undefined && c >= future) {
        above++
        if (furthest === null || c > furthest) furthest = c
      }
    }
    await io.write(rows)
    if (job.signal.aborted) break
  }
  await io.flush()
  result.aboveClock = { rows: above, furthest }
  if (above > 0) {
    result.warnings.push(
      `${above} row(s) of ${job.config.name} have ${cursor.columns.map((c) => c.name).join('/')} ahead of the source clock ` +
        `(furthest ${furthest}): copied again on every run until the clock passes them`,
    )
  }
  return !job.signal.aborted
}

/**
 * The rows the cursor walk cannot reach (NULL aside): stamps below the first valid one of the cursor's type,
 * and stamps at or after the future bound (`futureLit`, a literal of the cursor).
 */
export function outsideWhere(
  cursor: { expr: string; columns: Pick<ColumnDef, 'dataType'>[] },
  futureLit: string,
): string {
  const first = cursor.columns.every((c) => c.dataType === 'timestamp') ? FIRST_VALID_TIMESTAMP : FIRST_VALID
  return `(${cursor.expr} < '${first}' OR ${cursor.expr} >= ${futureLit})`
}

/**
 * The lag of a table after its run (issue 12): the age of the oldest change not yet copied, i.e. the
 * oldest stamp from `from` (the floored cap, or the held position) up to the future bound; null when
 * nothing is waiting, so an idle table that is fully synced does not "lag". Future rows are not counted
 * (they are copied on every run). The age is taken on the source's clock, in the cursor's own zone.
 */
export async function oldestPendingMs(
  conn: { query: PoolConnection['query'] },
  job: TableJob,
  shape: RowShape,
  from: string,
): Promise<number | null> {
  const cursor = shape.cursor!
  const future = cursor.literal(Buffer.from(futureBound(job.cap, cursor.columns), 'utf8'))
  const now =
    cursor.dataType === 'timestamp'
      ? 'NOW(6)'
      : `COALESCE(CONVERT_TZ(NOW(6), '+00:00', @@global.time_zone), NOW(6))`
  const [rows] = await conn.query({
    sql:
      `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(${cursor.expr}), ${now}) AS age FROM ${quoteId(job.sourceDef.name)} ` +
      `WHERE ${cursor.expr} >= ${from} AND ${cursor.expr} < ${future}`,
  })
  const age = (rows as Array<{ age: string | number | null }>)[0]?.age
  if (age === null || age === undefined) return null
  return Date.now() - Math.max(0, Number(age) / 1000)
}
