import { CommanderError } from 'commander'
import { openServerSockets } from '../db/pool-book.js'
import { DbsyncError, errorMessage } from '../errors.js'
import { redact } from '../observe/redact.js'
import { buildProgram, type CliContext } from './program.js'
import { printResult } from './render.js'

/**
 * The only place that catches and exits. A DbsyncError prints its message and hint and exits with its
 * code; a usage error exits 2; anything else is a bug: exit 1 with the stack.
 */
export async function main(argv: string[]): Promise<void> {
  const ctx: CliContext = {
    debug: argv.includes('--log-level=debug') || hasPair(argv, '--log-level', 'debug'),
    exitCode: 0,
  }
  const program = buildProgram(ctx)
  const json = argv.slice(2).includes('--json')
  if (argv.length <= 2) {
    // Bare `dbsync` did nothing the user asked for: the usage goes to stderr, and a script sees exit 2.
    program.outputHelp({ error: true })
    process.exitCode = 2
    return
  }
  // plan, validate (--data), diff-schema and status only read: a signal ends them at once, with the exit
  // code a shell gives a process the signal ended (130 / 143), as a one-shot sync reports its own.
  const command = argv.slice(2).find((a) => COMMANDS.has(a))
  const readOnly = command !== undefined && READ_ONLY.has(command)
  const onSignal = (sig: NodeJS.Signals) => {
    process.exit(sig === 'SIGINT' ? 130 : 143)
  }
  if (readOnly) {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  }
  try {
    await program.parseAsync(argv)
    process.exitCode = ctx.exitCode
  } catch (err) {
    process.exitCode = report(err, ctx.debug, json)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  // Every command closes what it opened (pools, servers, timers), so the process ends by itself; a
  // scheduled sync that abandoned a run at its shutdown deadline, or was told twice to stop, ends now.
  if (ctx.exitNow) process.exit()
  // Should something still hold the process (a bug), say what, so that a run that never ends under cron
  // can be diagnosed; nothing is forced. Unref'd: this timer never keeps the process alive itself.
  setTimeout(reportHeldOpen, HELD_OPEN_REPORT_MS).unref()
}

const HELD_OPEN_REPORT_MS = 30_000

function reportHeldOpen(): void {
  // Output a slow reader has not taken yet (`dbsync plan --json | less`) rightly holds the process.
  if (process.stdout.writableLength > 0) {
    setTimeout(reportHeldOpen, HELD_OPEN_REPORT_MS).unref()
    return
  }
  const sockets = openServerSockets()
  process.stderr.write(
    `dbsync: the command finished ${HELD_OPEN_REPORT_MS / 1000} s ago, but the process is held open by ` +
      `${process.getActiveResourcesInfo().join(', ') || 'nothing Node can name'}` +
      `${sockets.length > 0 ? ` (server connections: ${sockets.join(', ')})` : ''}. ` +
      'This is a bug in dbsync, please report it; the work itself is done.\n',
  )
}

const READ_ONLY = new Set(['plan', 'validate', 'diff-schema', 'status'])
const COMMANDS = new Set(['init', 'sync', ...READ_ONLY])

function hasPair(argv: string[], flag: string, value: string): boolean {
  const i = argv.indexOf(flag)
  return i >= 0 && argv[i + 1] === value
}

function report(err: unknown, debug: boolean, json: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message; --help and --version end here with code 0. Help shown
    // because no subcommand was given (commander.help, exit code 1) is a usage error.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0
    if (err.code === 'commander.help' && err.exitCode === 0) return 0
    if (json) printError(err.message.replace(/^error: /, ''), 'see dbsync --help', 2)
    return 2
  }
  if (err instanceof DbsyncError) {
    process.stderr.write(`error: ${redact(err.message)}\n`)
    if (err.hint) process.stderr.write(`hint: ${redact(err.hint)}\n`)
    if (debug && err.stack) process.stderr.write(`${redact(err.stack)}\n`)
    if (json) printError(err.message, err.hint ?? null, err.exitCode)
    return err.exitCode
  }
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err)
  process.stderr.write(`internal error (a bug in dbsync, please report it):\n${redact(stack)}\n`)
  if (json) printError(`internal error: ${errorMessage(err)}`, 'a bug in dbsync, please report it', 1)
  return 1
}

/** With --json, a failure is still exactly one document on stdout (CONTRACT.md). */
function printError(error: string, hint: string | null, exitCode: number): void {
  printResult(true, { error, hint, exitCode }, () => '')
}
