import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../../src/config/load.js'
import { redact } from '../../../src/observe/redact.js'
import { BASE_ENV, configError, fixture } from './helpers.js'

const PIPELINE = `version: 1
name: \${PIPELINE_NAME}
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
tables:
  - name: customers
`

// .env files are git-ignored, so these tests write theirs into a fresh directory.
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbsync-config-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function write(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe(`loadPipeline: \${VAR} substitution`, () => {
  it(`uses the default of \${VAR:-default} when the variable is unset or empty`, async () => {
    const pipeline = await loadPipeline(fixture('variables.yaml'), {
      env: { ...BASE_ENV, CURSOR_COLUMN: '' },
    })
    expect(pipeline.name).toBe('shop')
    expect(pipeline.tables[0]?.cursor).toEqual(['updated_at'])
    expect(pipeline.tables[0]?.pattern).toBe('shop_orders')
  })

  it('uses the variable over the default, inside a longer string too', async () => {
    const env = { ...BASE_ENV, PIPELINE_NAME: 'eu', TABLE_PREFIX: 'eu', CURSOR_COLUMN: 'modified_at' }
    const pipeline = await loadPipeline(fixture('variables.yaml'), { env })
    expect(pipeline.name).toBe('eu')
    expect(pipeline.tables[0]?.pattern).toBe('eu_orders')
    expect(pipeline.tables[0]?.cursor).toEqual(['modified_at'])
  })

  it(`reads an unquoted \${VAR} that holds a number as a number`, async () => {
    const pipeline = await loadPipeline(fixture('variables.yaml'), {
      env: { ...BASE_ENV, DBSYNC_TEST_CONCURRENCY: '7' },
    })
    expect(pipeline.concurrency).toBe(7)
  })

  it(`keeps $\${...} as a literal \${...}`, async () => {
    const pipeline = await loadPipeline(fixture('variables.yaml'), { env: BASE_ENV })
    expect(pipeline.tables[1]?.cursor).toEqual([`\${NOT_A_VARIABLE}`])
  })

  it('rejects a malformed reference at its line', async () => {
    const file = write('p.yaml', PIPELINE.replace(`\${PIPELINE_NAME}`, `\${PIPELINE NAME}`))
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toBe(`${file}:2: bad variable reference "\${PIPELINE NAME}"`)
  })
})

describe('loadPipeline: where variables come from', () => {
  it('reads a .env file beside the pipeline file', async () => {
    const file = write('p.yaml', PIPELINE)
    write('.env', '# comment\nexport PIPELINE_NAME="from-dotenv" # trailing\n')
    const pipeline = await loadPipeline(file, { env: BASE_ENV })
    expect(pipeline.name).toBe('from-dotenv')
  })

  it('lets --env-file override the .env beside the file', async () => {
    const file = write('p.yaml', PIPELINE)
    write('.env', 'PIPELINE_NAME=from-dotenv\n')
    const envFile = write('prod.env', "PIPELINE_NAME='from-env-file'\n")
    const pipeline = await loadPipeline(file, { env: BASE_ENV, envFile })
    expect(pipeline.name).toBe('from-env-file')
  })

  it('lets the environment win over both files', async () => {
    const file = write('p.yaml', PIPELINE)
    write('.env', 'PIPELINE_NAME=from-dotenv\n')
    const envFile = write('prod.env', 'PIPELINE_NAME=from-env-file\n')
    const pipeline = await loadPipeline(file, { env: { ...BASE_ENV, PIPELINE_NAME: 'from-env' }, envFile })
    expect(pipeline.name).toBe('from-env')
  })

  it('takes the database URLs from .env and registers their passwords as secrets', async () => {
    const file = write('p.yaml', PIPELINE)
    write(
      '.env',
      'PIPELINE_NAME=shop\nSOURCE_DATABASE_URL=mysql://r:Dotenv-src-pw@h/d\nTARGET_DATABASE_URL=mysql://w:Dotenv-tgt%23pw@h/d\n',
    )
    const pipeline = await loadPipeline(file, { env: {} })
    expect(pipeline.source.password).toBe('Dotenv-src-pw')
    expect(pipeline.target.password).toBe('Dotenv-tgt#pw')
    expect(redact('a Dotenv-src-pw b Dotenv-tgt#pw')).toBe('a *** b ***')
  })

  it('fails when --env-file names a missing file', async () => {
    const file = write('p.yaml', PIPELINE)
    const err = await configError(loadPipeline(file, { env: BASE_ENV, envFile: join(dir, 'nope.env') }))
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe(`cannot read env file ${join(dir, 'nope.env')} (ENOENT)`)
  })
})

describe('loadPipeline: passwords stay out of errors', () => {
  const password = 'Sup3r-secret-pw'

  it.each([
    ['a URL without a database', `mysql://app:${password}@db:3306`, PIPELINE],
    ['a URL with a bad port', `mysql://app:${encodeURIComponent(`${password}@x`)}@db:0/d`, PIPELINE],
    ['a URL with an unknown parameter', `mysql://app:${password}@db/d?pasword=x`, PIPELINE],
    ['a wrong type elsewhere', `mysql://app:${password}@db/d`, `${PIPELINE}concurrency: many\n`],
    ['an unknown key', `mysql://app:${password}@db/d`, `${PIPELINE}concurency: 2\n`],
  ])('keeps the password out of the message for %s', async (_, url, text) => {
    const file = write('p.yaml', text)
    const err = await configError(
      loadPipeline(file, { env: { ...BASE_ENV, PIPELINE_NAME: 'x', SOURCE_DATABASE_URL: url } }),
    )
    expect(`${err.message}\n${err.hint}`).not.toContain('Sup3r')
  })

  it('keeps a password written in the file out of a YAML syntax error', async () => {
    const file = write('p.yaml', `version: 1\nsource:\n  url: mysql://app:${password}@db/d\n  pool: max: 3\n`)
    const err = await configError(loadPipeline(file, { env: BASE_ENV }))
    expect(err.message).toMatch(/:4: /)
    expect(`${err.message}\n${err.hint}`).not.toContain('Sup3r')
  })

  it('keeps the password_file contents out of errors', async () => {
    write('pw.txt', `${password}\n`)
    const retry = 'retry: { base_delay: 10s, max_delay: 1s }\n'
    const file = write(
      'p.yaml',
      PIPELINE.replace('tables:', '  password_file: pw.txt\ntables:').concat(retry),
    )
    const err = await configError(loadPipeline(file, { env: { ...BASE_ENV, PIPELINE_NAME: 'x' } }))
    expect(err.message).toContain('retry.max_delay is shorter than retry.base_delay')
    expect(`${err.message}\n${err.hint}`).not.toContain('Sup3r')
  })
})

describe('loadPipeline: a stray "$" and "{" in a literal URL', () => {
  it('does not quote the URL text in the error', async () => {
    const file = write(
      'p.yaml',
      PIPELINE.replace(`\${SOURCE_DATABASE_URL}`, `mysql://app:Sup3r\${pw x}@db/d`),
    )
    const err = await configError(loadPipeline(file, { env: { ...BASE_ENV, PIPELINE_NAME: 'x' } }))
    expect(err.message).toBe(`${file}:4: bad variable reference`)
  })
})
