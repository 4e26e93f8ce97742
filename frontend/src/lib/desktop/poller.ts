// Asking again and again (the pending device's status), one request at a time, until stopped.

export interface PollerOptions {
  intervalMs: number
  /** One round; a thrown error is handed to `onError` and polling goes on. */
  task: () => Promise<unknown>
  onError?: (err: unknown) => void
}

/**
 * Runs `task` every `intervalMs` after the previous round ended (never two at once). `stop()` ends it for good:
 * no new round starts, also not after a round that is still under way.
 */
export class Poller {
  private readonly opts: PollerOptions
  private timer: ReturnType<typeof setTimeout> | null = null
  private running = false
  private inFlight = false

  constructor(opts: PollerOptions) {
    this.opts = opts
  }

  get active(): boolean {
    return this.running
  }

  /** Starts polling; the first round comes after one interval (or at once with `immediately`). */
  start(opts: { immediately?: boolean } = {}): void {
    if (this.running) return
    this.running = true
    if (opts.immediately) void this.round()
    else this.schedule()
  }

  stop(): void {
    this.running = false
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(): void {
    if (!this.running || this.timer !== null || this.inFlight) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.round()
    }, this.opts.intervalMs)
  }

  private async round(): Promise<void> {
    if (!this.running || this.inFlight) return
    this.inFlight = true
    try {
      await this.opts.task()
    } catch (err) {
      this.opts.onError?.(err)
    } finally {
      this.inFlight = false
    }
    this.schedule()
  }
}

/**
 * Polls while the page is visible: hidden (the window minimised), it stops, and it starts again at once when the
 * page comes back. The returned function stops it for good.
 */
export function pollWhileVisible(doc: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>, opts: PollerOptions): () => void {
  const poller = new Poller(opts)
  const onVisibility = () => {
    if (doc.visibilityState === 'hidden') poller.stop()
    else poller.start({ immediately: true })
  }
  doc.addEventListener('visibilitychange', onVisibility)
  if (doc.visibilityState !== 'hidden') poller.start()
  return () => {
    doc.removeEventListener('visibilitychange', onVisibility)
    poller.stop()
  }
}
