import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { buildProgram } from '../../src/cli/program.js'
import { loadPipeline } from '../../src/config/load.js'
import { METRIC_NAMES } from '../../src/observe/metrics.js'
import { resolveSchedule } from '../../src/schedule/spec.js'

// No Docker engine runs where the tests do: these checks catch what a `docker build` or `docker compose up`
// would trip on first, a file that is not there or a command that does not exist.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const read = (p: string) => readFileSync(join(root, p), 'utf8')
const pkg = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>
  bin: Record<string, string>
}

interface Service {
  image?: string
  volumes?: string[]
  build?: { context: string; dockerfile: string }
  command?: string[]
  environment?: Record<string, string>
  healthcheck?: { test?: unknown }
  depends_on?: unknown
  restart?: string
  stop_grace_period?: string
}

interface Instruction {
  op: string
  args: string
}

/** Dockerfile instructions, with comments dropped and `\` continuations joined. */
function dockerfile(): Instruction[] {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
  const joined = lines.join('\n').replace(/\\\n/g, ' ')
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/)
      return { op: op.toUpperCase(), args: rest.join(' ') }
    })
}

/** Options each command accepts (program-level ones under ''). */
function knownOptions(): Map<string, Set<string>> {
  const program = buildProgram({ debug: false, exitCode: 0 })
  const flags = (c: Command) =>
    new Set(
      c.options
        .flatMap((o) => [o.long, o.short, o.negate ? o.long : undefined])
        .filter((x): x is string => !!x),
    )
  const out = new Map<string, Set<string>>([['', new Set([...flags(program), '--help', '--version'])]])
  for (const c of program.commands) out.set(c.name(), flags(c))
  return out
}

/** Checks `dbsync [global options] <command> [options]`: the command and every option exist. */
function expectValidCommandLine(args: string[], where: string): string {
  const known = knownOptions()
  const globals = known.get('')!
  let i = 0
  while (i < args.length && args[i]!.startsWith('-')) {
    expect(globals, `${where}: global option ${args[i]}`).toContain(args[i]!.split('=')[0])
    i += args[i]!.includes('=') || ['--version', '--help', '--quiet', '--no-color'].includes(args[i]!) ? 1 : 2
  }
  const command = args[i] ?? ''
  expect([...known.keys()], `${where}: command "${command}"`).toContain(command)
  for (const a of args.slice(i + 1).filter((x) => x.startsWith('-'))) {
    const flag = a.split('=')[0]!
    expect([...known.get(command)!, ...globals], `${where}: option ${flag} of ${command}`).toContain(flag)
  }
  return command
}

/** The words after the `dbsync` command in a shell line, up to a redirection or a command separator. */
function dbsyncWords(line: string): string[] {
  const from = line.slice(line.search(/(?<![\w/.-])dbsync /))
  const cut = from.split(/\s(?:>>?|2>|\|\||&&|;|\|)\s?|;/)[0] ?? ''
  return (cut.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).slice(1).map((w) => w.replace(/^["']|["']$/g, ''))
}

describe('Dockerfile', () => {
  const ins = dockerfile()
  const froms = ins.filter((i) => i.op === 'FROM')

  it('is multi-stage on the official Node LTS slim image', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2)
    for (const f of froms) expect(f.args.split(' ')[0]).toBe('node:20-bookworm-slim')
  })

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
    const copies = ins.filter((i) => (i.op === 'COPY' || i.op === 'ADD') && !i.args.includes('--from='))
    expect(copies.length).toBeGreaterThan(0)
    for (const c of copies) {
      const parts = c.args.split(' ').filter((p) => !p.startsWith('--'))
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(root, src)), `COPY ${src}`).toBe(true)
        expect(ignored, `${src} is in .dockerignore`).not.toContain(src)
        expect(ignored, `${src} is in .dockerignore`).not.toContain(src.split('/')[0])
      }
    }
  })

  it('runs the build steps CI runs, and only npm scripts that exist', () => {
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args)
    const ci = read('.ci/run')
    expect(runs.some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true)
    expect(runs).toContain('npm run build')
    expect(ci).toMatch(/npm ci\b/)
    expect(ci).toContain('npm run build')
    for (const r of runs)
      for (const m of r.matchAll(/npm run (\S+)/g)) expect(Object.keys(pkg.scripts)).toContain(m[1])
    // The runtime stage installs production dependencies only.
    const last = ins.slice(ins.lastIndexOf(froms[froms.length - 1]!))
    expect(last.some((i) => i.op === 'RUN' && i.args.includes('npm ci --omit=dev'))).toBe(true)
  })

  it('ships the compiled CLI that the dbsync entrypoint launches', () => {
    expect(ins.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["dbsync"]')
    const bin = pkg.bin.dbsync!
    expect(existsSync(join(root, bin))).toBe(true)
    expect(ins.some((i) => i.op === 'RUN' && i.args.includes(`/app/${bin} /usr/local/bin/dbsync`))).toBe(true)
    // bin/dbsync.js loads dist/cli/main.js, which the build stage compiles from src/cli/main.ts.
    expect(read(bin)).toContain('../dist/cli/main.js')
    expect(existsSync(join(root, 'src/cli/main.ts'))).toBe(true)
    expect(ins.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build /app/dist'))).toBe(true)
  })

  it('runs as a non-root user with a node-based health check on /healthz', () => {
    const user = ins.filter((i) => i.op === 'USER').pop()?.args
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
    const hc = ins.find((i) => i.op === 'HEALTHCHECK')?.args ?? ''
    expect(hc).toContain('CMD node ')
    expect(hc).toContain('/healthz')
    expect(hc).not.toContain('curl')
  })
})

