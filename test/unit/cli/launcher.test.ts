import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { helpTexts } from '../../../src/cli/write-help.js'
import { cliPath, repoRoot } from '../../support/cli.js'

// A package without dist/: what a checkout is before `npm run build`.
const unbuilt = mkdtempSync(join(tmpdir(), 'dbsync-launcher-'))
mkdirSync(join(unbuilt, 'bin'))
copyFileSync(cliPath, join(unbuilt, 'bin', 'dbsync.js'))
copyFileSync(join(repoRoot, 'package.json'), join(unbuilt, 'package.json'))

function launch(...args: string[]) {
  return spawnSync(process.execPath, [join(unbuilt, 'bin', 'dbsync.js'), ...args], { encoding: 'utf8' })
}

describe('bin/dbsync.js', () => {
  afterAll(() => rmSync(unbuilt, { recursive: true, force: true }))

  it('answers --version from package.json without loading the CLI', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string
    }
    const r = launch('--version')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${version}\n`)
  })

  it('says to run npm run build when dist/ is missing', () => {
    const r = launch('sync', '-p', 'x.yaml')
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('dbsync is not built')
    expect(r.stderr).toContain('run npm run build')
    expect(r.stderr).not.toContain('ERR_MODULE_NOT_FOUND')
  })

  it('is built on npm pack and install (prepare)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
      files: string[]
    }
    expect(pkg.scripts.prepare).toBe('npm run build')
    expect(pkg.files).toContain('dist')
  })

  it('answers --help, -h and help [command] from the rendered text, without the CLI (no dist/cli here)', () => {
    const texts = helpTexts()
    const dir = join(unbuilt, 'dist', 'help')
    mkdirSync(dir, { recursive: true })
    for (const [name, text] of texts) writeFileSync(join(dir, `${name}.txt`), text)
    try {
      for (const args of [['--help'], ['-h'], ['help']]) {
        const r = launch(...args)
        expect(r.status, args.join(' ')).toBe(0)
        expect(r.stdout).toBe(texts.get('dbsync'))
      }
      expect(texts.get('dbsync')).toContain('Exit codes:')
      for (const cmd of ['init', 'plan', 'sync', 'diff-schema', 'validate', 'status']) {
        expect(texts.get(cmd), cmd).toContain(`Usage: dbsync ${cmd} [options]`)
        expect(launch(cmd, '--help').stdout).toBe(texts.get(cmd))
        expect(launch('help', cmd).stdout).toBe(texts.get(cmd))
      }
      // Anything else still needs the CLI.
      expect(launch('sync', '--help', '-p', 'x.yaml').stderr).toContain('dbsync is not built')
      expect(launch('nosuch', '--help').stderr).toContain('dbsync is not built')
    } finally {
      rmSync(join(unbuilt, 'dist'), { recursive: true, force: true })
    }
  })
})
