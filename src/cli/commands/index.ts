import type { Command } from 'commander'
import type { CliContext } from '../options.js'
import { registerDiffSchema } from './diff-schema.js'
import { registerInit } from './init.js'
import { registerPlan } from './plan.js'
import { registerStatus } from './status.js'
import { registerSync } from './sync.js'
import { registerValidate } from './validate.js'

/** Every subcommand, in the order `--help` lists them. */
export function registerCommands(program: Command, ctx: CliContext): void {
  registerInit(program, ctx)
  registerPlan(program, ctx)
  registerSync(program, ctx)
  registerDiffSchema(program, ctx)
  registerValidate(program, ctx)
  registerStatus(program, ctx)
}
