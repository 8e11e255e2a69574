import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** What one measured command did. */
export interface Measurement {
  seconds: number
  /** Peak resident set size of the measured process (not its children), in bytes; 0 if unknown. */
  peakRssBytes: number
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * Run a command and measure its wall time and peak RSS. The peak is VmHWM from /proc/<pid>/status,
 * sampled every 20 ms until the process exits (the kernel keeps the high-water mark, so the last sample
 * is the peak up to that moment): no dependency on /usr/bin/time.
 */
export async function measure(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; shell?: boolean } = {},
) {
  const started = process.hrtime.bigint()
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: opts.shell,
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (b: Buffer) => out.push(b))
  child.stderr.on('data', (b: Buffer) => err.push(b))
  let peak = 0
  const sample = async () => {
    try {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      const m = /VmHWM:\s+(\d+) kB/.exec(status)
      if (m) peak = Math.max(peak, Number(m[1]) * 1024)
    } catch {
      // The process is gone.
    }
  }
  const timer = setInterval(sample, 20)
  const exitCode: number = await new Promise((resolve) => child.once('close', (code) => resolve(code ?? 1)))
  clearInterval(timer)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return {
    seconds,
    peakRssBytes: peak,
    exitCode,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
  } satisfies Measurement
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
