import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { tuneMemoryForCopies } from '../../../src/cli/main.js'

// V8's young generation is kept small for the commands that copy data only (sync/memory.ts): not for
// plan, validate, status, init or diff-schema.
describe('tuneMemoryForCopies', () => {
  function program(): Command {
    const p = new Command().exitOverride()
    for (const name of ['sync', 'plan', 'validate', 'status']) p.command(name).action(() => undefined)
    return p
  }

  it('tunes memory for sync, once it is the command that runs', async () => {
    let tuned = 0
    const p = program()
    tuneMemoryForCopies(p, () => tuned++)
    await p.parseAsync(['node', 'dbsync', 'sync'])
    expect(tuned).toBe(1)
  })

  it('leaves V8 alone for the commands that copy nothing', async () => {
    for (const name of ['plan', 'validate', 'status']) {
      let tuned = 0
      const p = program()
      tuneMemoryForCopies(p, () => tuned++)
      await p.parseAsync(['node', 'dbsync', name])
      expect(tuned, name).toBe(0)
    }
  })
})
