import { Command, InvalidArgumentError, Option } from 'commander'
import { loadPipeline } from '../config/load.js'
import { parseTablesFlag } from '../config/select.js'
import type { Pipeline } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { createLogger, type LogFormat, type LogLevel, setLogger } from '../observe/log.js'
import { registerCommands } from './commands/index.js'
import { VERSION } from './version.js'

/** State shared by the program and main(): the exit code a command chose, and whether to show stacks. */
export interface CliContext {
  debug: boolean
  exitCode: number
}

/** Global options, as every command sees them. */
export interface GlobalOptions {
  envFile?: string
  logLevel: LogLevel
  logFormat?: LogFormat
  color: boolean
  quiet: boolean
}

/** Build the commander program: global options, then one subcommand per file in commands/. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('dbsync')
    .description('Sync MySQL/MariaDB tables from a source database to a target database.')
    .version(VERSION, '--version')
    .addOption(
      new Option('--env-file <file>', 'read variables from this file (after .env beside the pipeline)'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log format (default: pretty on a terminal, else json)').choices([
        'pretty',
        'json',
      ]),
    )
    .option('--no-color', 'no colors (NO_COLOR is honored too)')
    .option('--quiet', 'only errors on stderr', false)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
  program.hook('preAction', (_this, action) => {
    const g = globals(action)
    ctx.debug = g.logLevel === 'debug'
    setLogger(
      createLogger({
        level: g.quiet ? 'error' : g.logLevel,
        ...(g.logFormat ? { format: g.logFormat } : {}),
        color: g.color,
      }),
    )
  })
  registerCommands(program, ctx)
  // Subcommands inherit exitOverride so usage errors reach main() as exit 2 instead of exiting directly.
  for (const c of program.commands) c.exitOverride().showHelpAfterError()
  return program
}

/** Global options seen from any subcommand. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Partial<GlobalOptions> & { color?: boolean }
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
  return {
    ...(o.envFile ? { envFile: o.envFile } : {}),
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

/** Load the pipeline a command names (--pipeline, else DBSYNC_PIPELINE), with the global --env-file. */
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

/** Parse a positive integer option for commander. */
export function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}
