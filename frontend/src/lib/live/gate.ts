// Live updates only while someone uses the page. A refetch is a request like any other: the backend counts it as
// use of the session (so a shared PC left open would never time out), and the desktop app's handler counts it as
// use of the app. So while nobody touches the page (no input for a while, or the page hidden), changes are held
// back, and one "something changed" follows as soon as someone is back.

import { ACTIVITY_EVENTS } from '../desktop/idle'
import type { ChangeBatch } from './changes'

/** Without input for this long, changes wait for the person to come back. */
export const HOLD_AFTER_MS = 2 * 60_000

export interface LiveGateOptions {
  holdAfterMs?: number
  now?: () => number
  /** Whether the page is visible now. */
  visible?: () => boolean
}

export class LiveGate {
  private readonly emit: (batch: ChangeBatch) => void
  private readonly holdAfterMs: number
  private readonly now: () => number
  private readonly visible: () => boolean
  private lastInput: number
  private held = false

  constructor(emit: (batch: ChangeBatch) => void, opts: LiveGateOptions = {}) {
    this.emit = emit
    this.holdAfterMs = opts.holdAfterMs ?? HOLD_AFTER_MS
    this.now = opts.now ?? Date.now
    this.visible = opts.visible ?? (() => true)
    this.lastInput = this.now()
  }

  /** Whether changes go through now. */
  get open(): boolean {
    return this.visible() && this.now() - this.lastInput < this.holdAfterMs
  }

  /** Whether changes are waiting for the person to come back. */
  get holding(): boolean {
    return this.held
  }

  /** Changes arrived: passed on, or held until someone is back. */
  offer(batch: ChangeBatch): void {
    if (this.open) this.emit(batch)
    else this.held = true
  }

  /** Someone uses the page (input, or the page shown again): what was held goes out as one unknown change. */
  activity(): void {
    this.lastInput = this.now()
    if (this.held && this.open) {
      this.held = false
      this.emit(null)
    }
  }
}

type Target = Pick<Window, 'addEventListener' | 'removeEventListener'>
type Doc = Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>

/** A gate fed by the window's input events and the page's visibility; the returned function stops feeding it. */
export function watchPresence(win: Target, doc: Doc, emit: (batch: ChangeBatch) => void, opts: LiveGateOptions = {}): { gate: LiveGate; stop: () => void } {
  const gate = new LiveGate(emit, { visible: () => doc.visibilityState !== 'hidden', ...opts })
  const onInput = () => gate.activity()
  const onVisibility = () => {
    if (doc.visibilityState !== 'hidden') gate.activity()
  }
  for (const name of ACTIVITY_EVENTS) win.addEventListener(name, onInput, { capture: true, passive: true })
  doc.addEventListener('visibilitychange', onVisibility)
  return {
    gate,
    stop: () => {
      for (const name of ACTIVITY_EVENTS) win.removeEventListener(name, onInput, { capture: true })
      doc.removeEventListener('visibilitychange', onVisibility)
    },
  }
}
