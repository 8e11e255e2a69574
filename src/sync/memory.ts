import v8 from 'node:v8'
import vm from 'node:vm'

/*
 * Keep the process's memory flat on long copies. A copy allocates a stream of short-lived values; V8
 * answers by growing its young generation up to 2 × 16 MB and lets the old generation and the Buffers'
 * external memory grow far past the live data (a few batches) before it collects. A million-row copy
 * peaked near 190 MB RSS while holding ~25 MB. The young generation is kept small by the launcher, for the
 * commands that copy rows (bin/launcher.js).
 */

/**
 * The INSERT path (upserts) builds each batch as strings, which outlive the young generation and pile up
 * in the old one: 100k changed rows peaked at 257 MB RSS (172 MB with this). A full collection every BYTES_BETWEEN of rows
 * and statements built costs a few milliseconds and keeps the peak near the live size, without a heap cap
 * that a table of wide rows could hit. (The LOAD DATA path allocates almost nothing and needs none.)
 */
const BYTES_BETWEEN = 32 * 1024 * 1024

let gc: (() => void) | null | undefined
let since = 0

/** Count bytes moved; collect garbage once enough has passed through. */
export function noteBytesMoved(bytes: number): void {
  since += bytes
  if (since < BYTES_BETWEEN) return
  since = 0
  if (gc === undefined) gc = loadGc()
  gc?.()
}

function loadGc(): (() => void) | null {
  try {
    // The documented way to reach gc() in a running process without the --expose-gc command-line flag.
    v8.setFlagsFromString('--expose-gc')
    return vm.runInNewContext('gc') as () => void
  } catch {
    return null
  }
}
