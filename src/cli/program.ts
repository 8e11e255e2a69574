import { Command, Option } from 'commander'
import { createLogger, setLogger } from '../observe/log.js'
import { registerCommands } from './commands/index.js'
import { type CliContext, globals } from './options.js'
import { VERSION } from './version.js'

export type { CliContext } from './options.js'

/** After a usage error: one line saying where the full usage is, never the whole help. */
const USAGE_HINT = '(see dbsync --help)'

const HELP_EPILOGUE = `
Exit codes:
  0        success (diff-schema: no drift; validate: valid and, with --data, consistent)
  1        the work failed or found a problem: a table failed, schema drift, data mismatch
  2        usage or configuration error (bad flag, invalid pipeline file, a name the source lacks,
           source and target the same database)
  3        could not connect or authenticate to a database
  4        another run of the same pipeline holds the lock
  130/143  a one-shot sync interrupted by SIGINT/SIGTERM (recorded interrupted)

Environment:
  DBSYNC_PIPELINE                           the pipeline file when --pipeline is absent
  SOURCE_DATABASE_URL, TARGET_DATABASE_URL  the URLs the pipeline file (and init) refer to
  NO_COLOR                                  no colors

Examples:
  dbsync init --source mysql://reader@db:3306/shop -o shop.yaml
  dbsync plan -p shop.yaml
  dbsync sync -p shop.yaml --every 5m --health-port 8080
`

/** Build the commander program: global options, then one subcommand per file in commands/. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('dbsync')
    .description('Sync MySQL/MariaDB tables from a source database to a target database.')
    .version(VERSION, '--version')
    // Not --env-file: Node 20 reads that flag itself ("node: x.env: not found", exit 9).
    .addOption(new Option('--env <file>', 'read variables from this file (after .env beside the pipeline)'))
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
    .showHelpAfterError(USAGE_HINT)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
  program.addHelpText('after', HELP_EPILOGUE)
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
  for (const c of program.commands) c.exitOverride().showHelpAfterError(`(see dbsync ${c.name()} --help)`)
  return program
}
