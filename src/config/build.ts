import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { registerSecret } from '../observe/redact.js'
import { parseDuration } from './duration.js'
import type { Locator } from './issues.js'
import type { PipelineFile } from './schema.js'
import {
  type ConnectionOptions,
  DEFAULT_PARALLEL,
  type Pipeline,
  type SslOptions,
  type Strategy,
  type TableSelector,
} from './types.js'
import { type DatabaseUrl, parseDatabaseUrl } from './url.js'

/** mysql2's own default: long enough for a TLS handshake across regions, short enough to fail fast. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

const GLOB_RE = /[*?[]/

type Side = 'source' | 'target'
type TableFile = PipelineFile['tables'][number]

/**
 * Turn the validated file into the typed Pipeline: parse URLs, read password and TLS files (paths relative
 * to the pipeline file), merge `defaults:` into every selector, and run the checks zod cannot express.
 */
export async function buildPipeline(raw: PipelineFile, absFile: string, at: Locator): Promise<Pipeline> {
  const baseDir = dirname(absFile)
  const [source, target] = await Promise.all([
    buildConnection('source', raw, baseDir, at),
    buildConnection('target', raw, baseDir, at),
  ])
  const tables = raw.tables.map((table, i) => buildSelector(table, raw.defaults, at.line(['tables', i])))
  checkDuplicates(tables, at)

  const retry = {
    attempts: raw.retry.attempts,
    baseDelayMs: parseDuration(raw.retry.base_delay),
    maxDelayMs: parseDuration(raw.retry.max_delay),
  }
  if (retry.maxDelayMs < retry.baseDelayMs) {
    throw at.error(['retry', 'max_delay'], 'retry.max_delay is shorter than retry.base_delay')
  }

  const pipeline: Pipeline = {
    file: absFile,
    name: raw.name,
    source,
    target,
    concurrency: raw.concurrency,
    workers: raw.workers,
    tables,
    retry,
    shutdownTimeoutMs: parseDuration(raw.shutdown_timeout),
    queryTimeoutMs: parseDuration(raw.query_timeout),
  }
  if (raw.schedule) pipeline.schedule = buildSchedule(raw.schedule, at)
  if (raw.health) pipeline.health = { port: raw.health.port, host: raw.health.host }
  if (raw.notify) {
    // Slack and similar webhook URLs are bearer secrets.
    registerSecret(raw.notify.webhook)
    pipeline.notify = { webhook: raw.notify.webhook, on: [...new Set(raw.notify.on)] }
  }
  return pipeline
}

async function buildConnection(side: Side, raw: PipelineFile, baseDir: string, at: Locator) {
  const conf = raw[side]
  let url: DatabaseUrl
  try {
    url = parseDatabaseUrl(conf.url, side)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw new ConfigError(`${at.file}:${at.line([side, 'url'])}: ${err.message}`, err.hint, { cause: err })
  }
  let password = url.password
  if (conf.password_file !== undefined) {
    const path = resolve(baseDir, conf.password_file)
    // Only a trailing newline goes: editors and `echo` add one, but spaces may belong to the password.
    password = (await readText(path, [side, 'password_file'], `${side}.password_file`, at)).replace(
      /\r?\n$/,
      '',
    )
    registerSecret(password)
  }
  const options: ConnectionOptions = {
    side,
    host: url.host,
    port: url.port,
    user: url.user,
    password,
    database: url.database,
    ssl: await buildSsl(side, url, conf.ssl ?? {}, baseDir, at),
    poolMax: conf.pool?.max ?? 10,
    acquireTimeoutMs: parseDuration(conf.pool?.acquire_timeout ?? '5m'),
    connectTimeoutMs: url.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    stallTimeoutMs: parseDuration(raw.query_timeout),
    rsaKey: {
      fetch: url.rsaKey.fetch ?? false,
      ...(url.rsaKey.path === undefined
        ? {}
        : {
            publicKey: await readText(
              resolve(baseDir, url.rsaKey.path),
              [side, 'url'],
              `${side} server-public-key-path`,
              at,
            ),
          }),
    },
  }
  return options
}