describe('examples/docker-compose', () => {
  const dir = 'examples/docker-compose'
  const compose = parse(read(`${dir}/docker-compose.yml`)) as { services: Record<string, Service> }
  const svc = compose.services
  const dbsync = svc.dbsync!
  const command = dbsync.command ?? []

  it('has a MySQL 8 source seeded from files in the folder, and a MySQL 8 target', () => {
    expect(svc.source?.image).toBe('mysql:8.0')
    expect(svc.target?.image).toBe('mysql:8.0')
    expect((svc.source?.volumes ?? []).some((v) => v.includes('/docker-entrypoint-initdb.d/'))).toBe(true)
  })

  it('refers only to files that exist', () => {
    for (const [name, s] of Object.entries(svc)) {
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0]!
        if (host.startsWith('.')) expect(existsSync(join(root, dir, host)), `${name}: ${host}`).toBe(true)
      }
    }
    const build = dbsync.build ?? { context: '?', dockerfile: '?' }
    expect(resolve(root, dir, build.context)).toBe(root)
    expect(existsSync(join(root, dir, build.context, build.dockerfile))).toBe(true)
    expect(existsSync(join(root, dir, '.env.example'))).toBe(true)
    expect(existsSync(join(root, dir, 'README.md'))).toBe(true)
  })

  it('runs dbsync with a command, flags and schedule that exist', () => {
    expect(expectValidCommandLine(command, 'compose command')).toBe('sync')
    const every = command[command.indexOf('--every') + 1]
    expect(resolveSchedule({ every })).toEqual({ everyMs: 60_000 })
  })

  it('starts dbsync once both databases are healthy, restarts it, and checks its health', () => {
    for (const name of ['source', 'target', 'dbsync'])
      expect(svc[name]?.healthcheck?.test, name).toBeDefined()
    expect(dbsync.depends_on).toEqual({
      source: { condition: 'service_healthy' },
      target: { condition: 'service_healthy' },
    })
    expect(dbsync.restart).toBe('unless-stopped')
    const port = command.at(-1)
    expect(JSON.stringify(dbsync.healthcheck?.test)).toContain(`127.0.0.1:${port}/healthz`)
    expect(dbsync.environment?.PORT).toBe(port)
  })

  it('gives every required variable a line in .env.example, and the pipeline file loads with them', async () => {
    const text = read(`${dir}/docker-compose.yml`)
    const example = Object.fromEntries(
      read(`${dir}/.env.example`)
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    )
    for (const m of text.matchAll(/\$\{(\w+):\?/g)) expect(Object.keys(example)).toContain(m[1])
    const pipeline = await loadPipeline(join(root, dir, 'pipeline.yaml'), { env: example })
    expect(pipeline.source.host).toBe('source')
    expect(pipeline.target.host).toBe('target')
    expect(pipeline.health?.port).toBe(Number(command.at(-1)))
    expect(pipeline.shutdownTimeoutMs).toBeLessThan(
      Number.parseInt(String(dbsync.stop_grace_period), 10) * 1000,
    )
  })
})

describe('examples/prometheus/alerts.yml', () => {
  const rules = (
    parse(read('examples/prometheus/alerts.yml')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>
    }
  ).groups.flatMap((g) => g.rules)
  // PromQL functions and Prometheus's own `up` series; anything else must be a metric dbsync exports.
  const PROMQL = new Set([
    'min_over_time',
    'max_over_time',
    'time',
    'rate',
    'increase',
    'up',
    'and',
    'or',
    'on',
    'by',
  ])
  const exported = new Set(METRIC_NAMES.flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]))

  it('refers only to metrics dbsync exports', () => {
    for (const r of rules) {
      const bare = r.expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '')
      for (const word of bare.match(/[a-zA-Z_][a-zA-Z0-9_]*/g) ?? []) {
        expect(PROMQL.has(word) || exported.has(word), `${r.alert}: ${word}`).toBe(true)
      }
    }
  })

  it('covers a failing pipeline, lag, waiting pool connections and a stale last success', () => {
    const exprs = rules.map((r) => r.expr).join('\n')
    expect(exprs).toContain('dbsync_consecutive_failures')
    expect(exprs).toContain('dbsync_replication_lag_seconds')
    expect(exprs).toMatch(/dbsync_pool_connections\{state="waiting"\}\[\d+m\]/)
    expect(exprs).toContain('dbsync_last_success_timestamp_seconds')
  })
})

describe('examples/cron and examples/gitlab-ci', () => {
  it('runs only dbsync commands and options that exist from the crontab', () => {
    const lines = read('examples/cron/crontab')
      .split('\n')
      .filter((l) => /(?<![\w/.-])dbsync /.test(l) && !l.trimStart().startsWith('#'))
    expect(lines.length).toBeGreaterThan(0)
    for (const l of lines) expect(expectValidCommandLine(dbsyncWords(l), 'crontab')).toBe('sync')
    expect(read('examples/cron/README.md')).toContain('flock')
  })

  it('validates on merge requests and syncs on a schedule, with commands that exist', () => {
    const ci = parse(read('examples/gitlab-ci/.gitlab-ci.yml')) as Record<
      string,
      { rules?: unknown; script?: string[] }
    >
    expect(JSON.stringify(ci.validate?.rules)).toContain('merge_request_event')
    expect(JSON.stringify(ci.sync?.rules)).toContain('schedule')
    const commands = ['validate', 'sync'].map((job) =>
      (ci[job]?.script ?? [])
        .filter((l) => /(?<![\w/.-])dbsync /.test(l))
        .map((l) => expectValidCommandLine(dbsyncWords(l), `${job} job`)),
    )
    expect(commands).toEqual([['validate'], ['sync']])
  })
})
