import type { ChunkOutcome } from './repair.js'

/** What a verifier reports to metrics. */
export interface VerifyMetrics {
  verifyChunk(table: string, result: ChunkOutcome): void
  verifyFull(table: string, atMs: number): void
}

/** One table's verification, as /status shows it. */
export interface VerifyStatus {
  every_seconds: number
  repair: boolean
  max_rows_per_second: number
  /** A pass is under way: it resumes at the next run where this one stopped. */
  in_progress: boolean
  pass_started_at: string | null
  /** When the last pass over the whole table ended; null until one has. */
  last_full_at: string | null
  next_due_at: string | null
  /** Chunks of the current (or last) pass, by outcome. */
  chunks: Record<ChunkOutcome, number>
  rows_repaired: number
  last_error: string | null
}
