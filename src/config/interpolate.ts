import { type Document, isPair, isScalar, parse, Scalar, visit } from 'yaml'
import { ConfigError } from '../errors.js'

// A literal URL may hold a password with a stray "${": errors about these values never quote them.
const SECRET_KEYS = new Set(['url', 'webhook'])

// `$${` is an escape for a literal `${` (as in docker compose), for passwords that contain one.
const REFERENCE_RE = /\$\$\{|\$\{([^}]*)\}|\$\{/g
const INNER_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

/** Reports the 1-based line of a node's first character. */
export type LineOf = (offset: number) => number

/**
 * Replace `${VAR}` and `${VAR:-default}` in every string scalar VALUE of the parsed document (keys are
 * left alone). Working on nodes rather than on the raw text keeps every node's range, so later errors
 * point at the right line. `:-` uses the default when the variable is unset or empty, as in the shell.
 * An unquoted scalar that was exactly a reference is re-read as YAML, so `concurrency: ${N}` gives a number.
 */
export function interpolateDocument(
  doc: Document,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
  lineOf: LineOf,
): void {
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return
      const line = lineOf(node.range?.[0] ?? 0)
      const parent = path[path.length - 1]
      const quote = !(isPair(parent) && isScalar(parent.key) && SECRET_KEYS.has(String(parent.key.value)))
      // Secrets need no registering here: the URL parser registers the password it finds, and registering
      // every substituted value would also hide host and user names in every log line.
      const result = substitute(node.value, env, quote, (what, hint) => {
        throw new ConfigError(`${file}:${line}: ${what}`, hint)
      })
      if (result === node.value) return
      node.value = node.type === Scalar.PLAIN && /^\$\{[^}]*\}$/.test(node.value) ? retype(result) : result
    },
  })
}

function substitute(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  quote: boolean,
  fail: (what: string, hint?: string) => never,
): string {
  return text.replace(REFERENCE_RE, (match, inner: string | undefined) => {
    if (match === '$${') return '${'
    if (inner === undefined)
      fail(`unclosed "\${"`, `write \${VAR} or \${VAR:-default}; write $\${ for a literal \${`)
    const parts = INNER_RE.exec(inner)
    if (!parts) {
      fail(`bad variable reference${quote ? ` "\${${inner}}"` : ''}`, `write \${VAR} or \${VAR:-default}`)
    }
    const name = parts[1] as string
    const fallback = parts[2]
    const value = env[name]
    if (fallback !== undefined && (value === undefined || value === '')) return fallback
    if (value === undefined) {
      fail(
        `variable ${name} is not set`,
        `set it in the environment, in a .env file beside the pipeline file or with --env FILE; or write \${${name}:-default}`,
      )
    }
    return value
  })
}

function retype(value: string): unknown {
  try {
    const parsed: unknown = parse(value)
    return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : value
  } catch {
    return value
  }
}
