import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { claimTable, liveRunName, lockInUse, lockName, type RunLock, tryLock } from '../db/lock.js'
import { assertNever, errorMessage, LockError } from '../errors.js'
import { redact } from '../observe/redact.js'
import {
  claimHolder,
  ensureClaimsTable,
  instanceName,
  recordClaim,
  syncedSince,
  targetNow,
} from '../state/claims.js'
import type { SyncEvents } from './events.js'
import type { TableResult } from './job.js'

const HELD = 'held by another instance'

/** What a table may do in this run: go ahead under `lock`, or be left to another instance. */
export type TableEntry =
  | { kind: 'run'; lock: Pick<RunLock, 'held'>; release(): Promise<void>; reread: boolean }
  | { kind: 'skip'; reason: string; heldBy: string | null }
  | { kind: 'fail'; error: string }

/** Decides, table by table, whether this run works on it. */
export interface TableGate {
  enter(table: string): Promise<TableEntry>
  /** Let go of what the gate holds for the whole run. */
  close(): Promise<void>
}

/** `workers: single`: the run lock covers every table. */
export function runLockGate(lock: RunLock): TableGate {
  return {
    enter: async () => ({ kind: 'run', lock, release: async () => {}, reread: false }),
    close: async () => {},
  }
}

/**
 * `workers: shared`: each table is worked on under its own claim (db/lock.ts claimTable). A table whose
 * claim another instance holds is skipped, and so is one another instance synced since this run began.
 * An exclusive run (`exclusive`: it holds the pipeline lock, for a --full-refresh of every table) waits for
 * each claim instead, up to the query timeout, and refreshes every table.
 */
export async function sharedGate(
  target: Db,
  pipeline: Pipeline,
  loadId: string,
  mode: { exclusive: boolean; skipSynced: boolean },
): Promise<TableGate> {
  const instance = instanceName()
  if (!mode.exclusive && (await lockInUse(target, lockName(pipeline.name)))) {
    // A run that must be alone (a full refresh of every table) holds the pipeline: this one waits its turn.
    throw new LockError(
      `pipeline lock "${lockName(pipeline.name)}" is held by a run that must be alone (a full refresh) on ${target.address}`,
      'this instance takes tables again at its next run, once that run ends',
    )
  }
  await ensureClaimsTable(target)
  const since = await targetNow(target)
  const waitSeconds = mode.exclusive ? Math.ceil(pipeline.queryTimeoutMs / 1000) : 0
  // Held for the whole run, so `status` can tell a live shared run from an abandoned one.
  const live = mode.exclusive
    ? null
    : await tryLock(target, liveRunName(pipeline.name, loadId), `run ${loadId}'s lock`)
  return {
    close: async () => {
      await live?.release()
    },
    async enter(table) {
      const claim = await claimTable(target, pipeline.name, table, waitSeconds)
      if (!claim) {
        if (mode.exclusive) {
          return {
            kind: 'fail',
            error: `another instance kept working on the table for ${waitSeconds} s; run the full refresh again`,
          }
        }
        const heldBy = await claimHolder(target, pipeline.name, table).catch(() => null)
        return { kind: 'skip', reason: HELD, heldBy }
      }
      try {
        if (mode.skipSynced && (await syncedSince(target, pipeline.name, table, since))) {
          await claim.release()
          return { kind: 'skip', reason: 'synced by another instance during this run', heldBy: null }
        }
        await recordClaim(target, { pipeline: pipeline.name, table, instance, loadId })
      } catch (err) {
        await claim.release()
        throw err
      }
      return { kind: 'run', lock: claim, release: () => claim.release(), reread: true }
    },
  }
}

/**
 * Run one table through the gate: sync it under its lock (the claim released once its end is recorded),
 * or report it skipped or failed without touching it. A gate that cannot ask the target fails the table.
 */
export async function runGated(
  gate: TableGate,
  config: TableConfig,
  events: Pick<SyncEvents, 'tableEnd'>,
  sync: (lock: Pick<RunLock, 'held'>, reread: boolean) => Promise<TableResult>,
  /** A skipped table: work the holder shares (its key ranges, range-load.ts), if any. */
  help?: (result: TableResult) => Promise<void>,
): Promise<TableResult> {
  let entry: TableEntry
  try {
    entry = await gate.enter(config.name)
  } catch (err) {
    entry = { kind: 'fail', error: `could not take the table's claim: ${redact(errorMessage(err))}` }
  }
  switch (entry.kind) {
    case 'run':
      try {
        return await sync(entry.lock, entry.reread)
      } finally {
        await entry.release()
      }
    case 'skip': {
      const result = { ...blankResult(config.name, config.strategy, 'skipped'), held_by: entry.heldBy }
      result.warnings.push(entry.heldBy ? `${entry.reason}: ${entry.heldBy}` : entry.reason)
      if (entry.reason === HELD) await help?.(result)
      events.tableEnd?.(result)
      return result
    }
    case 'fail': {
      const result = blankResult(config.name, config.strategy, 'failed')
      result.error = entry.error
      events.tableEnd?.(result)
      return result
    }
    default:
      return assertNever(entry)
  }
}

/** A result for a table no rows were read for. */
export function blankResult(
  table: string,
  strategy: TableResult['strategy'],
  status: TableResult['status'],
): TableResult {
  return {
    table,
    strategy,
    status,
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    seconds: 0,
    schemaChanges: [],
    profile: { readWaitMs: 0, encodeMs: 0, writeMs: 0, indexMs: 0 },
    warnings: [],
  }
}
