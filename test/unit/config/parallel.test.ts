import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPipeline } from '../../../src/config/load.js'
import { DEFAULT_PARALLEL } from '../../../src/config/types.js'
import { BASE_ENV, configError } from './helpers.js'

async function pipelineFile(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbsync-parallel-'))
  const file = join(dir, 'pipeline.yaml')
  await writeFile(
    file,
    `version: 1\nname: p\nsource:\n  url: \${SOURCE_DATABASE_URL}\ntarget:\n  url: \${TARGET_DATABASE_URL}\n${body}`,
  )
  return file
}

describe('parallel: in the pipeline file', () => {
  it('merges the defaults into each table field by field, with the documented defaults', async () => {
    const file = await pipelineFile(`defaults:
  parallel: { range_rows: 100000 }
tables:
  - name: a
  - name: b
    parallel: { above_rows: 0, workers: 8 }
`)
    const p = await loadPipeline(file, { env: BASE_ENV })
    expect(p.tables.map((t) => t.parallel)).toEqual([
      { aboveRows: 2_000_000, rangeRows: 100_000, workers: 2 },
      { aboveRows: 0, rangeRows: 100_000, workers: 8 },
    ])
    expect(DEFAULT_PARALLEL).toEqual({ aboveRows: 2_000_000, rangeRows: 500_000, workers: 2 })
  })

  it('leaves the defaults to the load where nothing sets it, and names a bad value with its line', async () => {
    const off = await loadPipeline(await pipelineFile('tables:\n  - name: a\n'), { env: BASE_ENV })
    expect(off.tables[0]!.parallel).toBeUndefined()
    const bad = await pipelineFile('tables:\n  - name: a\n    parallel: { workers: 0 }\n')
    const err = await configError(loadPipeline(bad, { env: BASE_ENV }))
    expect(err.message).toContain(`${bad}:9: tables[0].parallel.workers: expected a positive integer`)
  })
})
