import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPipeline } from '../../../src/config/load.js'
import { BASE_ENV, configError } from './helpers.js'

async function pipelineFile(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbsync-verify-'))
  const file = join(dir, 'pipeline.yaml')
  await writeFile(
    file,
    `version: 1\nname: v\nsource:\n  url: \${SOURCE_DATABASE_URL}\ntarget:\n  url: \${TARGET_DATABASE_URL}\n${body}`,
  )
  return file
}

describe('verify: in the pipeline file', () => {
  it('merges the defaults into each table field by field, with the documented defaults', async () => {
    const file = await pipelineFile(`defaults:
  cursor: updated_at
  verify: { every: 6h, max_rows_per_second: 5000 }
tables:
  - name: a
  - name: b
    verify: { repair: false }
`)
    const p = await loadPipeline(file, { env: BASE_ENV })
    expect(p.tables.map((t) => t.verify)).toEqual([
      { everyMs: 6 * 3600_000, repair: true, maxRowsPerSecond: 5000 },
      { everyMs: 6 * 3600_000, repair: false, maxRowsPerSecond: 5000 },
    ])
  })

  it('leaves verification off where nothing sets it, and names a bad value with its line', async () => {
    const off = await loadPipeline(await pipelineFile('tables:\n  - name: a\n'), { env: BASE_ENV })
    expect(off.tables[0]!.verify).toBeUndefined()
    const bad = await pipelineFile('tables:\n  - name: a\n    verify: { every: soon }\n')
    const err = await configError(loadPipeline(bad, { env: BASE_ENV }))
    expect(err.message).toContain(`${bad}:9: tables[0].verify.every: expected a duration`)
  })
})
