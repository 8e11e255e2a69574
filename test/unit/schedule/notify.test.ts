import { describe, expect, it } from 'vitest'
import { Notifier, type NotifierOptions, type RunOutcome } from '../../../src/observe/notify.js'
import { registerSecret } from '../../../src/observe/redact.js'

type Call = { url: string; body: Record<string, unknown> }

/** A fetch stand-in answering each call with the next status (the last one repeats). */
function fakeFetch(statuses: number[], calls: Call[]): typeof fetch {
  return (async (url: string, init: RequestInit) => {
    calls.push({ url, body: JSON.parse(String(init.body)) })
    const status = statuses[Math.min(calls.length - 1, statuses.length - 1)] ?? 200
    return new Response('x', { status })
  }) as typeof fetch
}

const failed: RunOutcome = {
  pipeline: 'shop',
  run: '1.000001',
  status: 'failed',
  failedTables: [{ table: 'orders', error: 'boom' }],
}
const ok: RunOutcome = { pipeline: 'shop', run: '2.000001', status: 'ok' }

function notifier(
  statuses: number[],
  calls: Call[],
  opts: NotifierOptions = {},
  on: Array<'failure' | 'recovery'> = ['failure', 'recovery'],
) {
  return new Notifier(
    { webhook: 'http://hook.test/abc', on },
    { fetch: fakeFetch(statuses, calls), baseDelayMs: 1, ...opts },
  )
}

describe('Notifier', () => {
  it('posts a Slack-style message when the pipeline starts failing and when it recovers', async () => {
    const calls: Call[] = []
    const n = notifier([200], calls)
    n.runFinished(ok)
    n.runFinished(failed)
    n.runFinished(failed)
    n.runFinished({ ...failed, status: 'interrupted' })
    n.runFinished(ok)
    n.runFinished(ok)
    await n.flush(1000)
    expect(calls.map((c) => c.body.status)).toEqual(['failure', 'recovery'])
    expect(calls[0]?.body).toMatchObject({
      pipeline: 'shop',
      run: '1.000001',
      failed_runs: 1,
      tables: [{ table: 'orders', error: 'boom' }],
    })
    expect(calls[0]?.body.text).toBe('dbsync pipeline shop is failing (run 1.000001): orders: boom')
    expect(calls[1]?.body.text).toBe(
      'dbsync pipeline shop recovered: run 2.000001 succeeded after 2 failed runs',
    )
  })

  it('sends only the events listed in `on`', async () => {
    const calls: Call[] = []
    const n = notifier([200], calls, {}, ['recovery'])
    n.runFinished(failed)
    n.runFinished(ok)
    await n.flush(1000)
    expect(calls.map((c) => c.body.status)).toEqual(['recovery'])
  })

  it('retries a failing webhook with backoff', async () => {
    const calls: Call[] = []
    const n = notifier([503, 500, 200], calls)
    n.runFinished(failed)
    await n.flush(1000)
    expect(calls).toHaveLength(3)
  })

  it('gives up on a webhook that refuses the message', async () => {
    const calls: Call[] = []
    const n = notifier([404], calls)
    n.runFinished(failed)
    await n.flush(1000)
    expect(calls).toHaveLength(1)
  })

  it('never makes the caller wait, and a hanging webhook times out', async () => {
    let attempts = 0
    // Nothing here keeps the signal referenced (a real request may not either): the attempt's timeout must
    // fire anyway, even when a garbage collection runs meanwhile.
    const hanging = ((_url: string, init: RequestInit) => {
      attempts++
      return new Promise((_resolve, reject) =>
        init.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      )
    }) as typeof fetch
    const n = new Notifier(
      { webhook: 'http://hook.test/x', on: ['failure'] },
      { fetch: hanging, timeoutMs: 300, attempts: 2, baseDelayMs: 1 },
    )
    // runFinished is synchronous: it returns while the first attempt is still hanging.
    expect(n.runFinished(failed)?.status).toBe('failure')
    expect(attempts).toBe(1)
    await n.flush(5000)
    expect(attempts).toBe(2)
  })

  it('redacts secrets from the message body', async () => {
    registerSecret('s3cr3t-notify-test')
    const calls: Call[] = []
    const n = notifier([200], calls)
    n.runFinished({
      ...failed,
      failedTables: [{ table: 'orders', error: 'mysql://u:s3cr3t-notify-test@db failed' }],
    })
    await n.flush(1000)
    expect(JSON.stringify(calls[0]?.body)).not.toContain('s3cr3t-notify-test')
  })
})
