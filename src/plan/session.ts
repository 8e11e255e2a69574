import type { ResolvedTables } from '../config/select.js'
import type { Pipeline, TableConfig } from '../config/types.js'
import type { Db } from '../db/connect.js'
import { connectPair } from '../db/identity.js'
import { introspect } from '../schema/introspect.js'
import type { TableDef } from '../schema/table-def.js'
import { readState, type SyncState } from '../state/sync-state.js'
import type { Issue } from './issue.js'
import { resolveSelected } from './resolve.js'

// The opening every command that reads both sides shares (plan, sync, diff-schema, validate, the
// scheduler): connect both sides (refusing one database as both), introspect the source, resolve the
// selected tables (refusing names the source lacks), and, when asked, read the target's definitions and
// the saved states. It lives in plan/ because it gathers exactly the planner's inputs, and plan/ may
// import config, db, schema and state (../shared/STYLE.md's order).
//
// Two commands open their connections without it, on purpose. `status` connects to the target alone: it is
// the probe a cron job or a monitor runs, and it must answer (from _sync_state and _sync_runs) when the
// source is down, which is when it matters most; it reads no source definitions. `init` has no pipeline
// yet (it writes one): it introspects every table of a source URL, and checks an optional target URL only
// for being reachable and not the source itself (connectPair), with no selection to resolve and no state.

/** Both sides' pools. */
export interface Pair {
  source: Db
  target: Db
}

export interface SessionOptions {
  /** The --tables list. */
  only?: string[] | undefined
  /**
   * A table (or column) the pipeline names and the source lacks: `refuse` (ConfigError, exit 2; the
   * default), or `keep` it in `missing` (scheduled sync, validate) so the caller reports it.
   */
  missingTables?: 'refuse' | 'keep'
  /** Pools to reuse (the scheduler keeps them open between runs); the session then leaves them open. */
  pair?: Pair | undefined
}

/** An open session: the pools, the source's definitions and the selected tables. */
export interface Session {
  pipeline: Pipeline
  pair: Pair
  tables: TableConfig[]
  sourceDefs: Map<string, TableDef>
  /** What the pipeline names and the source lacks (empty unless `missingTables: 'keep'`). */
  missing: Issue[]
  resolved: ResolvedTables
  views: ReadonlySet<string>
  /** The target's definitions of the selected tables and the pipeline's saved states, read now. */
  readTarget(): Promise<TargetFacts>
  /** Close the pools the session opened (not those it was given). */
  close(): Promise<void>
}

export interface TargetFacts {
  targetDefs: Map<string, TableDef>
  states: Map<string, SyncState>
}

/** Connect, introspect the source and resolve the tables, once; the caller closes the session. */
export async function openSession(pipeline: Pipeline, opts: SessionOptions = {}): Promise<Session> {
  const pair = opts.pair ?? (await connectPair(pipeline))
  const close = async () => {
    if (!opts.pair) await Promise.all([pair.source.close(), pair.target.close()])
  }
  try {
    const selected = await resolveSelected(pipeline, pair.source, opts.only, {
      refuse: opts.missingTables !== 'keep',
    })
    const names = selected.tables.map((t) => t.name)
    return {
      pipeline,
      pair,
      ...selected,
      readTarget: async () => {
        const [targetDefs, states] = await Promise.all([
          names.length ? introspect(pair.target, names) : new Map<string, TableDef>(),
          readState(pair.target, pipeline.name),
        ])
        return { targetDefs, states }
      },
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** Run `work` in a session and close it afterwards, whatever happens. */
export async function withSession<T>(
  pipeline: Pipeline,
  opts: SessionOptions,
  work: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(pipeline, opts)
  try {
    return await work(session)
  } finally {
    await session.close()
  }
}
