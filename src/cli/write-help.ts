import { mkdirSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { buildProgram } from './program.js'

/**
 * Build step (`npm run build`): the help of the program and of each command, rendered once into
 * dist/help/, so that bin/dbsync.js answers `--help` without loading the CLI and its database modules.
 * The text is commander's own, from the same program definition, so it cannot drift from the live help.
 */
export function helpTexts(): Map<string, string> {
  const program = buildProgram({ debug: false, exitCode: 0 })
  const texts = new Map<string, string>()
  texts.set('dbsync', render(program))
  for (const c of program.commands) texts.set(c.name(), render(c))
  return texts
}

function render(cmd: Command): string {
  let out = ''
  cmd.configureOutput({
    writeOut: (s) => {
      out += s
    },
    writeErr: (s) => {
      out += s
    },
    getOutHasColors: () => false,
    getOutHelpWidth: () => 80,
  })
  cmd.outputHelp()
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = new URL('../help/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of helpTexts()) writeFileSync(new URL(`${name}.txt`, dir), text)
}
