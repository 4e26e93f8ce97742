// The desktop app's word that its local data changed (docs/desktop.md): inside the Wails window the runtime
// event `pult:changed`, outside it (the devserver of the browser tests) the Server-Sent Events of
// GET /api/v1/device/events, event `changed`.

import { Backoff } from './backoff'

export const CHANGED_EVENT = 'pult:changed'
export const DEVICE_EVENTS_PATH = '/api/v1/device/events'

/** The part of the Wails v2 runtime (`window.runtime`) this uses: EventsOn answers a function that stops it. */
export interface WailsRuntime {
  EventsOn(eventName: string, callback: (...data: unknown[]) => void): (() => void) | void
  EventsOff?(eventName: string, ...more: string[]): void
}

/** The part of the browser's EventSource this uses. */
export interface EventSourceLike {
  readonly readyState: number
  onopen: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  addEventListener(type: string, listener: () => void): void
  close(): void
}

export interface DesktopEventsEnv {
  /** `window.runtime` inside the Wails window; undefined elsewhere. */
  runtime?: Partial<WailsRuntime> | null
  /** Opens an EventSource; the browser's by default. */
  openEventSource?: (url: string) => EventSourceLike
  random?: () => number
}

const CLOSED = 2

/** The Wails runtime of this window, if it is the desktop app's window. */
export function wailsRuntime(win: unknown): WailsRuntime | null {
  const runtime = (win as { runtime?: Partial<WailsRuntime> } | null)?.runtime
  return runtime && typeof runtime.EventsOn === 'function' ? (runtime as WailsRuntime) : null
}

/**
 * Calls `onChanged` whenever the desktop app says that its data changed, and also when the event stream comes
 * back after it broke (what changed meanwhile is unknown). Returns how to stop listening.
 */
export function watchDesktopChanges(env: DesktopEventsEnv, onChanged: () => void): () => void {
  const runtime = env.runtime && typeof env.runtime.EventsOn === 'function' ? (env.runtime as WailsRuntime) : null
  if (runtime) {
    const off = runtime.EventsOn(CHANGED_EVENT, () => onChanged())
    return () => {
      if (typeof off === 'function') off()
      else runtime.EventsOff?.(CHANGED_EVENT)
    }
  }
  return watchEventStream(env, onChanged)
}

function watchEventStream(env: DesktopEventsEnv, onChanged: () => void): () => void {
  const open = env.openEventSource ?? ((url: string) => new EventSource(url) as unknown as EventSourceLike)
  const backoff = new Backoff({ random: env.random })
  let source: EventSourceLike | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = false
  let openedBefore = false

  const connect = () => {
    if (stopped) return
    const es = open(DEVICE_EVENTS_PATH)
    source = es
    es.addEventListener('changed', () => {
      if (source === es) onChanged()
    })
    es.onopen = () => {
      if (source !== es) return
      backoff.reset()
      if (openedBefore) onChanged()
      openedBefore = true
    }
    es.onerror = () => {
      if (source !== es) return
      // The browser reconnects by itself unless the stream failed for good (an error answer, say).
      if (es.readyState !== CLOSED) return
      es.close()
      source = null
      timer = setTimeout(() => {
        timer = null
        connect()
      }, backoff.next())
    }
  }
  connect()

  return () => {
    stopped = true
    if (timer !== null) clearTimeout(timer)
    timer = null
    if (source) {
      source.onopen = source.onerror = null
      source.close()
    }
    source = null
  }
}
