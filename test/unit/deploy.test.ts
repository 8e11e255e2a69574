import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
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

describe('examples/kubernetes', () => {
  const dir = 'examples/kubernetes'
  const doc = (f: string) => parse(read(`${dir}/${f}`)) as K8sDoc
  const kustomization = parse(read(`${dir}/kustomization.yaml`)) as {
    resources: string[]
    configMapGenerator: Array<{ name: string; files: string[] }>
  }
  const deployment = doc('deployment.yaml')
  const cronjob = doc('cronjob.yaml')
  const pod = deployment.spec.template!.spec
  const container = pod.containers[0]!
  const jobPod = cronjob.spec.jobTemplate!.spec.template.spec
  const flagValue = (args: string[], flag: string) => args[args.indexOf(flag) + 1]!

  it('names only files that exist, from the kustomization and the README', () => {
    const files = [...kustomization.resources, ...kustomization.configMapGenerator.flatMap((g) => g.files)]
    for (const f of files) expect(existsSync(join(root, dir, f)), f).toBe(true)
    for (const m of read(`${dir}/README.md`).matchAll(/`([\w-]+\.yaml)`/g))
      expect(existsSync(join(root, dir, m[1]!)), m[1]).toBe(true)
    expect(kustomization.configMapGenerator[0]?.name).toBe(
      pod.volumes.find((v) => v.configMap)?.configMap?.name,
    )
  })

  it('runs three replicas of the scheduled mode with probes on /healthz and /readyz', () => {
    expect(deployment.kind).toBe('Deployment')
    expect(deployment.spec.replicas).toBe(3)
    expect(expectValidCommandLine(container.args, 'deployment args')).toBe('sync')
    expect(resolveSchedule({ every: flagValue(container.args, '--every') })).toEqual({ everyMs: 300_000 })
    const port = Number(flagValue(container.args, '--health-port'))
    expect(container.ports?.[0]?.containerPort).toBe(port)
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz')
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz')
    for (const probe of [container.livenessProbe, container.readinessProbe])
      expect(probe?.httpGet?.port).toBe(container.ports?.[0]?.name)
    expect(container.resources?.requests?.memory).toBeDefined()
    expect(container.resources?.requests?.cpu).toBeDefined()
  })

  it('names each pod as the instance, a variable dbsync reads', () => {
    for (const c of [container, jobPod.containers[0]!]) {
      const env = c.env?.find((e) => e.name === 'DBSYNC_INSTANCE')
      expect(env?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
    }
    expect(read('src/state/claims.ts')).toContain('process.env.DBSYNC_INSTANCE')
  })

  it('mounts the pipeline where --pipeline points and the passwords where password_file points', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'dbsync-k8s-'))
    writeFileSync(join(tmp, 'src'), 'pw\n')
    writeFileSync(join(tmp, 'tgt'), 'pw\n')
    const pipeline = await loadPipeline(join(root, dir, 'pipeline.yaml'), {
      env: { SOURCE_PASSWORD_FILE: join(tmp, 'src'), TARGET_PASSWORD_FILE: join(tmp, 'tgt') },
    })
    expect(pipeline.workers).toBe('shared')
    // No schedule in the file: the CronJob's `sync` runs once, the Deployment's --every makes it scheduled.
    expect(pipeline.schedule).toBeUndefined()
    const text = read(`${dir}/pipeline.yaml`)
    const secret = doc('secret.yaml')
    for (const [p, c] of [
      [pod, container],
      [jobPod, jobPod.containers[0]!],
    ] as const) {
      const mountOf = (kind: 'configMap' | 'secret') => {
        const volume = p.volumes.find((v) => v[kind])!
        return c.volumeMounts.find((m) => m.name === volume.name)!.mountPath
      }
      expect(dirname(flagValue(c.args, '--pipeline'))).toBe(mountOf('configMap'))
      expect(p.volumes.find((v) => v.secret)?.secret?.secretName).toBe(secret.metadata.name)
      for (const m of text.matchAll(/password_file: \$\{\w+:-([^}]+)\}/g)) {
        expect(dirname(m[1]!)).toBe(mountOf('secret'))
        expect(Object.keys(secret.stringData ?? {})).toContain(m[1]!.split('/').pop())
      }
    }
    // The pod is given longer to stop than dbsync waits for its running batches.
    expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(pipeline.shutdownTimeoutMs)
  })

  it('runs one-shot syncs from a CronJob that never overlap itself', () => {
    expect(cronjob.kind).toBe('CronJob')
    expect(cronjob.spec.concurrencyPolicy).toBe('Forbid')
    expect(resolveSchedule({ cron: cronjob.spec.schedule })).toEqual({ cron: '*/5 * * * *' })
    const args = jobPod.containers[0]!.args
    expect(expectValidCommandLine(args, 'cronjob args')).toBe('sync')
    expect(args).not.toContain('--every')
    expect(args).not.toContain('--cron')
  })

  it('keeps a PodDisruptionBudget over the Deployment pods', () => {
    const pdb = doc('pdb.yaml')
    expect(pdb.kind).toBe('PodDisruptionBudget')
    expect(pdb.spec.maxUnavailable).toBe(1)
    expect(pdb.spec.selector?.matchLabels).toEqual(deployment.spec.selector?.matchLabels)
    expect(deployment.spec.template!.metadata.labels).toMatchObject(pdb.spec.selector!.matchLabels)
  })
})

interface K8sContainer {
  args: string[]
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>
  ports?: Array<{ name: string; containerPort: number }>
  livenessProbe?: { httpGet?: { path: string; port: string | number } }
  readinessProbe?: { httpGet?: { path: string; port: string | number } }
  resources?: { requests?: { cpu?: string; memory?: string } }
  volumeMounts: Array<{ name: string; mountPath: string }>
}

interface K8sPodSpec {
  containers: K8sContainer[]
  volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>
  terminationGracePeriodSeconds?: number
}

interface K8sDoc {
  kind: string
  metadata: { name: string }
  stringData?: Record<string, string>
  spec: {
    replicas?: number
    schedule?: string
    concurrencyPolicy?: string
    maxUnavailable?: number
    selector?: { matchLabels: Record<string, string> }
    template?: { metadata: { labels: Record<string, string> }; spec: K8sPodSpec }
    jobTemplate?: { spec: { template: { spec: K8sPodSpec } } }
  }
}
