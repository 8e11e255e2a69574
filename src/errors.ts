/**
 * Every error the user is meant to read carries its exit code (CONTRACT.md) and, where we know it, the fix.
 * `cli/main.ts` is the only place that turns one into an exit; anything else reaching it is a bug.
 */
export abstract class DbsyncError extends Error {
  abstract readonly exitCode: 1 | 2 | 3 | 4
  constructor(
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The work failed or found a problem: a table failed, drift, a data mismatch. */
export class SyncError extends DbsyncError {
  readonly exitCode = 1
}

/** Usage or configuration error: bad flag, invalid pipeline file, missing variable. */
export class ConfigError extends DbsyncError {
  readonly exitCode = 2
}

/** Could not connect or authenticate to a database. */
export class ConnectError extends DbsyncError {
  readonly exitCode = 3
}

/** Another run of the same pipeline holds the lock. */
export class LockError extends DbsyncError {
  readonly exitCode = 4
}

/**
 * A table's work stopped because the run was asked to stop (SIGINT/SIGTERM): the table is recorded
 * `interrupted`, not `failed`, and what was committed stays (a full refresh leaves the old table).
 */
export class InterruptedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InterruptedError'
  }
}

/** Exhaustiveness guard for `switch` over a union. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`)
}

/** The message of anything thrown, for logs and state rows. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
