import { suggestionHint } from '../config/close-match.js'
import { matchGlob } from '../config/select.js'
import type { Strategy } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { hasZeroDateDefault } from '../schema/cursor-risks.js'
import type { ColumnDef, TableDef } from '../schema/table-def.js'

/**
 * Column names that usually hold "last changed" times, most telling first; the creation-time names come
 * last because they only see inserts (an updated row keeps its old value and is not re-read).
 */
export const MODIFIER_COLUMNS = [
  'updated_at',
  'modified_at',
  'updated',
  'last_modified',
  'last_modified_at',
  'last_updated',
  'last_update', // sakila
  'updated_on',
  'modified',
  'date_modified', // WooCommerce, Joomla
  'date_updated',
  'post_modified', // WordPress
  'changed_at',
  'update_time',
  'created_at',
  'created',
  'inserted_at',
  'create_time',
] as const

const CREATION_COLUMNS = new Set<string>(['created_at', 'created', 'inserted_at', 'create_time'])

// A cursor must order rows by change time: date/time types first; whole numbers may be epoch seconds.
const TEMPORAL_TYPES = new Set(['timestamp', 'datetime'])
const FALLBACK_TYPES = new Set(['date', 'int', 'bigint', 'mediumint'])

/** What `init` decided for one table, and why (the why becomes a comment in the file). */
export interface InitTable {
  name: string
  strategy: Strategy
  /** The modifier column, for incremental tables. */
  cursor: string | null
  /** The source's primary key; empty when it has none. */
  primaryKey: string[]
  reason: string
}

