import { z } from 'zod'
import { DURATION_EXPECTED, DURATION_PATTERN } from './duration.js'

/*
 * The pipeline file as written (CONTRACT.md, "Pipeline file (YAML)"): the one source of truth for
 * validation and for schema/pipeline.schema.json. It checks shapes only and keeps the file's spelling
 * (snake_case, duration strings), so the JSON Schema stays exact; load.ts turns the result into a Pipeline.
 * Every leaf carries an "expected ..." message because load.ts prints `<path>: <message>, got <value>`.
 */

const mapping = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: 'expected a mapping' })

const text = (what = 'expected a string') =>
  z.string({ error: what }).min(1, { error: `${what.replace(/^expected a /, 'expected a non-empty ')}` })

const positiveInt = () =>
  z.int({ error: 'expected a positive integer' }).min(1, { error: 'expected a positive integer' })

const duration = (description: string) =>
  z
    .string({ error: DURATION_EXPECTED })
    .regex(new RegExp(DURATION_PATTERN), { error: DURATION_EXPECTED })
    .describe(description)

const columns = (minItems: number) =>
  z.union([text('expected a column name'), z.array(text('expected a column name')).min(minItems)], {
    error:
      minItems > 0
        ? 'expected a column name or a non-empty list of them'
        : 'expected a column name or a list of them',
  })

export const STRATEGIES = ['incremental', 'full_refresh'] as const
export const DELETES_MODES = ['ignore', 'detect'] as const
export const SSL_MODES = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const
export const NOTIFY_EVENTS = ['failure', 'recovery'] as const

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.join(', ')}` })

const sslSchema = mapping({
  mode: oneOf(SSL_MODES).optional().describe('TLS mode; overrides ssl-mode in the URL'),
  ca: text('expected a file path').optional().describe('CA certificate (PEM), relative to the pipeline file'),
  cert: text('expected a file path').optional().describe('client certificate (PEM)'),
  key: text('expected a file path').optional().describe('client private key (PEM)'),
}).describe('TLS settings; they override the ssl-* parameters of the URL')

const connectionSchema = mapping({
  url: text('expected a database URL').describe(
    `mysql://user:password@host:3306/database?ssl-mode=REQUIRED (or mariadb://); usually a variable such as \${SOURCE_DATABASE_URL}`,
  ),
  ssl: sslSchema.optional(),
  pool: mapping({
    max: positiveInt().default(10).describe('connections per side'),
    acquire_timeout: duration(
      'how long a table waits for a connection the server refuses (max_connections reached) before it fails (default 5m)',
    ).optional(),
  })
    .optional()
    .describe('connection pool'),
  password_file: text('expected a file path')
    .optional()
    .describe('read the password from this file (Docker/Kubernetes secrets); overrides the URL password'),
})

/** Keys that `defaults:` and each `tables:` entry share. */
const tableSettings = {
  strategy: oneOf(STRATEGIES)
    .optional()
    .describe('incremental when a cursor is configured, else full_refresh, unless set'),
  cursor: columns(0).optional().describe('modifier column, or a list: the first non-NULL value counts'),
  primary_key: columns(1)
    .optional()
    .describe('normally read from the source; needed where the source has none'),
  batch_size: positiveInt().optional().describe('rows per read and write round trip (default 5000)'),
  lag: duration('re-read this window behind the saved cursor on each run (default 0s)').optional(),
  deletes: oneOf(DELETES_MODES)
    .optional()
    .describe('ignore, or detect: remove target rows whose key left the source (default ignore)'),
  verify: mapping({
    every: duration(
      'start a full comparison of the table this long after the last one ended (default 6h)',
    ).optional(),
    repair: z
      .boolean({ error: 'expected true or false' })
      .optional()
      .describe('re-copy the rows that differ (default true), as sync --repair does'),
    max_rows_per_second: positiveInt()
      .optional()
      .describe('compare at most this many source rows per second (default 20000)'),
  })
    .optional()
    .describe('scheduled mode: compare the table with the source between syncs, throttled, and repair it'),
  parallel: mapping({
    above_rows: z
      .int({ error: 'expected a whole number' })
      .min(0, { error: 'expected a whole number' })
      .optional()
      .describe(
        'split a first load or full refresh of a table estimated at this many rows or more (default 2000000)',
      ),
    range_rows: positiveInt().optional().describe('rows per key range (default 500000)'),
    workers: positiveInt()
      .optional()
      .describe('key ranges one instance loads at once (default 2); workers: shared instances join in'),
  })
    .optional()
    .describe('load one big table in primary-key ranges at once, each resumable, swapped in when whole'),
}

const tableSchema = mapping({
  name: text('expected a table name or glob').describe(
    'a table name, or a glob (*, ?, [abc]) over source tables',
  ),
  exclude: z.boolean({ error: 'expected true or false' }).optional().describe('drop the matching tables'),
  ...tableSettings,
})

/** The pipeline file as written. */
export const pipelineFileSchema = mapping({
  version: z.literal(1, { error: 'expected 1' }).describe('file format version'),
  name: z
    .string({ error: 'expected a pipeline name' })
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'expected letters, digits, "_" and "-" only' })
    .max(64, { error: 'expected at most 64 characters' })
    .describe('keys the state rows and the run lock'),
  source: connectionSchema.describe('the database read from'),
  target: connectionSchema.describe('the database written to'),
  defaults: mapping(tableSettings).optional().describe('apply to every table unless it says otherwise'),
  concurrency: positiveInt().default(4).describe('tables synced at once'),
  workers: oneOf(['single', 'shared'] as const)
    .default('single')
    .describe('single | shared (several instances share the tables via target locks)'),
  tables: z
    .array(tableSchema, { error: 'expected a list of tables' })
    .min(1, { error: 'expected at least one table' })
    .describe('selectors, in order: a table is claimed by the first entry that matches it'),
  schedule: mapping({
    every: duration('run every interval, e.g. 5m').optional(),
    cron: text('expected a cron expression').optional().describe('e.g. "*/5 * * * *"'),
  })
    .optional()
    .describe('run forever: set every or cron, not both'),
  health: mapping({
    port: z
      .int({ error: 'expected a port number' })
      .min(1, { error: 'expected a port from 1 to 65535' })
      .max(65535, { error: 'expected a port from 1 to 65535' }),
    host: text().default('0.0.0.0'),
  })
    .optional()
    .describe('/healthz, /readyz, /metrics, /status while running on a schedule'),
  notify: mapping({
    webhook: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
    on: z
      .array(oneOf(NOTIFY_EVENTS), { error: 'expected a list of events' })
      .min(1, { error: 'expected at least one event' })
      .default(['failure', 'recovery']),
  })
    .optional()
    .describe('JSON POST (Slack-compatible "text") on failure and on recovery'),
  retry: mapping({
    attempts: positiveInt().default(5).describe('attempts per table for transient errors (1 = no retry)'),
    base_delay: duration('first backoff delay').default('1s'),
    max_delay: duration('longest backoff delay').default('60s'),
  }).default({ attempts: 5, base_delay: '1s', max_delay: '60s' }),
  shutdown_timeout: duration('on SIGTERM, wait this long for running batches').default('30s'),
  query_timeout: duration(
    'abandon (and retry) a read or write that has not finished after this long: a stalled connection never hangs a run',
  ).default('10m'),
}).describe('dbsync pipeline file')

/** The pipeline file after validation and defaults, still in the file's spelling. */
export type PipelineFile = z.output<typeof pipelineFileSchema>
