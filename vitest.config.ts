import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts the throwaway source and target servers once per run (or checks the external ones).
    globalSetup: 'test/support/global-setup.ts',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Stopping two servers gracefully takes a few seconds; the default 10 s is tight on a busy machine.
    teardownTimeout: 60_000,
    // CI machines have 2 cores, and the servers need some of them.
    maxWorkers: 2,
  },
})
