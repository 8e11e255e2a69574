#!/usr/bin/env node
// Tiny launcher: the CLI lives in dist/, built by `npm run build` (and by `prepare`, so `npm pack` and an
// install from a checkout build it). `--version`, and `--help` from the text the build rendered into
// dist/help/, are answered here without loading the CLI and its database modules at all. A command that
// copies rows gets its V8 setting here, before the CLI is loaded (launcher.js).
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { helpFile, tuneV8ForCopies } from './launcher.js'

const args = process.argv.slice(2)
const help = helpFile(args, new URL('../dist/help/', import.meta.url))
if (args.length === 1 && args[0] === '--version') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${pkg.version}\n`)
} else if (help && existsSync(help)) {
  process.stdout.write(readFileSync(help, 'utf8'))
} else {
  const main = new URL('../dist/cli/main.js', import.meta.url)
  if (existsSync(main)) {
    tuneV8ForCopies(args)
    import(main.href).then((m) => m.main(process.argv))
  } else {
    const root = fileURLToPath(new URL('..', import.meta.url))
    process.stderr.write(
      `error: dbsync is not built (${fileURLToPath(main)} is missing)\nhint: run npm run build in ${root}\n`,
    )
    process.exitCode = 1
  }
}
