import { defineConfig } from 'vitest/config'

// Two tiers: `unit` needs no server and runs in seconds (`npm run test:unit`); `integration` starts the
// throwaway source and target servers once per run, or checks the external ones (`npm run test:integration`).
// `npm test` runs both.
export default defineConfig({
  test: {
    // CI machines have 2 cores, and the servers need some of them.
    maxWorkers: 2,
    // Stopping two servers gracefully takes a few seconds; the default 10 s is tight on a busy machine.
    teardownTimeout: 60_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // No process is started here (those tests are integration tests), so the files share worker
          // threads and their module cache: each file importing commander, kysely, zod and mysql2 anew cost
          // most of the tier's time (43 s → 11 s on a loaded 2-core machine). A test leaves no global
          // state behind (fake timers are restored in afterEach).
          pool: 'threads',
          isolate: false,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', '**/node_modules/**'],
          globalSetup: 'test/support/global-setup.ts',
          // Sized for a loaded 2-core machine (CI, or a second suite running beside this one): these tests
          // run CLIs against real servers, and a busy machine can make one take several times its idle
          // duration.
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
})
