import v8 from 'node:v8'
import vm from 'node:vm'

/**
 * Keep the process's memory flat on long copies. V8 lets the old generation grow far past the live data
 * (a few batches) before it collects, so a million-row copy peaked near 300 MB RSS while holding ~30 MB.
 * A full collection every BYTES_BETWEEN of data moved costs a few milliseconds each and keeps the peak
 * near the live size, without a heap cap that a table of wide rows could hit.
 */
const BYTES_BETWEEN = 64 * 1024 * 1024

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
