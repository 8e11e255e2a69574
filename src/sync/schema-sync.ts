import type { TableJob } from './job.js'

/**
 * Bring the target table's definition up to the source's before rows are written: new columns added,
 * widened types widened, nothing dropped. Returns a description of each change applied.
 */
export async function applySchemaChanges(_job: TableJob): Promise<string[]> {
  return []
}
