#!/usr/bin/env node
// Tiny launcher: the CLI lives in dist/, built by `npm run build` (and by `prepare`, so `npm pack` and an
// install from a checkout build it). `--version`, and `--help` from the text the build rendered into
// dist/help/, are answered here without loading the CLI and its database modules at all.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const help = helpFile(args)
if (args.length === 1 && args[0] === '--version') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${pkg.version}\n`)
} else if (help && existsSync(help)) {
  process.stdout.write(readFileSync(help, 'utf8'))
} else {
  const main = new URL('../dist/cli/main.js', import.meta.url)
  if (existsSync(main)) {
    import(main.href).then((m) => m.main(process.argv))
  } else {
    const root = fileURLToPath(new URL('..', import.meta.url))
    process.stderr.write(
      `error: dbsync is not built (${fileURLToPath(main)} is missing)\nhint: run npm run build in ${root}\n`,
    )
    process.exitCode = 1
  }
}

/** The pre-rendered help a `--help` / `-h` / `help [command]` invocation asks for, or null. */
function helpFile(a) {
  const isHelp = (x) => x === '--help' || x === '-h'
  let name = null
  if (a.length === 1 && (isHelp(a[0]) || a[0] === 'help')) name = 'dbsync'
  else if (a.length === 2 && isHelp(a[1]) && /^[a-z-]+$/.test(a[0])) name = a[0]
  else if (a.length === 2 && a[0] === 'help' && /^[a-z-]+$/.test(a[1])) name = a[1]
  return name === null ? null : new URL(`../dist/help/${name}.txt`, import.meta.url)
}
