import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../../src/errors.js'

/** Absolute path of a file under test/fixtures/config/. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/config/${name}`, import.meta.url))
}

/** Absolute path of a file under examples/. */
export function example(name: string): string {
  return fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url))
}

/** 1-based line of the first line of `file` containing `needle`, so tests survive edits above it. */
export function lineOf(file: string, needle: string): number {
  const index = readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(needle))
  if (index === -1) throw new Error(`${needle} not found in ${file}`)
  return index + 1
}

/** The ConfigError a promise rejects with; fails the test on success or on any other error. */
export async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError, but it resolved')
}

/** Environment with both database URLs set, as most fixtures need. */
export const BASE_ENV = {
  SOURCE_DATABASE_URL: 'mysql://reader:src-secret@db.example:3306/shop',
  TARGET_DATABASE_URL: 'mysql://loader:tgt-secret@replica.example:3306/shop',
}
