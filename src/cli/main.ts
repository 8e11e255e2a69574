import { type Command, CommanderError } from 'commander'
import { DbsyncError, errorMessage } from '../errors.js'
import { log } from '../observe/log.js'
import { redact } from '../observe/redact.js'
import { keepYoungGenerationSmall } from '../sync/memory.js'
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
  tuneMemoryForCopies(program, keepYoungGenerationSmall)
  const json = argv.slice(2).includes('--json')
  if (argv.length <= 2) {
    // Bare `dbsync` did nothing the user asked for: the usage goes to stderr, and a script sees exit 2.
    program.outputHelp({ error: true })
    process.exitCode = 2
    return
  }
  try {
    await program.parseAsync(argv)
    process.exitCode = ctx.exitCode
  } catch (err) {
    process.exitCode = report(err, ctx.debug, json)
  }
  exitWatchdog()
}

/** The commands that copy rows, and so stream many short-lived values through the heap (sync/memory.ts). */
const COPY_COMMANDS = new Set(['sync'])

/**
 * Keep the young generation small for the commands that copy data only, once commander has picked the
 * command: `plan`, `validate`, `status`… (and `--help`/`--version`, answered by bin/dbsync.js) run with
 * V8's defaults. Measured without it (bench, 1M-row orders): first load 115 → 140 MB peak RSS, merge
 * 176 → 271 MB, so a copy cannot do without.
 */
export function tuneMemoryForCopies(program: Command, tune: () => void): void {
  program.hook('preAction', (_program, action) => {
    if (COPY_COMMANDS.has(action.name())) tune()
  })
}

/** How long a finished command lets the process end by itself before it exits anyway. */
const EXIT_WATCHDOG_MS = 10_000

/**
 * The work is done, its result printed and the pools closed; the process should end now. Should a socket
 * nobody closed still hold the event loop (a connection half-closed toward a peer that went quiet), a
 * cron job must not hang until the next one piles up behind it: exit anyway, with the same code, and say
 * so. Unref'd, it never delays a clean exit.
 */
function exitWatchdog(): void {
  setTimeout(() => {
    // What still keeps the event loop alive (public since Node 17), by kind: TCPSocketWrap, Timeout…
    const open = process.getActiveResourcesInfo()
    log().warn(
      { event: 'exit_forced', open_handles: open.length, open },
      `${open.length} handle(s) still open ${EXIT_WATCHDOG_MS / 1000} s after the command finished; exiting`,
    )
    process.exit()
  }, EXIT_WATCHDOG_MS).unref()
}

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