/** Choose a table's strategy: incremental when it has a primary key and a modifier column, else full_refresh. */
export function chooseStrategy(def: TableDef): InitTable {
  const base = { name: def.name, primaryKey: [...def.primaryKey] }
  const cursor = findModifierColumn(def)
  const key = `primary key (${def.primaryKey.join(', ')})`
  if (def.primaryKey.length === 0) {
    const note = cursor ? ` (${cursor.name} alone cannot match rows between runs)` : ''
    return { ...base, strategy: 'full_refresh', cursor: null, reason: `no primary key${note}` }
  }
  if (cursor === undefined) {
    const candidates = def.columns.filter((c) => isCandidateName(c.name))
    const note =
      candidates.length > 0
        ? `${candidates.map((c) => `${c.name} is ${c.dataType}`).join(', ')}, not a date or time`
        : 'no modifier column such as updated_at'
    return { ...base, strategy: 'full_refresh', cursor: null, reason: `${key} but ${note}` }
  }
  const notes: string[] = []
  if (/current_timestamp|now\(/i.test(cursor.onUpdate)) notes.push('the server stamps it on every update')
  if (CREATION_COLUMNS.has(cursor.name.toLowerCase()))
    notes.push('updates to existing rows are not picked up')
  if (cursor.nullable) notes.push(`rows with NULL ${cursor.name} are re-read on every run`)
  if (hasZeroDateDefault(cursor)) {
    notes.push(
      `${cursor.name} defaults to a zero date: such rows are re-read on every run; no other modifier column`,
    )
  }
  if (!isIndexed(def, cursor.name)) notes.push(`no index on ${cursor.name}: each run scans the table`)
  const why = `${key} and ${CREATION_COLUMNS.has(cursor.name.toLowerCase()) ? 'creation' : 'modifier'} column ${cursor.name}`
  return {
    ...base,
    strategy: 'incremental',
    cursor: cursor.name,
    reason: notes.length > 0 ? `${why}; ${notes.join('; ')}` : why,
  }
}

/**
 * The modifier column: first a TIMESTAMP/DATETIME column the server stamps on every update (`ON UPDATE
 * CURRENT_TIMESTAMP`, the clearest signal a schema gives), then the known names in order, each also with
 * a `_gmt`/`_utc` suffix (the UTC twin is preferred: it never goes back at a daylight-saving change),
 * TIMESTAMP/DATETIME before DATE and integer ones (`updated` may be a flag or an epoch), and a column
 * without a zero-date default before one with it. Other types never qualify.
 */
export function findModifierColumn(def: TableDef): ColumnDef | undefined {
  const stamped = def.columns.filter(
    (c) => TEMPORAL_TYPES.has(c.dataType) && /current_timestamp|now\(/i.test(c.onUpdate),
  )
  const clean = stamped.find((c) => !hasZeroDateDefault(c))
  if (clean ?? stamped[0]) return clean ?? stamped[0]
  const byName = (types: Set<string>, zeroOk: boolean) => {
    for (const candidate of MODIFIER_COLUMNS) {
      for (const name of [`${candidate}_gmt`, `${candidate}_utc`, candidate]) {
        const c = def.columns.find(
          (col) =>
            col.name.toLowerCase() === name &&
            types.has(col.dataType) &&
            (zeroOk || !hasZeroDateDefault(col)),
        )
        if (c !== undefined) return c
      }
    }
    return undefined
  }
  return (
    byName(TEMPORAL_TYPES, false) ??
    byName(TEMPORAL_TYPES, true) ??
    byName(FALLBACK_TYPES, false) ??
    byName(FALLBACK_TYPES, true)
  )
}

/**
 * The tables `init` lists, in name order: all of them, or those matching `--tables` (names or globs).
 * An entry that matches nothing is a ConfigError naming it.
 */
export function selectInitTables(defs: Iterable<TableDef>, only?: readonly string[]): TableDef[] {
  const all = [...defs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  if (only === undefined) return all
  const matchers = only.map((entry) => ({
    entry,
    matches: (name: string) => (/[*?[]/.test(entry) ? matchGlob(entry, name) : entry === name),
  }))
  for (const { entry, matches } of matchers) {
    if (!all.some((t) => matches(t.name))) {
      throw new ConfigError(
        `--tables: no source table matches "${entry}"`,
        suggestionHint(
          entry,
          all.map((t) => t.name),
        ),
      )
    }
  }
  return all.filter((t) => matchers.some(({ matches }) => matches(t.name)))
}

/** A pipeline name from the source database name: `[A-Za-z0-9_-]`, at most 64 characters. */
export function pipelineName(database: string): string {
  const name = database
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64)
  return name === '' ? 'pipeline' : name
}

export interface InitPipelineOptions {
  /** The source database's name (from its URL); only named in a comment and in `name:`. */
  database: string
  /** `$schema=` target for editors: a path relative to the file, or a URL. */
  schemaRef: string
  /** The file name used in the "run it with" comment. */
  fileName: string
  tables: InitTable[]
}

const COMMENT_COLUMN = 35

/**
 * The pipeline file `init` writes: commented, with the URLs as `${SOURCE_DATABASE_URL}` and
 * `${TARGET_DATABASE_URL}` (a literal URL would put a password in a file that gets committed), and one
 * entry per table with the reason for its strategy.
 */
export function renderInitPipeline(opts: InitPipelineOptions): string {
  const out: string[] = []
  const line = (text: string, comment?: string) => {
    out.push(comment === undefined ? text : `${text.padEnd(COMMENT_COLUMN - 1)} # ${comment}`)
  }
  const incremental = opts.tables.filter((t) => t.strategy === 'incremental').length
  line(`# yaml-language-server: $schema=${opts.schemaRef}`)
  line('#')
  line(`# Written by \`dbsync init\` from the source database ${commentText(opts.database)}:`)
  line(
    `# ${opts.tables.length} tables, ${incremental} incremental and ${opts.tables.length - incremental} full refresh.`,
  )
  line('# Review the strategies below, then run:')
  line(`#   dbsync validate -p ${commentText(opts.fileName)}`)
  line(`#   dbsync sync -p ${commentText(opts.fileName)}`)
  line('# The URLs come from the environment, a .env file beside this file, or --env FILE.')
  line('version: 1')
  line(`name: ${pipelineName(opts.database)}`, 'keys the state rows and the run lock')
  line('')
  line('source:')
  line(`  url: \${SOURCE_DATABASE_URL}`, 'mysql://user:password@host:3306/database')
  line('target:')
  line(`  url: \${TARGET_DATABASE_URL}`)
  line('')
  line('defaults:', 'every table, unless the table says otherwise')
  line('  batch_size: 5000', 'rows per read and write round trip')
  line('  lag: 0s', 're-read this window behind the saved cursor on each run')
  line('  deletes: ignore', 'or detect: remove target rows whose key left the source')
  line('')
  line('concurrency: 4', 'tables synced at once')
  line('')
  line('# A table belongs to the first entry that matches it. Tables created in the source later are not')
  line('# synced until listed here; an entry  - name: "*"  at the end takes every remaining table.')
  line('tables:')
  for (const t of opts.tables) {
    line(`  # ${commentText(t.reason)}`)
    line(`  - name: ${yamlString(escapeGlob(t.name))}`)
    line(`    strategy: ${t.strategy}`)
    if (t.cursor !== null) line(`    cursor: ${yamlString(t.cursor)}`)
  }
  return `${out.map((l) => l.trimEnd()).join('\n')}\n`
}

/**
 * A YAML scalar for `text`: plain when that cannot be read as anything but the same string, else
 * double-quoted (JSON string syntax is valid YAML).
 */
export function yamlString(text: string): string {
  const plain =
    /^[A-Za-z_][A-Za-z0-9_$-]*$/.test(text) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(text)
  return plain ? text : JSON.stringify(text)
}

/**
 * Selectors treat `*`, `?` and `[` as glob characters (config/select.ts); a one-character class matches
 * the character itself, so a table with one in its name is still selected alone.
 */
export function escapeGlob(name: string): string {
  return name.replace(/[*?[]/g, (c) => `[${c}]`)
}

// Identifiers may hold any character but NUL, line breaks included; a comment must stay on its line.
function commentText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, '?')
}

function isCandidateName(name: string): boolean {
  const base = name.toLowerCase().replace(/_(gmt|utc)$/, '')
  return (MODIFIER_COLUMNS as readonly string[]).includes(base)
}

function isIndexed(def: TableDef, name: string): boolean {
  return def.primaryKey[0] === name || def.indexes.some((i) => i.columns[0]?.name === name)
}

/**
 * A table synced by full refresh only because its entry names no cursor, while the source has an obvious
 * modifier column: the warning `plan` and `validate` give, or null.
 */
export function missedCursorWarning(
  config: { name: string; strategy: Strategy; strategyInferred?: true; cursor: readonly string[] },
  def: TableDef,
): string | null {
  if (!config.strategyInferred || config.strategy !== 'full_refresh' || config.cursor.length > 0) return null
  if (def.primaryKey.length === 0) return null
  const c = findModifierColumn(def)
  if (!c || CREATION_COLUMNS.has(c.name.toLowerCase())) return null
  return (
    `no cursor set, so the table is reloaded whole on every run; ${c.name} looks like a modifier column ` +
    `(set cursor: ${c.name} for incremental sync, or strategy: full_refresh to keep this)`
  )
}
