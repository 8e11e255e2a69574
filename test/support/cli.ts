import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inject } from 'vitest'
import './provided-context.js'

/** The repository root, two levels above test/support/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The launcher the published package runs; it loads dist/, so `npm run build` must have run. */
export const cliPath = join(repoRoot, 'bin', 'dbsync.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface RunCliOptions {
  /** Added to (and overriding) the inherited environment. */
  env?: Record<string, string>
  cwd?: string
  /** Written to stdin; without it stdin is closed at once so a prompt cannot hang the test. */
  input?: string
  /** Kills the CLI after this long; defaults to 50 s, under vitest's 60 s test timeout. */
  timeoutMs?: number
}

/**
 * Runs `node bin/dbsync.js ...args` and collects its exit code and output. Color is off by default so
 * assertions see plain text. A CLI killed by a signal reports 128 + the signal number, as a shell would.
 */
export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 50_000
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const result = {
        exitCode: code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }
      if (timedOut) {
        reject(
          new Error(
            `dbsync ${args.join(' ')} did not finish within ${timeoutMs} ms\n` +
              `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
          ),
        )
        return
      }
      resolvePromise(result)
    })
    // The CLI may exit before reading its input; that EPIPE is not the test's concern.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/**
 * A pipeline file whose URLs come from SOURCE_DATABASE_URL and TARGET_DATABASE_URL (as runCli passes them),
 * with `head` lines before `tables:` and `tables` (YAML lines) under it.
 */
export function envPipelineYaml(name: string, tables: string[], head: string[] = []): string {
  return [
    'version: 1',
    `name: ${name}`,
    'source:',
    `  url: \${SOURCE_DATABASE_URL}`,
    'target:',
    `  url: \${TARGET_DATABASE_URL}`,
    ...head,
    'tables:',
    ...tables,
    '',
  ].join('\n')
}

/** Writes `yamlText` to pipeline.yaml in a fresh temp folder and returns the file's path. */
export async function writeTempPipeline(yamlText: string): Promise<string> {
  // Under the run's folder, which the global teardown removes: vitest stops its workers with a signal, so
  // a worker's own exit handlers would not run.
  const dir = await mkdtemp(join(inject('tempDir'), 'pipeline-'))
  const file = join(dir, 'pipeline.yaml')
  await writeFile(file, yamlText)
  return file
}
