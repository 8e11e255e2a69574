import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { COMPAT_END, COMPAT_START, renderCompatibilityTable } from '../../src/db/flavor-differences.js'

/** README.md with its Compatibility table replaced by the one rendered from src/db/flavor-differences.ts. */
export function readmeWithTable(readme: string): string {
  const start = readme.indexOf(COMPAT_START)
  const end = readme.indexOf(COMPAT_END)
  if (start === -1 || end < start)
    throw new Error(`README.md lacks the markers ${COMPAT_START} … ${COMPAT_END}`)
  return `${readme.slice(0, start + COMPAT_START.length)}\n${renderCompatibilityTable()}\n${readme.slice(end)}`
}

export const README = join(import.meta.dirname, '../../README.md')

// `npm run compat-table`: rewrite README.md's table in place.
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  writeFileSync(README, readmeWithTable(readFileSync(README, 'utf8')))
}
