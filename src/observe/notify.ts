import { hostname } from 'node:os'
import { withDeadline } from './deadline.js'
import { type Logger, log } from './log.js'
import { redact } from './redact.js'

export type NotifyEvent = 'failure' | 'recovery'

export interface NotifyConfig {
  webhook: string
  on: NotifyEvent[]
}

/** What a finished run looked like, as far as notifications care. */
export interface RunOutcome {
  pipeline: string
  /** The load id; null when the run failed before it got one (e.g. could not connect). */
  run: string | null
  status: 'ok' | 'failed' | 'interrupted' | 'locked'
  error?: string
  failedTables?: Array<{ table: string; error?: string }>
}

/** The JSON body posted to the webhook. `text` is what Slack, Mattermost and Teams-style hooks display. */
export interface NotifyMessage {
  text: string
  pipeline: string
  status: NotifyEvent
  run: string | null
  host: string
  at: string
  /** Failed runs in a row: on failure 1, on recovery how many there were. */
  failed_runs: number
  error?: string
  tables?: Array<{ table: string; error?: string }>
}

export interface NotifierOptions {
  /** Per attempt. */
  timeoutMs?: number
  attempts?: number
  baseDelayMs?: number
  fetch?: typeof fetch
  /** Carries the pipeline field; the process logger by default. */
  logger?: Logger
}

/**
 * Posts on state changes, not on every run: one message when the pipeline starts failing and one when
 * the first run after failures succeeds. A pipeline that keeps failing is the alert rules' job
 * (dbsync_consecutive_failures), not a message every interval. Interrupted and locked runs change nothing.
 *
 * Delivery is fire and forget: `runFinished` returns at once, each attempt has a timeout, and failures are
 * retried with backoff then logged. The sync never waits for a webhook.
 */
export class Notifier {
  private failing = 0
  private readonly pending = new Set<Promise<void>>()
  private readonly controller = new AbortController()
  private readonly timeoutMs: number
  private readonly attempts: number
  private readonly baseDelayMs: number
  private readonly fetchFn: typeof fetch
  private readonly logger: Logger

  constructor(
    private readonly config: NotifyConfig,
    opts: NotifierOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5_000
    this.attempts = opts.attempts ?? 3
    this.baseDelayMs = opts.baseDelayMs ?? 1_000
    this.fetchFn = opts.fetch ?? fetch
    this.logger = opts.logger ?? log()
  }

  /** Decide whether this outcome is a failure or a recovery, and if so post it in the background. */
  runFinished(outcome: RunOutcome): NotifyMessage | undefined {
    let message: NotifyMessage | undefined
    if (outcome.status === 'failed') {
      this.failing++
      if (this.failing === 1) message = this.message('failure', outcome, 1)
    } else if (outcome.status === 'ok' && this.failing > 0) {
      message = this.message('recovery', outcome, this.failing)
      this.failing = 0
    }
    if (!message || !this.config.on.includes(message.status)) return undefined
    const p = this.deliver(message).finally(() => this.pending.delete(p))
    this.pending.add(p)
    return message
  }

  /** Wait up to `timeoutMs` for messages in flight (at shutdown), then give up on them. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return
    await withDeadline(Promise.allSettled([...this.pending]), timeoutMs, () => undefined)
    this.controller.abort()
  }

  private message(status: NotifyEvent, o: RunOutcome, failedRuns: number): NotifyMessage {
    const failedTables = o.failedTables ?? []
    const detail = failedTables.length
      ? failedTables.map((t) => `${t.table}: ${t.error ?? 'failed'}`).join('; ')
      : (o.error ?? 'failed')
    const text =
      status === 'failure'
        ? `dbsync pipeline ${o.pipeline} is failing${o.run ? ` (run ${o.run})` : ''}: ${detail}`
        : `dbsync pipeline ${o.pipeline} recovered: run ${o.run ?? '?'} succeeded after ${failedRuns} failed run${failedRuns === 1 ? '' : 's'}`
    return {
      text,
      pipeline: o.pipeline,
      status,
      run: o.run,
      host: hostname(),
      at: new Date().toISOString(),
      failed_runs: failedRuns,
      ...(status === 'failure' && o.error ? { error: o.error } : {}),
      ...(status === 'failure' && failedTables.length ? { tables: failedTables } : {}),
    }
  }

  private async deliver(message: NotifyMessage): Promise<void> {
    // Redact the whole body: error texts can quote anything, and the webhook URL is itself a secret.
    const body = redact(JSON.stringify(message))
    let lastError = ''
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (this.controller.signal.aborted) break
      // The attempt's own timer, not AbortSignal.timeout: on Node 20 a timeout signal that only an
      // AbortSignal.any() refers to can be garbage-collected before it fires, leaving the attempt hanging.
      const attemptTimeout = new AbortController()
      const timer = setTimeout(
        () => attemptTimeout.abort(new DOMException(`no answer in ${this.timeoutMs} ms`, 'TimeoutError')),
        this.timeoutMs,
      )
      try {
        const res = await this.fetchFn(this.config.webhook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.controller.signal, attemptTimeout.signal]),
        })
        await res.body?.cancel().catch(() => undefined)
        if (res.ok) {
          this.logger.info(
            { event: 'notify_sent', notify: message.status, attempt },
            `webhook: ${message.status} sent`,
          )
          return
        }
        lastError = `HTTP ${res.status}`
        // A 4xx other than 429 means the hook refuses this message; retrying would not change that.
        if (res.status >= 400 && res.status < 500 && res.status !== 429) break
      } catch (err) {
        lastError = (err as Error).message
      } finally {
        clearTimeout(timer)
      }
      if (attempt < this.attempts) await this.pause(this.baseDelayMs * 2 ** (attempt - 1))
    }
    this.logger.warn(
      { event: 'notify_failed', notify: message.status, error: lastError },
      `webhook: could not send the ${message.status} message: ${lastError}`,
    )
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.controller.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          resolve()
        },
        { once: true },
      )
    })
  }
}
