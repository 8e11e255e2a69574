import type { TableConfig } from '../config/types.js'
import type { TableResult } from './job.js'

/** How the caller hears about progress (the CLI draws spinners or logs lines). */
export interface SyncEvents {
  /** `expectedRows`: the source's row estimate when the whole table is copied (first load, full refresh). */
  tableStart?(table: TableConfig, expectedRows?: number): void
  progress?(table: string, rows: number): void
  tableRetry?(table: string, attempt: number, delayMs: number, err: unknown): void
  tableEnd?(result: TableResult): void
}
