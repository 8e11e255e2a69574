import mysql from 'mysql2/promise'

/**
 * The race harness's source workload: OLTP writers of every kind that ever lost a row (issue 12), on
 * tables whose cursors have several precisions and whose writers stamp them as applications do.
 */

/** A table of the race: its cursor type, and whether its key is a case-insensitive composite. */
export interface RaceTable {
  name: string
  cursorType: string
  /** NOW() with the cursor's precision, as the writers stamp it. */
  now: string
  ci: boolean
}

export const RACE_TABLES: RaceTable[] = [
  { name: 'r_dt0', cursorType: 'DATETIME', now: 'NOW()', ci: false },
  { name: 'r_ts0', cursorType: 'TIMESTAMP(0)', now: 'NOW()', ci: false },
  { name: 'r_dt3', cursorType: 'DATETIME(3)', now: 'NOW(3)', ci: false },
  { name: 'r_ts6', cursorType: 'TIMESTAMP(6)', now: 'NOW(6)', ci: false },
  { name: 'r_ci', cursorType: 'DATETIME(6)', now: 'NOW(6)', ci: true },
]

const SEED_ROWS = 200

/** DDL and seed rows; the source runs in lax sql_mode, as the applications that write zero dates do. */
export async function createRaceTables(conn: mysql.Connection): Promise<void> {
  for (const t of RACE_TABLES) {
    const key = t.ci
      ? 'code VARCHAR(8) COLLATE utf8mb4_general_ci NOT NULL, n INT NOT NULL'
      : 'id INT NOT NULL'
    await conn.query(
      `CREATE TABLE ${t.name} (${key}, v INT NOT NULL, note VARCHAR(40) NULL,
         updated_at ${t.cursorType} NULL DEFAULT NULL, PRIMARY KEY (${t.ci ? 'code, n' : 'id'}), KEY (updated_at))`,
    )
    const rows = Array.from({ length: SEED_ROWS }, (_, i) =>
      t.ci ? `('k${i % 20}', ${i}, 0, 'seed', ${t.now})` : `(${i + 1}, 0, 'seed', ${t.now})`,
    )
    await conn.query(`INSERT INTO ${t.name} VALUES ${rows.join(', ')}`)
  }
  await conn.query(
    'CREATE TABLE r_hb (id INT PRIMARY KEY, seq INT NOT NULL, updated_at DATETIME(6) NOT NULL)',
  )
  await conn.query('INSERT INTO r_hb VALUES (1, 0, NOW(6))')
}

export interface WriterStats {
  commits: number
  rollbacks: number
  longTransactions: number
  statements: number
  deadlocks: number
  /** Epoch ms of the last commit (the final sync waits until the source clock is past it). */
  lastCommitAt: number
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!
const rnd = (n: number) => Math.floor(Math.random() * n)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The cursor values a writer sets: mostly now, sometimes NULL, a zero date, the distant past or the future. */
function stamp(t: RaceTable): string {
  const r = Math.random()
  if (r < 0.85) return t.now
  if (r < 0.9) return 'NULL'
  if (r < 0.94) return `'0000-00-00 00:00:00'`
  if (r < 0.96 && !t.cursorType.startsWith('TIMESTAMP')) return `'0999-01-01 00:00:00'`
  return `${t.now} + INTERVAL ${1 + rnd(400)} DAY`
}

function where(t: RaceTable, many: boolean): string {
  if (t.ci)
    return many ? `code = '${pick(['k', 'K'])}${rnd(20)}'` : `code = 'k${rnd(20)}' AND n = ${rnd(400)}`
  const id = 1 + rnd(400)
  return many ? `id BETWEEN ${id} AND ${id + 5}` : `id = ${id}`
}

/** One statement of the writers' mix, on table `t`. */
function statement(t: RaceTable, seq: () => number): string {
  const r = Math.random()
  if (r < 0.35) return `UPDATE ${t.name} SET v = v + 1, updated_at = ${stamp(t)} WHERE ${where(t, false)}`
  if (r < 0.55) return `UPDATE ${t.name} SET v = v + 1, updated_at = ${stamp(t)} WHERE ${where(t, true)}`
  if (r < 0.8) {
    const n = seq()
    return t.ci
      ? `INSERT IGNORE INTO ${t.name} VALUES ('k${n % 20}', ${n}, 0, 'new', ${stamp(t)})`
      : `INSERT IGNORE INTO ${t.name} VALUES (${n}, 0, 'new', ${stamp(t)})`
  }
  if (r < 0.9) return `DELETE FROM ${t.name} WHERE ${where(t, false)}`
  // A case-only key change under a _ci collation (or a note change elsewhere), stamped.
  if (t.ci) {
    const k = rnd(20)
    return `UPDATE ${t.name} SET code = IF(BINARY code = 'k${k}', 'K${k}', 'k${k}'), updated_at = ${t.now} WHERE code = 'k${k}'`
  }
  return `UPDATE ${t.name} SET note = CONCAT('n', ${rnd(1000)}), updated_at = ${t.now} WHERE ${where(t, false)}`
}

/**
 * Run one writer until `stop()` says so: transactions of 1–4 statements on random tables; one in ten
 * rolls back, one in eight sleeps 1–4 s before its COMMIT (a long transaction that commits late).
 */
export async function writer(url: string, stats: WriterStats, stop: () => boolean): Promise<void> {
  const conn = await mysql.createConnection({ uri: url, multipleStatements: false })
  let next = 10_000 + rnd(1_000_000) * 10
  const seq = () => next++
  try {
    await conn.query(`SET SESSION sql_mode = ''`)
    while (!stop()) {
      try {
        await conn.query('START TRANSACTION')
        for (let i = 1 + rnd(4); i > 0; i--) {
          await conn.query(statement(pick(RACE_TABLES), seq))
          stats.statements++
        }
        if (Math.random() < 0.1) {
          await conn.query('ROLLBACK')
          stats.rollbacks++
        } else {
          if (Math.random() < 0.125) {
            stats.longTransactions++
            await sleep(1000 + rnd(3000))
          }
          await conn.query('COMMIT')
          stats.commits++
          stats.lastCommitAt = Date.now()
        }
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code !== 'ER_LOCK_DEADLOCK' && code !== 'ER_LOCK_WAIT_TIMEOUT') throw err
        stats.deadlocks++
        await conn.query('ROLLBACK').catch(() => undefined)
      }
      await sleep(rnd(30))
    }
  } finally {
    await conn.end().catch(() => conn.destroy())
  }
}

/** Reads INNODB_TRX every `ms` for bursts of a few seconds, as a monitoring tool would; pauses between. */
export async function poller(url: string, ms: number, stop: () => boolean): Promise<number> {
  const conn = await mysql.createConnection({ uri: url })
  let reads = 0
  try {
    while (!stop()) {
      const burstEnd = Date.now() + 2000 + rnd(4000)
      while (!stop() && Date.now() < burstEnd) {
        await conn.query('SELECT COUNT(*) FROM information_schema.INNODB_TRX')
        reads++
        await sleep(ms)
      }
      await sleep(1000 + rnd(3000))
    }
  } finally {
    await conn.end().catch(() => conn.destroy())
  }
  return reads
}
