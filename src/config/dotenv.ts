import { readFile } from 'node:fs/promises'
import { ConfigError } from '../errors.js'

const LINE_RE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' }

/**
 * Parse dotenv text: `KEY=VALUE` lines, an optional `export ` prefix, `#` comments, blank lines,
 * 'single' (literal) and "double" quotes (escapes \n \r \t \" \\, may span lines); unquoted values are
 * trimmed and lose a ` # comment`. `file` only names the file in errors.
 */
export function parseDotenv(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (/^\s*(#.*)?$/.test(line)) continue
    const match = LINE_RE.exec(line)
    if (!match)
      throw new ConfigError(
        `${file}:${i + 1}: expected KEY=VALUE`,
        'lines are KEY=VALUE, # comments or blank',
      )
    const key = match[1] as string
    let rest = line.slice(match[0].length)
    const quote = rest[0]
    if (quote === '"' || quote === "'") {
      const startLine = i
      // A double-quoted value may continue on the next lines (PEM keys and the like).
      let body = rest.slice(1)
      let end = findClosingQuote(body, quote)
      while (end === -1 && quote === '"' && i + 1 < lines.length) {
        i++
        body += `\n${lines[i]}`
        end = findClosingQuote(body, quote)
      }
      if (end === -1)
        throw new ConfigError(`${file}:${startLine + 1}: unclosed ${quote} in the value of ${key}`)
      rest = body.slice(0, end)
      out[key] = quote === '"' ? rest.replace(/\\([nrt"\\])/g, (_, c: string) => ESCAPES[c] as string) : rest
    } else {
      out[key] = rest.replace(/(^|\s+)#.*$/, '').trim()
    }
  }
  return out
}

function findClosingQuote(body: string, quote: string): number {
  for (let j = 0; j < body.length; j++) {
    if (body[j] === '\\' && quote === '"') j++
    else if (body[j] === quote) return j
  }
  return -1
}

/**
 * Read and parse a dotenv file. A missing file yields `undefined` when `optional` (the `.env` beside the
 * pipeline) and is a ConfigError otherwise (`--env` names a file the user expects to exist).
 */
export async function readDotenv(
  path: string,
  optional: boolean,
): Promise<Record<string, string> | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(
      `cannot read env file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      undefined,
      {
        cause: err,
      },
    )
  }
  return parseDotenv(text, path)
}
