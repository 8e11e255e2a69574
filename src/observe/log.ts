import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'
import { redact } from './redact.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'pretty' | 'json'

export interface LogOptions {
  level: LogLevel
  /** Default: pretty on a terminal, JSON lines otherwise. */
  format?: LogFormat
  color: boolean
  /** Defaults to process.stderr: stdout holds only results. */
  destination?: NodeJS.WritableStream
}

export type { Logger }

/**
 * The process logger: pino, to stderr, JSON lines (time, level, msg and fields such as pipeline, run,
 * table, event) or pretty in a terminal. Every line passes through redact() on its way out, so a secret
 * that slipped into a message or an error never reaches the log.
 */
export function createLogger(opts: LogOptions): Logger {
  const dest = opts.destination ?? process.stderr
  const format = opts.format ?? ((dest as { isTTY?: boolean }).isTTY ? 'pretty' : 'json')
  const out: NodeJS.WritableStream =
    format === 'pretty'
      ? loadPretty()({
          destination: dest as never,
          colorize: opts.color,
          sync: true,
          ignore: 'pid,hostname',
          translateTime: 'SYS:HH:MM:ss',
          singleLine: true,
        })
      : dest
  const redacting = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      out.write(redact(chunk.toString()))
      cb()
    },
  })
  return pino(
    {
      level: opts.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    redacting,
  )
}

let current: Logger | undefined

/** The logger set up by the CLI (a silent one until then, e.g. in library use and unit tests). */
export function log(): Logger {
  current ??= pino({ level: 'silent' })
  return current
}

export function setLogger(logger: Logger): void {
  current = logger
}

// pino-pretty is only needed in a terminal; loading it lazily keeps it off the startup path of cron and CI.
function loadPretty(): (options: Record<string, unknown>) => NodeJS.WritableStream {
  const req = createRequire(import.meta.url)
  return req('pino-pretty') as (options: Record<string, unknown>) => NodeJS.WritableStream
}
