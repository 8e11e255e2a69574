import { describe, expect, it } from 'vitest'
import { ALLOWED, checkLayers, importsOf, layerError, longFiles } from '../../../scripts/check-layers.js'

const file = (path: string, text: string) => ({ path, text })

describe('the layering check', () => {
  it('fails a folder that imports a folder after it', () => {
    const { violations } = checkLayers([file('db/x.ts', "import { runSync } from '../sync/run.js'\n")], [])
    expect(violations).toEqual([
      'src/db/x.ts imports src/sync/run.ts: db/ comes before sync/ in the layering, so it may not import it',
    ])
  })

  it('sees type-only imports, re-exports and dynamic imports', () => {
    const text = [
      "import type { Pipeline } from '../../cli/program.js'",
      "export { x } from '../../schedule/loop.js'",
      "const m = await import('../../validate/rules.js')",
    ].join('\n')
    const { violations } = checkLayers([file('state/deep/y.ts', text)], [])
    expect(violations).toHaveLength(3)
    expect(importsOf(file('state/deep/y.ts', text))).toEqual([
      'cli/program.ts',
      'schedule/loop.ts',
      'validate/rules.ts',
    ])
  })

  it('lets a folder import itself, the folders before it and the floor', () => {
    const text = [
      "import { a } from './job.js'",
      "import { b } from '../db/quote.js'",
      "import { c } from '../errors.js'",
      "import { d } from '../observe/log.js'",
      "import { e } from 'kysely'",
    ].join('\n')
    expect(checkLayers([file('sync/x.ts', text)], [])).toEqual({ violations: [], staleAllowed: [] })
  })

  it('keeps the floor below every layer and cli above all', () => {
    expect(layerError('observe/log.ts', 'config/load.ts')).toMatch(/floor/)
    expect(layerError('errors.ts', 'db/quote.ts')).toMatch(/floor/)
    expect(layerError('schedule/loop.ts', 'cli/main.ts')).toMatch(/before cli/)
    expect(layerError('cli/main.ts', 'schedule/loop.ts')).toBeUndefined()
    expect(layerError('newfolder/a.ts', 'db/quote.ts')).toMatch(/in no layer/)
  })

  it('accepts an allow-listed import and reports an allow-list entry nothing uses', () => {
    const files = [file('validate/a.ts', "import { c } from '../sync/codec.js'\n")]
    expect(checkLayers(files, ['validate/a.ts -> sync/codec.ts', 'db/b.ts -> cli/main.ts'])).toEqual({
      violations: [],
      staleAllowed: ['db/b.ts -> cli/main.ts'],
    })
  })

  it('holds for the src/ of this checkout', async () => {
    const { readdirSync, readFileSync } = await import('node:fs')
    const root = new URL('../../../src/', import.meta.url)
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((p) => p.endsWith('.ts'))
      .map((p) => file(p.split('\\').join('/'), readFileSync(new URL(p, root), 'utf8')))
    expect(checkLayers(files, ALLOWED)).toEqual({ violations: [], staleAllowed: [] })
  })
})

describe('the file-length check', () => {
  const lines = (n: number) => `${Array.from({ length: n }, (_, i) => `// ${i}`).join('\n')}\n`

  it('counts physical lines, comments included, and names the file over 300', () => {
    const files = [
      { path: 'sync/ok.ts', text: lines(300) },
      { path: 'sync/long.ts', text: lines(301) },
    ]
    expect(longFiles(files)).toEqual(['sync/long.ts has 301 lines (at most 300): split it'])
  })
})
