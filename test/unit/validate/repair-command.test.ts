import { describe, expect, it } from 'vitest'
import { repairCommand } from '../../../src/validate/data.js'

describe('repairCommand', () => {
  it('names the pipeline file and the differing tables', () => {
    expect(repairCommand('/etc/dbsync/shop.yaml', ['orders', 'items'])).toBe(
      'dbsync sync --repair -p /etc/dbsync/shop.yaml --tables orders,items',
    )
  })

  it('quotes what a shell would split or expand, and repeats the --env file', () => {
    expect(repairCommand("/tmp/my pipes/it's.yaml", ['a$b'], '/run/x.env')).toBe(
      `dbsync sync --repair -p '/tmp/my pipes/it'\\''s.yaml' --tables 'a$b' --env /run/x.env`,
    )
  })
})
