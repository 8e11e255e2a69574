import { ConfigError } from '../errors.js'
import { suggestionHint } from './close-match.js'
import type { Pipeline, TableConfig, TableSelector } from './types.js'

/** The tables a run works on, and the selectors that found nothing to claim. */
export interface ResolvedTables {
  /** In selector order, then by name within a glob. */
  tables: TableConfig[]
  /** Exact (non-glob) selectors whose table is not in the source; `validate` reports them as errors. */
  unmatched: TableSelector[]
  /** Exact selectors whose table exists but was claimed by an earlier selector, so their settings never apply. */
  shadowed: TableSelector[]
}

/**
 * Match the pipeline's selectors against the source's table names. A table belongs to the FIRST selector
 * that matches it (exact name or glob); an `exclude: true` selector claims tables to drop them.
 * `only` (the `--tables` list, globs allowed) then narrows the result; an entry that selects nothing is
 * a ConfigError.
 */
export function resolveTables(
  pipeline: Pipeline,
  sourceTableNames: string[],
  only?: string[],
): ResolvedTables {
  const selectors = pipeline.tables
  const matchers = selectors.map((s) => matcher(s.pattern, s.isGlob))
  const claimed: string[][] = selectors.map(() => [])
  for (const name of new Set(sourceTableNames)) {
    const index = matchers.findIndex((matches) => matches(name))
    if (index !== -1) claimed[index]?.push(name)
  }

  const source = new Set(sourceTableNames)
  const tables: TableConfig[] = []
  const unmatched: TableSelector[] = []
  const shadowed: TableSelector[] = []
  selectors.forEach((selector, i) => {
    const names = (claimed[i] ?? []).sort(compareNames)
    if (!selector.isGlob && names.length === 0) {
      ;(source.has(selector.pattern) ? shadowed : unmatched).push(selector)
    }
    if (selector.exclude) return
    for (const name of names) tables.push(toTableConfig(name, selector))
  })

  if (only === undefined) return { tables, unmatched, shadowed }
  return { tables: filterOnly(tables, sourceTableNames, only), unmatched, shadowed }
}

/** Split the `--tables a,b,c` flag: trimmed, empties and repeats dropped; an empty list is a ConfigError. */
export function parseTablesFlag(value: string): string[] {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ]
  if (names.length === 0)
    throw new ConfigError('--tables: no table names given', 'e.g. --tables customers,orders')
  return names
}

/** Whether `name` matches the glob `pattern` (`*`, `?`, `[abc]`, `[!abc]`, `[a-z]`; case-sensitive). */
export function matchGlob(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name)
}

function filterOnly(tables: TableConfig[], sourceTableNames: string[], only: string[]): TableConfig[] {
  const matchers = only.map((entry) => ({ entry, matches: matcher(entry, /[*?[]/.test(entry)) }))
  for (const { entry, matches } of matchers) {
    if (tables.some((t) => matches(t.name))) continue
    if (sourceTableNames.some(matches)) {
      throw new ConfigError(
        `--tables: "${entry}" is not selected by the pipeline file`,
        'it is excluded, or no entry of tables: matches it',
      )
    }
    throw new ConfigError(
      `--tables: no source table matches "${entry}"`,
      suggestionHint(entry, sourceTableNames),
    )
  }
  return tables.filter((t) => matchers.some(({ matches }) => matches(t.name)))
}

function toTableConfig(name: string, selector: TableSelector): TableConfig {
  const table: TableConfig = {
    name,
    strategy: selector.strategy,
    cursor: [...selector.cursor],
    batchSize: selector.batchSize,
    lagMs: selector.lagMs,
    deletes: selector.deletes,
    line: selector.line,
  }
  if (selector.primaryKey !== undefined) table.primaryKey = [...selector.primaryKey]
  if (selector.strategyInferred) table.strategyInferred = true
  if (selector.verify !== undefined) table.verify = { ...selector.verify }
  if (selector.parallel !== undefined) table.parallel = { ...selector.parallel }
  return table
}

function matcher(pattern: string, isGlob: boolean): (name: string) => boolean {
  if (!isGlob) return (name) => name === pattern
  const re = globToRegExp(pattern)
  return (name) => re.test(name)
}

// Code-unit order, not locale order: the same on every machine.
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function globToRegExp(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2)
      if (close === -1) {
        // An unclosed "[" is an ordinary character, as in shell globs.
        re += '\\['
        continue
      }
      let body = pattern.slice(i + 1, close)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`
      i = close
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}
