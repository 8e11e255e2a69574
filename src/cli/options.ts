import { type Command, InvalidArgumentError } from 'commander'
import { loadPipeline } from '../config/load.js'
import { parseTablesFlag } from '../config/select.js'
import type { Pipeline } from '../config/types.js'
import { ConfigError } from '../errors.js'
import type { LogFormat, LogLevel } from '../observe/log.js'

// The option parsers and global options every command uses: apart from program.ts, so commands/ and the
// program that registers them import each other in one direction only.

/** State shared by the program and main(): the exit code a command chose, and whether to show stacks. */
export interface CliContext {
  debug: boolean
  exitCode: number
  /**
   * Exit at once with `exitCode` rather than let the process end by itself: a scheduled sync whose shutdown
   * abandoned a run (still unwinding on destroyed connections) or was cut short by a second signal.
   */
  exitNow?: boolean
}

/** Global options, as every command sees them. */
export interface GlobalOptions {
  envFile?: string
  logLevel: LogLevel
  logFormat?: LogFormat
  color: boolean
  quiet: boolean
}

/** Global options seen from any subcommand. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Partial<GlobalOptions> & { color?: boolean; env?: string }
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
  return {
    ...(o.env ? { envFile: o.env } : {}),
    logLevel: o.logLevel ?? 'info',
    ...(o.logFormat ? { logFormat: o.logFormat } : {}),
    color: o.color !== false && !noColorEnv && Boolean(process.stderr.isTTY),
    quiet: Boolean(o.quiet),
  }
}

/** The pipeline file: --pipeline, else DBSYNC_PIPELINE, else a usage error. */
export function pipelinePath(value: string | undefined): string {
  const file = value ?? process.env.DBSYNC_PIPELINE
  if (!file) {
    throw new ConfigError('no pipeline file given', 'pass --pipeline FILE (-p FILE) or set DBSYNC_PIPELINE')
  }
  return file
}

/** Load the pipeline a command names (--pipeline, else DBSYNC_PIPELINE), with the global --env. */
export function loadCommandPipeline(file: string | undefined, cmd: Command): Promise<Pipeline> {
  const g = globals(cmd)
  return loadPipeline(pipelinePath(file), g.envFile ? { envFile: g.envFile } : {})
}

/** Parse `--tables a,b` for commander. */
export function tablesOption(value: string): string[] {
  try {
    return parseTablesFlag(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

/** Parse a TCP port option (1-65535) for commander. */
export function portOption(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError('expected a TCP port from 1 to 65535')
  }
  return n
}

/** Parse a positive integer option for commander. */
export function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}