async function buildSsl(
  side: Side,
  url: DatabaseUrl,
  block: NonNullable<PipelineFile['source']['ssl']>,
  baseDir: string,
  at: Locator,
): Promise<SslOptions> {
  const paths = {
    ca: block.ca ?? url.ssl.ca,
    cert: block.cert ?? url.ssl.cert,
    key: block.key ?? url.ssl.key,
  }
  // As the mysql client does: a CA without an explicit mode means "verify the server against it".
  const mode = block.mode ?? url.ssl.mode ?? (paths.ca !== undefined ? 'verify-ca' : 'preferred')
  const ssl: SslOptions = { mode }
  for (const which of ['ca', 'cert', 'key'] as const) {
    const path = paths[which]
    if (path === undefined) continue
    const nodePath = block[which] !== undefined ? [side, 'ssl', which] : [side, 'url']
    ssl[which] = await readText(resolve(baseDir, path), nodePath, `${side} ssl ${which}`, at)
  }
  if ((ssl.cert === undefined) !== (ssl.key === undefined)) {
    throw at.error([side, 'ssl'], `${side}: ssl cert and key go together; only one is set`)
  }
  return ssl
}

async function readText(path: string, nodePath: PropertyKey[], what: string, at: Locator): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw at.error(nodePath, `${what}: cannot read ${path} (${code})`, 'check the path and its permissions')
  }
}

function buildSelector(table: TableFile, defaults: PipelineFile['defaults'], line: number): TableSelector {
  const cursor = toList(table.cursor ?? defaults?.cursor)
  const strategy: Strategy =
    table.strategy ?? defaults?.strategy ?? (cursor.length > 0 ? 'incremental' : 'full_refresh')
  const primaryKey = table.primary_key ?? defaults?.primary_key
  const selector: TableSelector = {
    pattern: table.name,
    isGlob: GLOB_RE.test(table.name),
    exclude: table.exclude ?? false,
    line,
    strategy,
    cursor,
    batchSize: table.batch_size ?? defaults?.batch_size ?? 5000,
    lagMs: parseDuration(table.lag ?? defaults?.lag ?? '0s'),
    deletes: table.deletes ?? defaults?.deletes ?? 'ignore',
  }
  if (primaryKey !== undefined) selector.primaryKey = toList(primaryKey)
  if (table.strategy === undefined && defaults?.strategy === undefined) selector.strategyInferred = true
  // Field by field: a table may change one setting of the defaults' verify: block.
  const verify = table.verify || defaults?.verify ? { ...defaults?.verify, ...table.verify } : undefined
  if (verify) {
    selector.verify = {
      everyMs: parseDuration(verify.every ?? '6h'),
      repair: verify.repair ?? true,
      maxRowsPerSecond: verify.max_rows_per_second ?? 20_000,
    }
  }
  // Field by field too; absent when neither sets it (the load uses DEFAULT_PARALLEL).
  const parallel =
    table.parallel || defaults?.parallel ? { ...defaults?.parallel, ...table.parallel } : undefined
  if (parallel) {
    selector.parallel = {
      aboveRows: parallel.above_rows ?? DEFAULT_PARALLEL.aboveRows,
      rangeRows: parallel.range_rows ?? DEFAULT_PARALLEL.rangeRows,
      workers: parallel.workers ?? DEFAULT_PARALLEL.workers,
    }
  }
  return selector
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}

function checkDuplicates(tables: readonly TableSelector[], at: Locator): void {
  const seen = new Map<string, TableSelector>()
  for (const [i, table] of tables.entries()) {
    if (table.isGlob) continue
    const first = seen.get(table.pattern)
    if (first !== undefined) {
      throw at.error(
        ['tables', i],
        `table "${table.pattern}" is listed twice (lines ${first.line} and ${table.line})`,
        'merge the two entries into one',
      )
    }
    seen.set(table.pattern, table)
  }
}

function buildSchedule(
  schedule: NonNullable<PipelineFile['schedule']>,
  at: Locator,
): NonNullable<Pipeline['schedule']> {
  if (schedule.every !== undefined && schedule.cron !== undefined) {
    throw at.error(['schedule'], 'schedule: set either every or cron, not both')
  }
  if (schedule.every !== undefined) {
    const everyMs = parseDuration(schedule.every)
    if (everyMs <= 0) throw at.error(['schedule', 'every'], 'schedule.every: expected a duration above 0s')
    return { everyMs }
  }
  if (schedule.cron !== undefined) {
    checkCron(schedule.cron, at)
    return { cron: schedule.cron.trim() }
  }
  throw at.error(['schedule'], 'schedule: set every or cron', 'e.g. every: 5m, or cron: "*/5 * * * *"')
}

// A plausibility check only (field count and characters); the scheduler's cron parser has the last word.
function checkCron(cron: string, at: Locator): void {
  const fields = cron.trim().split(/\s+/)
  if ((fields.length !== 5 && fields.length !== 6) || !fields.every((f) => /^[0-9A-Za-z*/,?#-]+$/.test(f))) {
    throw at.error(
      ['schedule', 'cron'],
      `schedule.cron: "${cron}" is not a cron expression`,
      'five fields (minute hour day month weekday), or six with seconds first: "*/5 * * * *"',
    )
  }
}
