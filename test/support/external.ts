import { describe, inject, it } from 'vitest'
import './provided-context.js'

/**
 * True when the run uses servers named by DBSYNC_TEST_SOURCE_URL / DBSYNC_TEST_TARGET_URL (global-setup.ts)
 * rather than throwaway ones it started. Tests that need a server process of their own (started with
 * startServer(): other flags, a TLS setup, a server to kill) then skip, naming what they need: such a run
 * may have no server binaries at all (a CI job with MySQL in containers), and a server it started would
 * not be the flavor under test anyway.
 */
export const EXTERNAL_SERVERS = inject('servers') === null

/** The text a skipped test carries in its name, so that the report says why it did not run. */
export function skipReason(needs: string): string {
  return `skipped against external servers: needs ${needs}`
}

/**
 * `describe` and `it` for tests that start a server of their own: as usual with throwaway servers, and
 * skipped with the reason in the test's name when the run uses external ones.
 *   const own = ownServer('a target server started with --local-infile=0')
 *   own.describe('a target that refuses LOAD DATA LOCAL INFILE', () => { ... })
 */
export function ownServer(needs: string) {
  const label = (name: string) => (EXTERNAL_SERVERS ? `${name} [${skipReason(needs)}]` : name)
  return {
    describe: (name: string, fn: () => void) =>
      (EXTERNAL_SERVERS ? describe.skip : describe)(label(name), fn),
    it: (name: string, fn: () => Promise<void>, timeout?: number) =>
      (EXTERNAL_SERVERS ? it.skip : it)(label(name), fn, timeout),
    /** `describe.each(cases)(name, fn)`. */
    each:
      <T extends unknown[]>(cases: T[]) =>
      (name: string, fn: (...args: T) => void) =>
        (EXTERNAL_SERVERS ? describe.skip : describe).each(cases)(label(name), fn as never),
  }
}
