import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../config/build.js'
import { readDotenv } from '../../config/dotenv.js'
import type { ConnectionOptions, SslOptions } from '../../config/types.js'
import { type DatabaseUrl, parseDatabaseUrl } from '../../config/url.js'
import { JSON_SCHEMA_URL } from '../../config/write-json-schema.js'
import { connect } from '../../db/connect.js'
import { connectPair } from '../../db/identity.js'
import { ConfigError } from '../../errors.js'
import { log } from '../../observe/log.js'
import { plural } from '../../observe/text.js'
import {
  chooseStrategy,
  type InitTable,
  renderInitPipeline,
  selectInitTables,
} from '../../plan/init-pipeline.js'
import { introspect } from '../../schema/introspect.js'
import { type CliContext, globals, tablesOption } from '../options.js'
import { printResult } from '../render.js'

interface InitFlags {
  source?: string
  target?: string
  output?: string
  tables?: string[]
  force?: boolean
  json?: boolean
}

export interface InitOptions {
  /** --source; else SOURCE_DATABASE_URL from the environment or the env files. */
  source?: string
  target?: string
  /** The file to write, as the user named it. */
  output: string
  only?: string[]
  force: boolean
  envFile?: string
}

export interface InitResult {
  file: string
  tables: Array<{
    name: string
    strategy: InitTable['strategy']
    cursor: string | null
    primaryKey: string[]
    reason: string
  }>
  /** What to do next, in order; printed as text and logged with --json. */
  next: string[]
}

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('introspect the source and write a commented pipeline file, one entry per table')
    .option('--source <url>', 'source database URL (default: $SOURCE_DATABASE_URL); not written to the file')
    .option('--target <url>', 'target database URL; not written to the file (set TARGET_DATABASE_URL)')
    .option('-o, --output <file>', 'the pipeline file to write', 'pipeline.yaml')
    .option('--tables <list>', 'only these tables (comma-separated, globs allowed)', tablesOption)
    .option('--force', 'overwrite the file if it exists')
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: InitFlags, cmd: Command) => {
      const g = globals(cmd)
      const result = await init({
        output: flags.output ?? 'pipeline.yaml',
        force: Boolean(flags.force),
        ...(flags.source !== undefined ? { source: flags.source } : {}),
        ...(flags.target !== undefined ? { target: flags.target } : {}),
        ...(flags.tables ? { only: flags.tables } : {}),
        ...(g.envFile ? { envFile: g.envFile } : {}),
      })
      if (flags.json) for (const step of result.next) log().info({ event: 'init_next_step' }, step)
      const { next: _next, ...data } = result
      printResult(Boolean(flags.json), data, () => renderInit(result))
      ctx.exitCode = 0
    })
}

/**
 * Introspect the source, choose a strategy per table and write the pipeline file. The URLs stay in the
 * environment: the file names `${SOURCE_DATABASE_URL}` and `${TARGET_DATABASE_URL}`, never a password.
 */
export async function init(opts: InitOptions): Promise<InitResult> {
  const file = resolve(opts.output)
  if (!opts.force && existsSync(file)) throw exists(opts.output)

  const env = await loadEnv(dirname(file), opts.envFile)
  const sourceUrl = opts.source ?? env.SOURCE_DATABASE_URL
  if (sourceUrl === undefined || sourceUrl === '') {
    throw new ConfigError('no source database given', 'pass --source URL or set SOURCE_DATABASE_URL')
  }
  const source = parseDatabaseUrl(sourceUrl, 'source')
  // Never stored: connected only to check it now (reachable, and not the source database itself).
  const target = opts.target !== undefined ? parseDatabaseUrl(opts.target, 'target') : undefined

  const sourceOptions = await connectionOptions(source)
  const pair = target
    ? await connectPair({ source: sourceOptions, target: await connectionOptions(target) })
    : { source: await connect(sourceOptions), target: undefined }
  let defs: Awaited<ReturnType<typeof introspect>>
  try {
    defs = await introspect(pair.source)
  } finally {
    await Promise.all([pair.source.close(), pair.target?.close()])
  }
  if (defs.size === 0) {
    throw new ConfigError(
      `source database "${source.database}" has no base tables`,
      'check the database name in the source URL',
    )
  }
  const tables = selectInitTables(defs.values(), opts.only).map(chooseStrategy)
  const text = renderInitPipeline({
    database: source.database,
    schemaRef: schemaRef(dirname(file)),
    fileName: opts.output,
    tables,
  })
  await write(file, text, opts)
  log().debug({ event: 'init_written', file, tables: tables.length }, `wrote ${opts.output}`)
  return {
    file: opts.output,
    tables: tables.map((t) => ({
      name: t.name,
      strategy: t.strategy,
      cursor: t.cursor,
      primaryKey: t.primaryKey,
      reason: t.reason,
    })),
    next: nextSteps(opts),
  }
}

