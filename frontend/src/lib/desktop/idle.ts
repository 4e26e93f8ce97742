// The idle timer of the desktop app: after so long without any input, the app locks itself (LE5).

/** The events that count as someone using the app. */
export const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'focusin'] as const

export interface IdleTimerOptions {
  /** How long without activity until `onIdle`; 0 or less never fires. */
  timeoutMs: number
  onIdle: () => void
  /**
   * Told of activity at most every `reportEveryMs` (default a minute): the app keeps its own idle timeout too, and
   * typing a long note asks it for no data.
   */
  onActivity?: () => void
  reportEveryMs?: number
  /** The clock; Date.now by default (fake timers replace it in tests). */
  now?: () => number
}

/**
 * Calls `onIdle` once when `activity()` has not been called for `timeoutMs`. Activity only notes the time (cheap
 * enough for every mouse move); a single timer checks it when it is due and sleeps again for what is left, so
 * a throttled timer in a hidden window still measures real time.
 */
export class IdleTimer {
  private readonly timeoutMs: number
  private readonly onIdle: () => void
  private readonly now: () => number
  private readonly onActivity?: () => void
  private readonly reportEveryMs: number
  private last = 0
  private lastReport = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private running = false

  constructor(opts: IdleTimerOptions) {
    this.timeoutMs = opts.timeoutMs
    this.onIdle = opts.onIdle
    this.now = opts.now ?? (() => Date.now())
    this.onActivity = opts.onActivity
    this.reportEveryMs = opts.reportEveryMs ?? 60_000
  }

  get active(): boolean {
    return this.running
  }

  start(): void {
    if (this.running || !(this.timeoutMs > 0)) return
    this.running = true
    this.last = this.now()
    this.lastReport = this.last
    this.schedule(this.timeoutMs)
  }

  /** Someone did something: the timeout starts again. */
  activity(): void {
    if (!this.running) return
    this.last = this.now()
    if (this.onActivity && this.last - this.lastReport >= this.reportEveryMs) {
      this.lastReport = this.last
      this.onActivity()
    }
  }

  stop(): void {
    this.running = false
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms)
  }

  private check(): void {
    this.timer = null
    if (!this.running) return
    const left = this.last + this.timeoutMs - this.now()
    if (left > 0) {
      this.schedule(left)
      return
    }
    this.stop()
    this.onIdle()
  }
}

/** Starts an idle timer fed by the window's input events; the returned function stops both. */
export function watchIdle(target: Pick<Window, 'addEventListener' | 'removeEventListener'>, opts: IdleTimerOptions): () => void {
  const timer = new IdleTimer(opts)
  const onActivity = () => timer.activity()
  for (const name of ACTIVITY_EVENTS) target.addEventListener(name, onActivity, { capture: true, passive: true })
  timer.start()
  return () => {
    timer.stop()
    for (const name of ACTIVITY_EVENTS) target.removeEventListener(name, onActivity, { capture: true })
  }
}
