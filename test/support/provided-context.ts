import type { ServerInfo } from './servers.js'

/** The servers global-setup.ts started, as handed to fault tests. */
export interface TestServers {
  source: ServerInfo
  target: ServerInfo
}

// What global-setup.ts hands to test files through vitest's provide()/inject(). A .ts module rather than
// a .d.ts, so that importing it for its types also works at run time.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Source server URL without a database, e.g. `mysql://root@127.0.0.1:PORT`. */
    sourceUrl: string
    /** Target server URL without a database. */
    targetUrl: string
    /**
     * The throwaway servers (pids, data dirs, start arguments) for fault tests, which pass them to
     * `attachServer()`; null when DBSYNC_TEST_SOURCE_URL/DBSYNC_TEST_TARGET_URL point at external servers.
     */
    servers: TestServers | null
    /** A folder for this run's temp files (writeTempPipeline); global teardown removes it. */
    tempDir: string
  }
}
