import type { Ora } from 'ora'
import type { Logger } from '../observe/log.js'
import { runEvents } from '../schedule/runner.js'
import type { SyncEvents } from '../sync/run.js'

/** Below this many columns a spinner line cannot show anything useful (and 0 means "unknown"). */
export const MIN_COLUMNS = 20

/**
 * Whether to draw a spinner on `stream`: a terminal that reports a usable width. A pseudo-terminal that
 * reports 0 columns (`script`, `docker exec -t`, some CI wrappers) made ora redraw forever.
 */
export function canDrawProgress(stream: { isTTY?: boolean; columns?: number }): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) >= MIN_COLUMNS
}

/** `orders 12,000/65,536 rows, 4,000 rows/s, ETA 11 s`; without an estimate, no total and no ETA. */
export function progressText(name: string, rows: number, seconds: number, expected?: number): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  const rate = seconds > 0 ? rows / seconds : 0
  const total = expected !== undefined && expected > 0 ? `/${n(Math.max(expected, rows))}` : ''
  let eta = ''
  if (expected !== undefined && expected > rows && rate > 0)
    eta = `, ETA ${duration((expected - rows) / rate)}`
  return `${name} ${n(rows)}${total} ${rows === 1 && !total ? 'row' : 'rows'}, ${n(rate)} rows/s${eta}`
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/**
 * In a terminal: the run's log lines as usual, plus one spinner line below them listing the running
 * tables with rows, rows/s and an ETA. Never reads stdin (ora would otherwise take it over). Null when
 * stderr is not a terminal with a usable width.
 */
export async function liveView(logger: Logger): Promise<(SyncEvents & { stop(): void }) | null> {
  if (!canDrawProgress(process.stderr)) return null
  const { default: ora } = await import('ora')
  const running = new Map<string, { rows: number; started: number; expected?: number }>()
  const spinner: Ora = ora({ stream: process.stderr, text: 'starting', discardStdin: false }).start()
  const refresh = () => {
    const parts = [...running].map(([name, s]) =>
      progressText(name, s.rows, (Date.now() - s.started) / 1000, s.expected),
    )
    spinner.text = parts.length ? parts.join(' | ') : 'finishing'
  }
  // Log lines go above the spinner: clear it, write, draw it again.
  const above = (write: () => void) => {
    spinner.clear()
    write()
    spinner.render()
  }
  const logged = runEvents(logger)
  return {
    tableStart: (t, expected) => {
      running.set(t.name, { rows: 0, started: Date.now(), ...(expected !== undefined ? { expected } : {}) })
      above(() => logged.tableStart?.(t, expected))
      refresh()
    },
    progress: (name, rows) => {
      const s = running.get(name)
      if (s) s.rows += rows
      refresh()
    },
    tableRetry: (...args) => above(() => logged.tableRetry?.(...args)),
    tableEnd: (r) => {
      running.delete(r.table)
      above(() => logged.tableEnd?.(r))
      refresh()
    },
    stop: () => spinner.stop(),
  }
}
