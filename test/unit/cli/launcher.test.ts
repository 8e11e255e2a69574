import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  COPY_V8_FLAGS,
  commandOf,
  GLOBAL_OPTIONS_WITH_VALUE,
  helpFile,
  TESTED_NODE_MAJORS,
  tuneV8ForCopies,
} from '../../../bin/launcher.js'
import { buildProgram } from '../../../src/cli/program.js'
import { repoRoot } from '../../support/cli.js'

// The launcher's decisions, asked directly; what it does as a process (help and --version without the CLI,
// the V8 setting taking hold) is test/integration/launcher.test.ts.

const dir = new URL('file:///pkg/dist/help/')
const named = (args: string[]) => helpFile(args, dir)?.pathname.split('/').pop() ?? null

describe('bin/launcher.js helpFile', () => {
  it('answers --help, -h and help from the whole help text', () => {
    for (const args of [['--help'], ['-h'], ['help']]) expect(named(args), args.join(' ')).toBe('dbsync.txt')
  })

  it('answers `<command> --help`, `<command> -h` and `help <command>` from the command text', () => {
    for (const args of [
      ['sync', '--help'],
      ['sync', '-h'],
      ['help', 'sync'],
      ['diff-schema', '-h'],
    ])
      expect(named(args), args.join(' ')).toBe(`${args.find((a) => a !== 'help' && !a.startsWith('-'))}.txt`)
  })

  it('leaves anything else to the CLI', () => {
    for (const args of [[], ['sync'], ['sync', '--help', '-p', 'x.yaml'], ['--version'], ['../x', '--help']])
      expect(named(args), args.join(' ')).toBeNull()
  })
})

describe('bin/launcher.js tuneV8ForCopies', () => {
  const tuned = (args: string[], node = '20.19.0') => {
    const set: string[] = []
    const returned = tuneV8ForCopies(args, node, (f) => set.push(f))
    expect(returned).toEqual(set)
    return set
  }

  it('tunes V8 for sync, whatever its options and the global options before it', () => {
    for (const args of [
      ['sync', '-p', 'x.yaml'],
      ['sync', '--repair', '--tables', 'orders'],
      ['sync', '--every', '5m', '--health-port', '8080'],
      ['--log-level', 'debug', '--env', 'sync', 'sync', '--full-refresh'],
      ['--quiet', '--log-format=json', 'sync'],
    ])
      expect(tuned(args), args.join(' ')).toEqual(COPY_V8_FLAGS)
  })

  it('leaves V8 alone for the commands that copy nothing, help included', () => {
    for (const args of [
      ['plan', '-p', 'sync.yaml'],
      ['validate', '--data', '--tables', 'sync'],
      ['status'],
      ['init', '--source', 'mysql://h/sync'],
      ['diff-schema'],
      ['help', 'sync'],
      ['--env', 'sync', 'plan'],
      ['--version'],
      [],
    ])
      expect(tuned(args), args.join(' ')).toEqual([])
  })

  it('sets nothing on a Node version the contract test has not passed on', () => {
    expect(TESTED_NODE_MAJORS).toContain(20)
    expect(tuned(['sync'], '99.0.0')).toEqual([])
  })

  it('knows every global option of the program that takes a value', () => {
    const program = buildProgram({ debug: false, exitCode: 0 })
    const withValue = program.options.filter((o) => o.required || o.optional).map((o) => o.long)
    expect([...GLOBAL_OPTIONS_WITH_VALUE].sort()).toEqual(withValue.sort())
    expect(commandOf(['--env', 'sync', 'plan'])).toBe('plan')
  })
})

describe('package.json', () => {
  it('is built on npm pack and install (prepare)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
      files: string[]
    }
    expect(pkg.scripts.prepare).toBe('npm run build')
    expect(pkg.files).toContain('dist')
    expect(pkg.files).toContain('bin')
  })
})
