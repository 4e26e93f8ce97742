import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LiveChange } from './changes'
import { LiveSocket, syncUrl, type LiveSocketOptions, type SocketLike } from './socket'

/** A WebSocket played by the test: it records what is sent and is opened, fed and closed by hand. */
class FakeSocket implements SocketLike {
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  readonly sent: unknown[] = []
  closedWith: number | null = null

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }

  close(code = 1000): void {
    this.closedWith = code
    this.readyState = 3
  }

  // The server's side.
  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  receive(message: unknown): void {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) })
  }

  drop(code = 1006): void {
    this.readyState = 3
    this.onerror?.({})
    this.onclose?.({ code })
  }
}

function setup(extra: Partial<LiveSocketOptions> = {}) {
  const sockets: FakeSocket[] = []
  const changes: LiveChange[][] = []
  const onResync = vi.fn()
  const onUnauthenticated = vi.fn()
  const log = vi.fn()
  const live = new LiveSocket({
    url: 'wss://pult.example/api/v1/sync',
    connect: (url) => {
      const s = new FakeSocket(url)
      sockets.push(s)
      return s
    },
    onChanges: (c) => changes.push(c),
    onResync,
    onUnauthenticated,
    random: () => 0,
    log,
    ...extra,
  })
  const last = () => sockets[sockets.length - 1]
  /** Opens the newest socket and has the server welcome it. */
  const welcome = () => {
    last().open()
    last().receive({ type: 'welcome', version: 1 })
  }
  return { live, sockets, changes, onResync, onUnauthenticated, log, last, welcome }
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('syncUrl', () => {
  it('is ws: or wss: to the sync path of the page’s origin', () => {
    expect(syncUrl({ protocol: 'https:', host: 'pult.schule.ch' })).toBe('wss://pult.schule.ch/api/v1/sync')
    expect(syncUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/v1/sync')
  })
})

describe('LiveSocket', () => {
  it('says hello with cursor -1 once the connection is open', () => {
    const { live, sockets, last } = setup()
    live.start()
    live.start() // a second start opens no second connection
    expect(sockets).toHaveLength(1)
    expect(last().url).toBe('wss://pult.example/api/v1/sync')
    expect(last().sent).toEqual([])
    last().open()
    expect(last().sent).toEqual([{ type: 'hello', version: 1, cursor: -1 }])
    expect(live.active).toBe(true)
  })

  it('hands on the kinds and scopes of every changes message with changes', () => {
    const { live, changes, welcome, last } = setup()
    live.start()
    welcome()
    last().receive({
      type: 'changes',
      cursor: 42,
      more: false,
      changes: [
        { id: 'a1', kind: 'attendance', scopeId: 'c1', parentId: 'l1', seq: 42, clocks: {}, deleted: false, fields: {} },
        { id: 'l2', kind: 'lesson', scopeId: 'c1', parentId: 'c1', seq: 41, clocks: {}, deleted: true, fields: {} },
      ],
    })
    last().receive({ type: 'changes', cursor: 42, more: false })
    last().receive({ type: 'changes', changes: [] })
    expect(changes).toEqual([
      [
        { id: 'a1', kind: 'attendance', scopeId: 'c1', parentId: 'l1' },
        { id: 'l2', kind: 'lesson', scopeId: 'c1', parentId: 'c1' },
      ],
    ])
  })

  it('ignores control messages, acks, unknown types and frames that are not JSON', () => {
    const { live, changes, welcome, last, onUnauthenticated, onResync, sockets } = setup()
    live.start()
    welcome()
    for (const m of [{ type: 'wipe' }, { type: 'lock' }, { type: 'policy', policy: { maxPinAttempts: 5 } }, { type: 'ack', batch: 'b' }, { type: 'new' }]) {
      last().receive(m)
    }
    last().receive('not json')
    last().onmessage?.({ data: new ArrayBuffer(2) })
    expect(last().sent).toHaveLength(1) // only the hello: never a "wiped"
    expect(last().closedWith).toBeNull()
    expect(changes).toEqual([])
    expect(onUnauthenticated).not.toHaveBeenCalled()
    expect(onResync).not.toHaveBeenCalled()
    expect(sockets).toHaveLength(1)
  })

  it('reconnects with backoff from 0.5 s doubling, and asks for a resync once welcomed again', async () => {
    const { live, sockets, welcome, last, onResync } = setup({ checkSession: async () => true })
    live.start()
    welcome()
    expect(onResync).not.toHaveBeenCalled()
    last().drop(1001)
    const waits: number[] = []
    // The server stays away: each attempt fails before a welcome.
    for (let i = 0; i < 8; i++) {
      const before = sockets.length
      let waited = 0
      while (sockets.length === before) {
        await vi.advanceTimersByTimeAsync(100)
        waited += 100
      }
      waits.push(waited)
      last().drop()
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
    await vi.advanceTimersByTimeAsync(30_000)
    welcome()
    expect(onResync).toHaveBeenCalledTimes(1)
    expect(last().sent).toEqual([{ type: 'hello', version: 1, cursor: -1 }])
  })

  it('starts the waits small again after a connection that lasted', async () => {
    const { live, sockets, welcome, last } = setup()
    live.start()
    welcome()
    last().drop()
    await vi.advanceTimersByTimeAsync(500)
    last().drop()
    await vi.advanceTimersByTimeAsync(1000)
    expect(sockets).toHaveLength(3)
    welcome()
    await vi.advanceTimersByTimeAsync(60_000) // stable for a minute
    last().drop()
    await vi.advanceTimersByTimeAsync(499)
    expect(sockets).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(1)
    expect(sockets).toHaveLength(4)
  })

  it('keeps the backoff growing when connections drop right after the welcome', async () => {
    const { live, sockets, welcome, last } = setup()
    live.start()
    welcome()
    last().drop()
    await vi.advanceTimersByTimeAsync(500)
    welcome()
    last().drop()
    await vi.advanceTimersByTimeAsync(999)
    expect(sockets).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(sockets).toHaveLength(3)
  })

  it('stops for good when the server says the session ended, and has the person log in again', async () => {
    const { live, sockets, welcome, last, onUnauthenticated } = setup()
    live.start()
    welcome()
    last().receive({ type: 'error', code: 'unauthenticated', message: 'the session ended' })
    expect(onUnauthenticated).toHaveBeenCalledTimes(1)
    expect(live.active).toBe(false)
    expect(last().closedWith).toBe(1000)
    last().drop(1008)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(sockets).toHaveLength(1)
  })

  it('reconnects after other errors', async () => {
    const { live, sockets, welcome, last, onUnauthenticated, log } = setup()
    live.start()
    welcome()
    last().receive({ type: 'error', code: 'invalid_message', message: 'x' })
    last().drop(1008)
    expect(log).toHaveBeenCalledWith('the sync connection reports an error', 'invalid_message')
    await vi.advanceTimersByTimeAsync(500)
    expect(sockets).toHaveLength(2)
    expect(onUnauthenticated).not.toHaveBeenCalled()
  })

  it('asks whether the session still holds when a connection fails before its welcome', async () => {
    let loggedIn = true
    const checkSession = vi.fn(async () => loggedIn)
    const { live, sockets, last, onUnauthenticated } = setup({ checkSession })
    live.start()
    last().drop() // e.g. the server is restarting
    await vi.advanceTimersByTimeAsync(0)
    expect(checkSession).toHaveBeenCalledTimes(1)
    expect(onUnauthenticated).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(500)
    expect(sockets).toHaveLength(2)
    loggedIn = false // the upgrade is refused: no session
    last().drop()
    await vi.advanceTimersByTimeAsync(0)
    expect(onUnauthenticated).toHaveBeenCalledTimes(1)
    expect(live.active).toBe(false)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(sockets).toHaveLength(2)
  })

  it('keeps trying when the session cannot be checked (offline)', async () => {
    const { live, sockets, last, onUnauthenticated } = setup({ checkSession: () => Promise.reject(new Error('offline')) })
    live.start()
    last().drop()
    await vi.advanceTimersByTimeAsync(500)
    expect(sockets).toHaveLength(2)
    expect(onUnauthenticated).not.toHaveBeenCalled()
  })

  it('closes on stop (logout) and never reconnects', async () => {
    const { live, sockets, welcome, last, changes } = setup()
    live.start()
    welcome()
    const socket = last()
    live.stop()
    expect(socket.closedWith).toBe(1000)
    expect(live.active).toBe(false)
    socket.receive({ type: 'changes', changes: [{ id: 'x', kind: 'lesson', scopeId: 'c1' }] })
    socket.drop()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(sockets).toHaveLength(1)
    expect(changes).toEqual([])
  })

  it('stops while waiting to reconnect', async () => {
    const { live, sockets, last } = setup()
    live.start()
    last().drop()
    live.stop()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(sockets).toHaveLength(1)
  })

  it('tries again later when a socket cannot even be made', async () => {
    let fail = true
    const made: FakeSocket[] = []
    const live = new LiveSocket({
      url: 'ws://x/api/v1/sync',
      connect: (url) => {
        if (fail) throw new Error('SecurityError')
        const s = new FakeSocket(url)
        made.push(s)
        return s
      },
      onChanges: () => {},
      onResync: () => {},
      onUnauthenticated: () => {},
      random: () => 0,
      log: () => {},
    })
    live.start()
    fail = false
    await vi.advanceTimersByTimeAsync(500)
    expect(made).toHaveLength(1)
    live.stop()
  })
})
