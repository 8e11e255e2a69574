import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { LineCounter, parseDocument } from 'yaml'
import { ConfigError } from '../errors.js'
import { registerSecret } from '../observe/redact.js'
import { buildPipeline } from './build.js'
import { readDotenv } from './dotenv.js'
import { interpolateDocument } from './interpolate.js'
import { issuesToError, Locator } from './issues.js'
import { pipelineFileSchema } from './schema.js'
import type { Pipeline } from './types.js'

/** Options of `loadPipeline()`; both default to the real process. */
export interface LoadOptions {
  /** `--env`: read after the `.env` beside the pipeline file and before the environment. */
  envFile?: string
  /** The environment; its variables win over both env files. */
  env?: NodeJS.ProcessEnv
}

// Env-file variables that hold secrets by their name; passwords inside URLs are registered by the URL parser.
const SECRET_NAME_RE = /PASS(WORD|WD)?|SECRET|TOKEN|_KEY$|WEBHOOK/i

/**
 * Read, substitute `${VAR}`, validate and type a pipeline file. Every problem is a ConfigError (exit 2)
 * that starts with `file:LINE:` where a line is known.
 */
export async function loadPipeline(file: string, opts: LoadOptions = {}): Promise<Pipeline> {
  const absFile = resolve(file)
  let source: string
  try {
    source = await readFile(absFile, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new ConfigError(
      `cannot read pipeline file ${file} (${code})`,
      'check the path given to --pipeline',
      {
        cause: err,
      },
    )
  }

  const lineCounter = new LineCounter()
  // Unique keys are on by default in yaml 2, so `name:` twice in one mapping is reported here.
  const doc = parseDocument(source, { lineCounter, prettyErrors: true })
  const yamlError = doc.errors[0]
  if (yamlError) {
    const line = yamlError.linePos?.[0].line ?? 1
    // The pretty message ends with a snippet of the file, which could show a password: keep the first part.
    const message = yamlError.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')
    throw new ConfigError(`${file}:${line}: ${message}`, 'the file is not valid YAML')
  }
  if (doc.contents === null)
    throw new ConfigError(`${file}:1: the file is empty`, 'start from examples/minimal.yaml')

  const env = await loadEnv(absFile, opts)
  const at = new Locator(file, doc, lineCounter)
  interpolateDocument(doc, env, file, (offset) => at.lineAt(offset))

  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`, 'the file is not valid YAML', { cause: err })
  }
  const parsed = pipelineFileSchema.safeParse(data)
  if (!parsed.success) throw issuesToError(parsed.error.issues, data, pipelineFileSchema, at)
  return buildPipeline(parsed.data, absFile, at)
}

/** `.env` beside the file, then `--env`, then the environment: later sources win. */
async function loadEnv(absFile: string, opts: LoadOptions): Promise<Record<string, string | undefined>> {
  const beside = await readDotenv(join(dirname(absFile), '.env'), true)
  const fromFlag = opts.envFile === undefined ? undefined : await readDotenv(opts.envFile, false)
  for (const values of [beside, fromFlag]) {
    for (const [name, value] of Object.entries(values ?? {}))
      if (SECRET_NAME_RE.test(name)) registerSecret(value)
  }
  return { ...beside, ...fromFlag, ...(opts.env ?? process.env) }
}
