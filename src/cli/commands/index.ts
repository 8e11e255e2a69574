import type { Command } from 'commander'
import type { CliContext } from '../program.js'
import { registerSync } from './sync.js'

/** Every subcommand, in the order `--help` lists them. */
export function registerCommands(program: Command, ctx: CliContext): void {
  registerSync(program, ctx)
}