function exists(output: string): ConfigError {
  return new ConfigError(
    `${output} already exists`,
    'use --force to overwrite it, or -o to write another file',
  )
}

async function write(file: string, text: string, opts: InitOptions): Promise<void> {
  try {
    // 'wx' fails if the file appeared since the check above: never overwrite without --force.
    await writeFile(file, text, { flag: opts.force ? 'w' : 'wx' })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    if (code === 'EEXIST') throw exists(opts.output)
    throw new ConfigError(
      `cannot write ${opts.output} (${code})`,
      'check the path given to -o and its permissions',
      {
        cause: err,
      },
    )
  }
}

/** `.env` beside the file to write, then `--env-file`, then the environment, as for a pipeline file. */
async function loadEnv(
  dir: string,
  envFile: string | undefined,
): Promise<Record<string, string | undefined>> {
  const beside = await readDotenv(resolve(dir, '.env'), true)
  const fromFlag = envFile === undefined ? undefined : await readDotenv(envFile, false)
  return { ...beside, ...fromFlag, ...process.env }
}

/** Connection options for the source as config/build.ts makes them; TLS files are relative to the cwd. */
async function connectionOptions(url: DatabaseUrl): Promise<ConnectionOptions> {
  const ssl: SslOptions = { mode: url.ssl.mode ?? (url.ssl.ca !== undefined ? 'verify-ca' : 'preferred') }
  for (const which of ['ca', 'cert', 'key'] as const) {
    const path = url.ssl[which]
    if (path === undefined) continue
    try {
      ssl[which] = await readFile(resolve(path), 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      throw new ConfigError(`source url: ssl-${which}: cannot read ${path} (${code})`, 'check the path', {
        cause: err,
      })
    }
  }
  return {
    side: 'source',
    host: url.host,
    port: url.port,
    user: url.user,
    password: url.password,
    database: url.database,
    ssl,
    poolMax: 2,
    acquireTimeoutMs: 60_000,
    connectTimeoutMs: url.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    stallTimeoutMs: 10 * 60 * 1000,
    rsaKey: {
      fetch: url.rsaKey.fetch ?? false,
      ...(url.rsaKey.path === undefined ? {} : { publicKey: await readPublicKey(url.rsaKey.path) }),
    },
  }
}

async function readPublicKey(path: string): Promise<string> {
  try {
    return await readFile(resolve(path), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new ConfigError(
      `source url: server-public-key-path: cannot read ${path} (${code})`,
      'check the path',
      {
        cause: err,
      },
    )
  }
}

/**
 * The JSON schema shipped with this package, relative to the new file when both share a project (dbsync
 * in the project's node_modules), else as a file URL (a global install, another drive or tree).
 */
function schemaRef(dir: string): string {
  const schemaPath = fileURLToPath(JSON_SCHEMA_URL)
  const rel = relative(dir, schemaPath)
  const ups = rel.split(sep).filter((part) => part === '..').length
  // A walk up to the filesystem root shares no project with the file.
  const depth = dir.split(sep).filter((part) => part !== '').length
  if (!isAbsolute(rel) && ups <= 3 && ups < depth) return rel.split(sep).join('/')
  return JSON_SCHEMA_URL.href
}

function nextSteps(opts: InitOptions): string[] {
  const steps = [`review the strategies in ${opts.output}`]
  const vars = [
    ...(opts.source !== undefined ? ['SOURCE_DATABASE_URL to the --source URL'] : []),
    ...(opts.target !== undefined ? ['TARGET_DATABASE_URL to the --target URL'] : ['TARGET_DATABASE_URL']),
  ]
  steps.push(
    `set ${vars.join(' and ')} in the environment or in a .env file beside ${basename(opts.output)} ` +
      '(URLs are not written into the file, so no password lands in it)',
  )
  steps.push(`dbsync validate -p ${opts.output}`)
  steps.push(`dbsync sync -p ${opts.output}`)
  return steps
}

/** Text: what was written, one line per table with its strategy and reason, then the next steps. */
export function renderInit(r: InitResult): string {
  const incremental = r.tables.filter((t) => t.strategy === 'incremental').length
  const rows = r.tables.map((t) => [
    t.name,
    t.strategy,
    t.cursor !== null ? `cursor=${t.cursor}` : '',
    t.reason,
  ])
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((row) => (row[i] ?? '').length)))
  return [
    `wrote ${r.file}: ${plural(r.tables.length, 'table')}, ${incremental} incremental, ${r.tables.length - incremental} full_refresh`,
    '',
    ...rows.map(
      (row) =>
        `  ${row
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}`,
    ),
    '',
    'next steps:',
    ...r.next.map((step, i) => `  ${i + 1}. ${step}`),
  ].join('\n')
}
