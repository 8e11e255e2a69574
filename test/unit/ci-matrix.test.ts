import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// examples/ci cannot run here (no container engine): these checks catch what a CI run would trip on
// first, a file that is not there, an npm script that does not exist, a server missing from the matrix,
// or server flags that differ between the GitHub and GitLab versions.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const read = (p: string) => readFileSync(join(root, p), 'utf8')
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts

const IMAGES = ['mysql:5.7', 'mysql:8.0', 'mysql:8.4', 'mariadb:10.6', 'mariadb:10.11', 'mariadb:11.4']
const flavor = (image: string) => image.split(':')[0]

/** The server flags start-server.sh passes, one `--flag=value` per line of its flags=( … ) array. */
function startServerFlags(): string[] {
  const body = /\nflags=\(\n([\s\S]*?)\n\)/.exec(read('examples/ci/start-server.sh'))?.[1] ?? ''
  return body.split('\n').map((l) => l.trim())
}

/** Every shell line must name only repository files that exist and npm scripts that exist. */
function expectRealCommand(line: string, where: string): void {
  for (const path of line.match(/examples\/ci\/[\w.-]+/g) ?? []) {
    expect(existsSync(join(root, path)), `${where}: ${path}`).toBe(true)
    if (path.endsWith('.sh')) accessSync(join(root, path), constants.X_OK)
  }
  const npm = /\bnpm (?:run )?([\w:-]+)/.exec(line)?.[1]
  if (npm && !['ci', 'install'].includes(npm))
    expect(Object.keys(scripts), `${where}: npm ${npm}`).toContain(npm)
}

interface Pair {
  source: string
  target: string
}

function expectFullMatrix(pairs: Pair[]): void {
  for (const image of IMAGES)
    expect(pairs, `${image} on both sides`).toContainEqual({ source: image, target: image })
  expect(pairs.some((p) => flavor(p.source) === 'mysql' && flavor(p.target) === 'mariadb')).toBe(true)
  expect(pairs.some((p) => flavor(p.source) === 'mariadb' && flavor(p.target) === 'mysql')).toBe(true)
}

describe('examples/ci/github-actions-matrix.yml', () => {
  const wf = parse(read('examples/ci/github-actions-matrix.yml')) as {
    jobs: Record<
      string,
      {
        strategy: { matrix: { include: Pair[] } }
        env: Record<string, string>
        steps: Array<{ run?: string; uses?: string }>
      }
    >
  }
  const job = Object.values(wf.jobs)[0]!

  it('runs every MySQL and MariaDB version on both sides, and across flavors both ways', () => {
    expectFullMatrix(job.strategy.matrix.include)
  })

  it('starts the two servers on the ports the test URLs name, waits for them, then runs the suite', () => {
    const runs = job.steps.flatMap((s) => (s.run ? [s.run] : []))
    for (const [side, variable] of [
      ['source', 'DBSYNC_TEST_SOURCE_URL'],
      ['target', 'DBSYNC_TEST_TARGET_URL'],
    ] as const) {
      const port = new URL(job.env[variable]!).port
      expect(runs).toContain(`examples/ci/start-server.sh ${side} "\${{ matrix.${side} }}" ${port}`)
      expect(new URL(job.env[variable]!).password).toBe(job.env.DBSYNC_CI_ROOT_PASSWORD)
    }
    const order = ['start-server.sh target', 'wait-for-servers.mjs', 'npm test'].map((s) =>
      runs.findIndex((r) => r.includes(s)),
    )
    expect(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!))).toBe(true)
    for (const r of runs)
      for (const line of r.split('\n')) expectRealCommand(line, 'github-actions-matrix.yml')
  })
})

describe('examples/ci/gitlab-ci-matrix.yml', () => {
  const ci = parse(read('examples/ci/gitlab-ci-matrix.yml'), { merge: true }) as Record<
    string,
    {
      parallel?: { matrix: Array<{ SOURCE_IMAGE: string; TARGET_IMAGE: string }> }
      services?: Array<{ name: string; alias: string; command: string[] }>
      variables?: Record<string, string>
      script?: string[]
    }
  >
  const job = ci['dbsync-matrix']!

  it('runs every MySQL and MariaDB version on both sides, and across flavors both ways', () => {
    expectFullMatrix(job.parallel!.matrix.map((m) => ({ source: m.SOURCE_IMAGE, target: m.TARGET_IMAGE })))
  })

  it('gives both services the flags start-server.sh uses, under the hosts the test URLs name', () => {
    expect(job.services!.map((s) => [s.name, s.alias])).toEqual([
      ['$SOURCE_IMAGE', 'source'],
      ['$TARGET_IMAGE', 'target'],
    ])
    for (const s of job.services!) expect(s.command).toEqual(startServerFlags())
    expect(new URL(job.variables!.DBSYNC_TEST_SOURCE_URL!).hostname).toBe('source')
    expect(new URL(job.variables!.DBSYNC_TEST_TARGET_URL!).hostname).toBe('target')
    for (const line of job.script!) expectRealCommand(line, 'gitlab-ci-matrix.yml')
    expect(job.script).toContain('npm test')
  })
})

describe('examples/ci/start-server.sh', () => {
  it('starts servers the way the suite needs them: LOAD DATA LOCAL on, no binary log', () => {
    const flags = startServerFlags()
    expect(flags).toContain('--local-infile=1')
    expect(flags).toContain('--skip-log-bin')
    expect(flags.every((f) => /^--[a-z-]+=?\S*$/.test(f))).toBe(true)
  })

  it('is documented in README together with the variables it feeds', () => {
    const readme = read('README.md')
    for (const s of ['examples/ci', 'DBSYNC_TEST_SOURCE_URL', 'DBSYNC_TEST_TARGET_URL', 'start-server.sh'])
      expect(readme).toContain(s)
  })
})
