// Waiting between connection attempts: from 0.5 s doubling to 30 s, each wait with up to half of it again at
// random, so that the browsers of a school do not all knock at once after the server was gone (the desktop's
// sync client does the same, app/syncclient).

export const MIN_BACKOFF_MS = 500
export const MAX_BACKOFF_MS = 30_000
/** A connection that lasted this long starts the waits small again. */
export const STABLE_AFTER_MS = 10_000

export class Backoff {
  private current: number
  private readonly min: number
  private readonly max: number
  private readonly random: () => number

  constructor(opts: { minMs?: number; maxMs?: number; random?: () => number } = {}) {
    this.min = opts.minMs ?? MIN_BACKOFF_MS
    this.max = opts.maxMs ?? MAX_BACKOFF_MS
    this.random = opts.random ?? Math.random
    this.current = this.min
  }

  /** The wait before the next attempt; the one after it is twice as long, up to the maximum. */
  next(): number {
    const base = this.current
    this.current = Math.min(2 * this.current, this.max)
    return Math.round(base + this.random() * (base / 2))
  }

  reset(): void {
    this.current = this.min
  }
}
