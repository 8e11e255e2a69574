#!/usr/bin/env node
// Tiny launcher: the CLI lives in dist/, built by `npm run build` (and by `prepare`, so `npm pack` and an
// install from a checkout build it). `--version` is answered here without loading the CLI at all.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === '--version') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${pkg.version}\n`)
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
