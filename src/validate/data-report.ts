import type { SyncState } from '../state/sync-state.js'

/*
 * The shapes `validate --data` reports, and the pure helpers that fill and phrase them (data.ts compares).
 */

/** A row named by its key: `{ id: '42' }`; binary values as 0x-hex. */
export type RowKey = Record<string, string>

/** One table's comparison. */
export interface TableDataReport {
  table: string
  /** Which rows were judged: incremental (up to the saved cursor), full_refresh (all), no_key (whole table). */
  rule: 'incremental' | 'full_refresh' | 'no_key'
  ruleDetail: string
  /**
   * not_loaded: the table never completed its first load (its rows could not be judged); last_run_failed:
   * the rows compared equal, or could not be compared, but the table's last sync failed.
   */
  status: 'consistent' | 'mismatch' | 'error' | 'not_loaded' | 'last_run_failed'
  keyColumns: string[]
  sourceRows: number
  targetRows: number
  chunks: number
  /** Chunks whose hashes differed, pending rows included. */
  differingChunks: number
  /** Source rows changed after the saved cursor: not judged. */
  pending: number
  counts: { missing: number; extra: number; differing: number }
  /** In the source, not in the target. Lists stop at maxMismatches keys per table. */
  missing: RowKey[]
  /** In the target, not in the source. */
  extra: RowKey[]
  differing: Array<{ key: RowKey; columns: string[] }>
  /** Differing chunks not drilled into because the cap was reached: their rows are not counted above. */
  undrilledChunks: number
  /** False when the comparison stopped early: the counts are then lower bounds ("at least N"). */
  counts_complete: boolean
  error?: string
  seconds: number
}

export interface DataReport {
  pipeline: string
  consistent: boolean
  chunkRows: number
  tables: TableDataReport[]
  /** The command that re-copies the differing rows of the mismatching tables; null when none differ. */
  repair_command: string | null
  seconds: number
}

/**
 * Rows that compare equal are not "consistent" when the table was never loaded (every row pending, or
 * the target empty because the first load never ran) or when its last sync failed: say which.
 */
export function judgeHistory(report: TableDataReport, state: SyncState | undefined, inTarget: boolean): void {
  if (report.status === 'mismatch') return
  if (state?.status === 'failed') {
    report.status = 'last_run_failed'
    report.error = `the last sync of this table failed: ${state.error ?? 'no error recorded'}`
    return
  }
  const neverLoaded =
    report.rule === 'incremental'
      ? !state || state.phase === 'initial' || (state.lastCursor === null && report.pending > 0)
      : !state && !inTarget
  if (!neverLoaded) return
  report.status = 'not_loaded'
  report.error =
    state?.phase === 'initial'
      ? 'the first load has not completed: rows it has not copied yet are not judged (run sync)'
      : 'the table has never been loaded (run sync)'
}

/** Key values as text where they are readable UTF-8, else 0x-hex. */
export function rowKey(names: string[], values: Buffer[]): RowKey {
  const out: RowKey = {}
  names.forEach((name, i) => {
    const v = values[i]
    const s = v?.toString('utf8') ?? 'NULL'
    out[name] =
      v && (!Buffer.from(s, 'utf8').equals(v) || /[\u0000-\u001f]/.test(s)) ? `0x${v.toString('hex')}` : s
  })
  return out
}

/** `dbsync sync --repair …` for these tables, each argument quoted for a POSIX shell where it needs it. */
export function repairCommand(file: string, tables: string[], envFile?: string): string {
  const args = ['dbsync', 'sync', '--repair', '-p', file, '--tables', tables.join(',')]
  if (envFile) args.push('--env', envFile)
  return args.map(shellWord).join(' ')
}

function shellWord(s: string): string {
  return /^[\w./,:@%+=-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}
