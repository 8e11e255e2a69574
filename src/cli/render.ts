import { Chalk, type ChalkInstance } from 'chalk'
import { redactValue } from '../observe/redact.js'
import { toJsonDocument } from './json.js'

/** Print a command's result: exactly one JSON document on stdout with --json (snake_case, json.ts), else text. */
export function printResult(json: boolean, data: unknown, text: () => string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(redactValue(toJsonDocument(data)), jsonReplacer, 2)}\n`)
  } else {
    const t = text()
    if (t) process.stdout.write(t.endsWith('\n') ? t : `${t}\n`)
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/** Colors for stdout, or none (NO_COLOR, --no-color, not a terminal). */
export function palette(color: boolean): ChalkInstance {
  return new Chalk({ level: color && process.stdout.isTTY ? 1 : 0 })
}

/** A plain text table with aligned columns; numbers right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)))
  // Numbers, and numbers already formatted ("0.1"), align right.
  const numeric = headers.map(
    (_h, i) =>
      rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^-?\d+(\.\d+)?$/.test(String(r[i]))),
  )
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}
