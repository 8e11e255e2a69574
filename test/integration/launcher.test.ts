import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { COPY_V8_FLAGS, TESTED_NODE_MAJORS } from '../../bin/launcher.js'
import { helpTexts } from '../../src/cli/write-help.js'
import { repoRoot } from '../support/cli.js'

// bin/dbsync.js as a process, in a package without the real dist/: what a checkout is before
// `npm run build`, or (with a stand-in dist/cli/main.js) a CLI that reports on V8's young generation.
const pkg = mkdtempSync(join(tmpdir(), 'dbsync-launcher-'))
mkdirSync(join(pkg, 'bin'))
for (const f of ['dbsync.js', 'launcher.js']) copyFileSync(join(repoRoot, 'bin', f), join(pkg, 'bin', f))
copyFileSync(join(repoRoot, 'package.json'), join(pkg, 'package.json'))

function launch(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(pkg, 'bin', 'dbsync.js'), ...args], { stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })))
}

/**
 * A stand-in for the CLI: it streams short-lived values while keeping a window of them alive, as a copy
 * does, and prints the young generation's size at the start and its largest size.
 */
const YOUNG_GENERATION_PROBE = `import v8 from 'node:v8'
const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
export function main() {
  const start = size()
  let max = start
  const window = []
  for (let i = 0; i < 3_000_000; i++) {
    window.push({ i, text: 'row ' + i })
    if (window.length > 20_000) window.splice(0, 10_000)
    if ((i & 0xffff) === 0) max = Math.max(max, size())
  }
  process.stdout.write(JSON.stringify({ start, max }))
}
`

describe('bin/dbsync.js', () => {
  afterAll(() => rmSync(pkg, { recursive: true, force: true }))

  it('answers --version from package.json without loading the CLI', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string
    }
    const r = await launch('--version')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${version}\n`)
  })

  it('says to run npm run build when dist/ is missing', async () => {
    const r = await launch('sync', '-p', 'x.yaml')
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('dbsync is not built')
    expect(r.stderr).toContain('run npm run build')
    expect(r.stderr).not.toContain('ERR_MODULE_NOT_FOUND')
  })

  it('answers --help, -h and help [command] from the rendered text, without the CLI (no dist/cli here)', async () => {
    const texts = helpTexts()
    const dir = join(pkg, 'dist', 'help')
    mkdirSync(dir, { recursive: true })
    for (const [name, text] of texts) writeFileSync(join(dir, `${name}.txt`), text)
    try {
      for (const args of [['--help'], ['-h'], ['help']]) {
        const r = await launch(...args)
        expect(r.status, args.join(' ')).toBe(0)
        expect(r.stdout).toBe(texts.get('dbsync'))
      }
      expect(texts.get('dbsync')).toContain('Exit codes:')
      const commands = ['init', 'plan', 'sync', 'diff-schema', 'validate', 'status']
      for (const cmd of commands) expect(texts.get(cmd), cmd).toContain(`Usage: dbsync ${cmd} [options]`)
      const answers = await Promise.all(
        commands.flatMap((cmd) =>
          [launch(cmd, '--help'), launch('help', cmd)].map((r) => r.then((a) => ({ cmd, a }))),
        ),
      )
      for (const { cmd, a } of answers) expect(a.stdout, cmd).toBe(texts.get(cmd))
      // Anything else still needs the CLI.
      expect((await launch('sync', '--help', '-p', 'x.yaml')).stderr).toContain('dbsync is not built')
      expect((await launch('nosuch', '--help')).stderr).toContain('dbsync is not built')
    } finally {
      rmSync(join(pkg, 'dist'), { recursive: true, force: true })
    }
  })

  // The contract test of the V8 setting (bin/launcher.js): it fails loudly on a Node version where the
  // flag is gone, no longer holds the young generation down, or is not in TESTED_NODE_MAJORS.
  it('keeps V8 young generation at its start size for sync, and leaves plan with the defaults', async () => {
    mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true })
    writeFileSync(join(pkg, 'dist', 'cli', 'main.js'), YOUNG_GENERATION_PROBE)
    try {
      const node = process.versions.node
      const major = Number(node.split('.')[0])
      expect(TESTED_NODE_MAJORS, `Node ${node} is not a tested version of ${COPY_V8_FLAGS}`).toContain(major)
      const [sync, plan] = await Promise.all([launch('sync', '-p', 'x.yaml'), launch('plan', '-p', 'x.yaml')])
      expect(sync.stderr, 'V8 must know the flag').toBe('')
      const tuned = JSON.parse(sync.stdout) as { start: number; max: number }
      const defaults = JSON.parse(plan.stdout) as { start: number; max: number }
      // Without the setting V8 grows the young generation to 16-32 MB under this load; with it, it stays
      // within one step of its start.
      expect(defaults.max, 'the probe must make V8 grow the young generation').toBeGreaterThan(
        8 * defaults.start,
      )
      expect(tuned.max, `${COPY_V8_FLAGS} must keep the young generation small`).toBeLessThanOrEqual(
        2 * tuned.start,
      )
    } finally {
      rmSync(join(pkg, 'dist'), { recursive: true, force: true })
    }
  })
})
