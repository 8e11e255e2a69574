import { CommanderError } from 'commander'
import { DbsyncError } from '../errors.js'
import { redact } from '../observe/redact.js'
import { keepYoungGenerationSmall } from '../sync/memory.js'
import { buildProgram, type CliContext } from './program.js'

/**
 * The only place that catches and exits. A DbsyncError prints its message and hint and exits with its
 * code; a usage error exits 2; anything else is a bug: exit 1 with the stack.
 */
export async function main(argv: string[]): Promise<void> {
  keepYoungGenerationSmall()
  const ctx: CliContext = {
    debug: argv.includes('--log-level=debug') || hasPair(argv, '--log-level', 'debug'),
    exitCode: 0,
  }
  const program = buildProgram(ctx)
  try {
    await program.parseAsync(argv)
    process.exitCode = ctx.exitCode
  } catch (err) {
    process.exitCode = report(err, ctx.debug)
  }
}

function hasPair(argv: string[], flag: string, value: string): boolean {
  const i = argv.indexOf(flag)
  return i >= 0 && argv[i + 1] === value
}

function report(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message; --help and --version end here with code 0.
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      return 0
    }
    return 2
  }
  if (err instanceof DbsyncError) {
    process.stderr.write(`error: ${redact(err.message)}\n`)
    if (err.hint) process.stderr.write(`hint: ${redact(err.hint)}\n`)
    if (debug && err.stack) process.stderr.write(`${redact(err.stack)}\n`)
    return err.exitCode
  }
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err)
  process.stderr.write(`internal error (a bug in dbsync, please report it):\n${redact(stack)}\n`)
  return 1
}
