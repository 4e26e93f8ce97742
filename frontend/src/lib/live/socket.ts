// The browser's own sync connection (docs/sync-protocol.md): it asks only for what changes from now on
// (cursor -1) and tells the views what changed, so they show it without a reload. A browser is no desktop
// device: it pushes nothing and takes no control messages.

import { Backoff, STABLE_AFTER_MS } from './backoff'
import { liveChangesOf, type LiveChange } from './changes'

export const SYNC_PATH = '/api/v1/sync'
export const PROTOCOL_VERSION = 1

/** The part of the browser's WebSocket this uses. */
export interface SocketLike {
  readonly readyState: number
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason?: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type SocketFactory = (url: string) => SocketLike

export interface LiveSocketOptions {
  url: string
  /** Opens a socket; the browser's WebSocket by default. */
  connect?: SocketFactory
  /** Records changed (by anyone, this browser too). */
  onChanges: (changes: LiveChange[]) => void
  /** Connected again after the connection was gone: what changed meanwhile is unknown. */
  onResync: () => void
  /** The server says the session has ended: the person has to log in again. No reconnect follows. */
  onUnauthenticated: () => void
  /**
   * Asked when a connection ended before the server welcomed it (e.g. refused for want of a session): false
   * means the session is gone (then as onUnauthenticated), true or an error that it is worth trying again.
   */
  checkSession?: () => Promise<boolean>
  random?: () => number
  now?: () => number
  log?: (message: string, detail?: unknown) => void
}

/** ws: or wss: to the sync path of the page's own origin. */
export function syncUrl(loc: Pick<Location, 'protocol' | 'host'>): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${SYNC_PATH}`
}

/**
 * Keeps a sync connection open until stop(): says hello, hands the changes of every `changes` message on,
 * ignores control messages, and reconnects with jittered backoff when the connection drops.
 */
export class LiveSocket {
  private readonly opts: LiveSocketOptions
  private readonly backoff: Backoff
  private readonly now: () => number
  private socket: SocketLike | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private stopped = true
  /** A connection was welcomed before: the next welcome means that changes may have been missed. */
  private welcomedBefore = false
  private welcomedAt = 0

  constructor(opts: LiveSocketOptions) {
    this.opts = opts
    this.backoff = new Backoff({ random: opts.random })
    this.now = opts.now ?? Date.now
  }

  /** Whether it is running (connected, connecting or waiting to reconnect). */
  get active(): boolean {
    return !this.stopped
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.connect()
  }

  /** Closes the connection for good (logout, another host). */
  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const socket = this.socket
    this.socket = null
    if (socket) {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null
      try {
        socket.close(1000, 'bye')
      } catch {
        // closed already
      }
    }
  }

  private connect(): void {
    if (this.stopped) return
    let socket: SocketLike
    try {
      socket = (this.opts.connect ?? browserSocket)(this.opts.url)
    } catch (err) {
      this.log('cannot open the sync connection', err)
      this.scheduleReconnect(false)
      return
    }
    this.socket = socket
    let welcomed = false
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, cursor: -1 }))
    }
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return
      const msg = parse(ev.data)
      if (!msg) {
        this.log('a sync message that is not JSON')
        return
      }
      switch (msg.type) {
        case 'welcome':
          welcomed = true
          this.welcomedAt = this.now()
          if (this.welcomedBefore) this.opts.onResync()
          this.welcomedBefore = true
          break
        case 'changes': {
          const changes = liveChangesOf(msg.changes)
          if (changes.length > 0) this.opts.onChanges(changes)
          break
        }
        case 'error':
          if (msg.code === 'unauthenticated') {
            this.ended()
            return
          }
          // The server closes the connection next; it is opened again after a wait.
          this.log('the sync connection reports an error', msg.code)
          break
        default:
          // wipe, lock, policy, ack: for desktop devices, which a browser is not.
          break
      }
    }
    socket.onerror = () => {
      // A close follows.
    }
    socket.onclose = (ev) => {
      if (this.socket !== socket) return
      this.socket = null
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null
      if (this.stopped) return
      this.log('the sync connection closed', ev.code)
      const stable = welcomed && this.now() - this.welcomedAt >= STABLE_AFTER_MS
      this.scheduleReconnect(stable)
      if (!welcomed) this.checkSession()
    }
  }

  private scheduleReconnect(stable: boolean): void {
    if (this.stopped || this.timer !== null) return
    if (stable) this.backoff.reset()
    const wait = this.backoff.next()
    this.timer = setTimeout(() => {
      this.timer = null
      this.connect()
    }, wait)
  }

  private checkSession(): void {
    const check = this.opts.checkSession
    if (!check) return
    check().then(
      (ok) => {
        if (!ok && !this.stopped) this.ended()
      },
      () => {
        // Unknown (offline, say): keep trying.
      },
    )
  }

  /** The session has ended: stop, and let the person log in again. */
  private ended(): void {
    this.stop()
    this.opts.onUnauthenticated()
  }

  private log(message: string, detail?: unknown): void {
    ;(this.opts.log ?? ((m: string, d?: unknown) => console.debug(`pult: ${m}`, d ?? '')))(message, detail)
  }
}

function parse(data: unknown): { type?: unknown; changes?: unknown; code?: unknown } | null {
  if (typeof data !== 'string') return null
  try {
    const v: unknown = JSON.parse(data)
    return typeof v === 'object' && v !== null ? (v as { type?: unknown }) : null
  } catch {
    return null
  }
}

function browserSocket(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike
}
