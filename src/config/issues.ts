import { type Document, isCollection, isMap, isNode, isScalar, type LineCounter, type Node } from 'yaml'
import type { z } from 'zod'
import { ConfigError } from '../errors.js'
import { suggestionHint } from './close-match.js'

type Path = ReadonlyArray<PropertyKey>

/** Maps a path in the parsed data back to a 1-based line of the pipeline file. */
export class Locator {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** Line of the byte `offset`. */
  lineAt(offset: number): number {
    return this.lineCounter.linePos(offset).line
  }

  /**
   * Line of the node at `path`, or of its nearest ancestor present in the file (a missing key's parent).
   * A mapping or list under a key is placed on its key's line: `schedule:`, not the first line inside it.
   */
  line(path: Path): number {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n) as unknown[], true)
      if (!isNode(node) || !node.range) continue
      const key = path[n - 1]
      if (isCollection(node) && typeof key === 'string') return this.keyLine(path.slice(0, n - 1), key)
      return this.lineAt(node.range[0])
    }
    return 1
  }

  /** Line of the key `key` in the mapping at `path` (where an unknown key is written). */
  keyLine(path: Path, key: string): number {
    const map = path.length === 0 ? this.doc.contents : this.doc.getIn(path as unknown[], true)
    if (isMap(map)) {
      for (const pair of map.items) {
        const k = pair.key as Node | null
        if (isScalar(k) && String(k.value) === key && k.range) return this.lineAt(k.range[0])
      }
    }
    return this.line(path)
  }

  /** A ConfigError at the node at `path`: `file:LINE: message`. */
  error(path: Path, message: string, hint?: string): ConfigError {
    return new ConfigError(`${this.file}:${this.line(path)}: ${message}`, hint)
  }
}

/** `tables[1].cursor` for a zod path; the empty path gives an empty string. */
export function formatPath(path: Path): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out
}

// Values under these keys may hold secrets, so messages never echo them.
const SECRET_KEYS = new Set(['url', 'webhook', 'password_file'])

interface Problem {
  line: number
  message: string
  hint?: string
}

/**
 * One ConfigError for all zod issues, sorted by line, each as `file:LINE: <path>: <what>`; the hint is the
 * first issue's hint, or every hint prefixed with its line when there are several.
 */
export function issuesToError(
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
  schema: z.ZodType,
  at: Locator,
): ConfigError {
  const problems = issues.flatMap((issue) => describe(issue, data, schema, at))
  problems.sort((a, b) => a.line - b.line)
  const message = problems.map((p) => `${at.file}:${p.line}: ${p.message}`).join('\n')
  const hinted = problems.filter((p) => p.hint !== undefined)
  const hint =
    hinted.length === 0
      ? undefined
      : problems.length === 1
        ? hinted[0]?.hint
        : hinted.map((p) => `line ${p.line}: ${p.hint}`).join('\n')
  return new ConfigError(message, hint)
}

function describe(issue: z.core.$ZodIssue, data: unknown, schema: z.ZodType, at: Locator): Problem[] {
  const path = issue.path
  const where = formatPath(path)
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schema, path)
    return issue.keys.map((key) => ({
      line: at.keyLine(path, key),
      message: `unknown key "${key}"${where === '' ? '' : ` in ${where}`}`,
      hint: suggestionHint(key, allowed),
    }))
  }
  const value = valueAt(data, path)
  const parentPath = path.slice(0, -1)
  if (issue.code === 'invalid_type' && value === undefined && path.length > 0) {
    const parent = formatPath(parentPath)
    return [
      {
        line: at.line(parentPath),
        message: `missing key "${String(path[path.length - 1])}"${parent === '' ? '' : ` in ${parent}`}`,
      },
    ]
  }
  const last = path[path.length - 1]
  const secret = typeof last === 'string' && SECRET_KEYS.has(last)
  const shown = secret || value === undefined || Array.isArray(value) ? '' : `, got ${show(value)}`
  return [{ line: at.line(path), message: `${where === '' ? 'the file' : where}: ${issue.message}${shown}` }]
}

function show(value: unknown): string {
  if (value === null) return 'nothing'
  if (typeof value === 'object') return 'a mapping'
  return JSON.stringify(value)
}

function valueAt(data: unknown, path: Path): unknown {
  let current = data
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[part]
  }
  return current
}

/** The keys a strict object in `schema` allows at `path`, found by walking the schema itself. */
export function allowedKeys(schema: z.ZodType, path: Path): string[] {
  let current: z.core.$ZodType | undefined = schema
  for (const part of [...path, undefined]) {
    current = unwrap(current)
    if (current === undefined) return []
    const def = current._zod.def as z.core.$ZodTypeDef & Record<string, unknown>
    if (part === undefined) {
      return def.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : []
    }
    if (def.type === 'object') current = (def.shape as Record<string, z.core.$ZodType>)[String(part)]
    else if (def.type === 'array') current = def.element as z.core.$ZodType
    else return []
  }
  return []
}

/** Look through optional/default/union wrappers to the object or array inside. */
function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let current = schema
  for (let depth = 0; current !== undefined && depth < 10; depth++) {
    const def = current._zod.def as z.core.$ZodTypeDef & Record<string, unknown>
    if ('innerType' in def) current = def.innerType as z.core.$ZodType
    else if (def.type === 'union') {
      const options = def.options as z.core.$ZodType[]
      const inner = options.find((o) => o._zod.def.type === 'object' || o._zod.def.type === 'array')
      if (inner === undefined) return current
      current = inner
    } else return current
  }
  return current
}
