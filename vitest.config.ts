import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts the throwaway source and target servers once per run (or checks the external ones).
    globalSetup: 'test/support/global-setup.ts',
    // Sized for a loaded 2-core machine (CI, or a second suite running beside this one): integration tests
    // run CLIs against real servers, and a busy machine can make one take several times its idle duration.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // Stopping two servers gracefully takes a few seconds; the default 10 s is tight on a busy machine.
    teardownTimeout: 60_000,
    // CI machines have 2 cores, and the servers need some of them.
    maxWorkers: 2,
  },
})
