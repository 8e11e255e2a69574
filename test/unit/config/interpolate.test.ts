// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the syntax under test
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { interpolateDocument } from '../../../src/config/interpolate.js'
import { ConfigError } from '../../../src/errors.js'

function interpolate(text: string, env: Record<string, string | undefined>): unknown {
  const doc = parseDocument(text)
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length
  interpolateDocument(doc, env, 'p.yaml', lineOf)
  return doc.toJS()
}

function failure(text: string, env: Record<string, string | undefined>): ConfigError {
  try {
    interpolate(text, env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('interpolateDocument', () => {
  it('replaces ${VAR} and ${VAR:-default} in values, never in keys', () => {
    expect(interpolate('a: x-${A}-y\nb: ${B:-dflt}\n${A}: 1\n', { A: 'one', B: '' })).toEqual({
      a: 'x-one-y',
      b: 'dflt',
      '${A}': 1,
    })
  })

  it('types an unquoted value that is exactly a reference, and keeps a quoted one a string', () => {
    expect(interpolate('n: ${N}\nq: "${N}"\nt: ${T}\ns: ${S}\n', { N: '4', T: 'true', S: '4 x' })).toEqual({
      n: 4,
      q: '4',
      t: true,
      s: '4 x',
    })
  })

  it('reads $${ as a literal ${', () => {
    expect(interpolate('a: pa$${ss\n', {})).toEqual({ a: 'pa${ss' })
  })

  it('names the line and the missing variable', () => {
    const err = failure('a: 1\nb: ${MISSING}\n', {})
    expect(err.message).toBe('p.yaml:2: variable MISSING is not set')
    expect(err.hint).toMatch(/\$\{MISSING:-default\}/)
  })

  it('never quotes a url or webhook value in an error, since it may hold a password', () => {
    expect(failure('url: mysql://u:p${w@h/db\n', {}).message).toBe('p.yaml:1: unclosed "${"')
    expect(failure('url: mysql://u:${p w}@h/db\n', {}).message).toBe('p.yaml:1: bad variable reference')
    expect(failure('x: ${p w}\n', {}).message).toBe('p.yaml:1: bad variable reference "${p w}"')
  })
})
