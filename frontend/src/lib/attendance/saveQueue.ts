export type SaveState = 'idle' | 'saving' | 'saved' | 'failed'

/**
 * Saves one row's changes one after another, so the last change is the one that ends up saved.
 * While a request is on its way, newer values wait; only the newest waiting value is sent next.
 * A failed value is kept for retry() unless a newer value supersedes it.
 */
export class LatestWinsQueue<V> {
  state: SaveState = 'idle'
  error: unknown = null
  private pending: { value: V } | null = null
  private failed: { value: V } | null = null
  private running: Promise<void> | null = null
  private readonly send: (value: V) => Promise<unknown>
  private readonly onState: (queue: LatestWinsQueue<V>) => void

  constructor(send: (value: V) => Promise<unknown>, onState: (queue: LatestWinsQueue<V>) => void = () => {}) {
    this.send = send
    this.onState = onState
  }

  get busy(): boolean {
    return this.running !== null
  }

  push(value: V): void {
    this.failed = null
    if (this.running) {
      this.pending = { value }
      return
    }
    this.running = this.run(value)
  }

  /** Sends the failed value again; false when there is nothing to retry. */
  retry(): boolean {
    if (!this.failed || this.running) return false
    const { value } = this.failed
    this.failed = null
    this.running = this.run(value)
    return true
  }

  /** Resolves when nothing is on its way any more. */
  async settled(): Promise<void> {
    while (this.running) await this.running
  }

  private setState(state: SaveState): void {
    this.state = state
    this.onState(this)
  }

  private async run(first: V): Promise<void> {
    this.setState('saving')
    let value = first
    for (;;) {
      let error: unknown = null
      let ok = true
      try {
        await this.send(value)
      } catch (err) {
        ok = false
        error = err
      }
      if (this.pending) {
        value = this.pending.value
        this.pending = null
        continue
      }
      this.running = null
      if (ok) {
        this.error = null
        this.setState('saved')
      } else {
        this.error = error
        this.failed = { value }
        this.setState('failed')
      }
      return
    }
  }
}
