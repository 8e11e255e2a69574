import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { repoRoot, writeTempPipeline } from '../support/cli.js'
import { pipelineYaml } from '../support/compare.js'

// A finished command whose process something still holds open (here a listening socket nobody closes,
// standing in for a connection half-closed toward a quiet peer) exits anyway after 10 s, with its own exit
// code, and says so; a clean command exits at once (every other test).
describe('exit watchdog', () => {
  it('ends the process 10 s after the command finished, with its exit code and a warning', async () => {
    const main = pathToFileURL(join(repoRoot, 'dist', 'cli', 'main.js')).href
    const file = await writeTempPipeline(
      pipelineYaml({
        name: 'watchdog',
        sourceUrl: 'mysql://reader@db.invalid:3306/shop',
        targetUrl: 'mysql://writer@db.invalid:3306/copy',
        tables: '  - name: orders\n    cursor: updated_at',
      }),
    )
    const script = `
      import { createServer } from 'node:net'
      createServer().listen(0, '127.0.0.1')
      const { main } = await import(${JSON.stringify(main)})
      await main(['node', 'dbsync', 'validate', '-p', ${JSON.stringify(file)}, '--offline', '--log-format', 'json'])
    `
    const started = Date.now()
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const seconds = (Date.now() - started) / 1000
    expect(stdout).toMatch(/valid/)
    expect(code, stderr).toBe(0)
    expect(seconds).toBeGreaterThanOrEqual(9.5)
    expect(seconds).toBeLessThan(30)
    const warning = stderr
      .split('\n')
      .filter((l) => l.includes('"exit_forced"'))
      .map((l) => JSON.parse(l) as { level: string; msg: string })
    expect(warning).toHaveLength(1)
    expect(warning[0]?.msg).toMatch(/still open 10 s after the command finished; exiting/)
  })
})
