import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CHANGED_EVENT, DEVICE_EVENTS_PATH, wailsRuntime, watchDesktopChanges, type EventSourceLike } from './desktopEvents'

class FakeEventSource implements EventSourceLike {
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  closed = false
  private readonly listeners = new Map<string, (() => void)[]>()

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: () => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener])
  }

  close(): void {
    this.closed = true
    this.readyState = 2
  }

  // The app's side.
  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  emit(type: string): void {
    for (const l of this.listeners.get(type) ?? []) l()
  }

  /** The stream broke; the browser reconnects by itself (CONNECTING) or gives up (CLOSED). */
  fail(closed: boolean): void {
    this.readyState = closed ? 2 : 0
    this.onerror?.({})
  }
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('wailsRuntime', () => {
  it('is the Wails runtime of the window when it has one', () => {
    const runtime = { EventsOn: () => () => {} }
    expect(wailsRuntime({ runtime })).toBe(runtime)
    expect(wailsRuntime({})).toBeNull()
    expect(wailsRuntime({ runtime: {} })).toBeNull()
    expect(wailsRuntime(null)).toBeNull()
  })
})

describe('watchDesktopChanges in the Wails window', () => {
  it('listens to pult:changed and stops with the function EventsOn answered', () => {
    const callbacks: (() => void)[] = []
    const off = vi.fn()
    const EventsOn = vi.fn((_name: string, cb: () => void) => {
      callbacks.push(cb)
      return off
    })
    const openEventSource = vi.fn()
    const onChanged = vi.fn()
    const stop = watchDesktopChanges({ runtime: { EventsOn }, openEventSource }, onChanged)
    expect(EventsOn).toHaveBeenCalledWith(CHANGED_EVENT, expect.any(Function))
    expect(CHANGED_EVENT).toBe('pult:changed')
    callbacks[0]()
    callbacks[0]()
    expect(onChanged).toHaveBeenCalledTimes(2)
    stop()
    expect(off).toHaveBeenCalledTimes(1)
    expect(openEventSource).not.toHaveBeenCalled()
  })

  it('falls back to EventsOff for a runtime whose EventsOn answers nothing', () => {
    const EventsOff = vi.fn()
    const stop = watchDesktopChanges({ runtime: { EventsOn: () => undefined, EventsOff } }, () => {})
    stop()
    expect(EventsOff).toHaveBeenCalledWith(CHANGED_EVENT)
  })
})

describe('watchDesktopChanges outside the window (Server-Sent Events)', () => {
  function setup() {
    const sources: FakeEventSource[] = []
    const onChanged = vi.fn()
    const stop = watchDesktopChanges(
      {
        runtime: undefined,
        openEventSource: (url) => {
          const es = new FakeEventSource(url)
          sources.push(es)
          return es
        },
        random: () => 0,
      },
      onChanged,
    )
    return { sources, onChanged, stop, last: () => sources[sources.length - 1] }
  }

  it('reads the event "changed" of /api/v1/device/events', () => {
    const { sources, onChanged, last } = setup()
    expect(sources).toHaveLength(1)
    expect(last().url).toBe(DEVICE_EVENTS_PATH)
    expect(DEVICE_EVENTS_PATH).toBe('/api/v1/device/events')
    last().open()
    expect(onChanged).not.toHaveBeenCalled()
    last().emit('changed')
    last().emit('message')
    expect(onChanged).toHaveBeenCalledTimes(1)
  })

  it('counts a stream that came back as a change (events may have been missed)', () => {
    const { sources, onChanged, last } = setup()
    last().open()
    last().fail(false)
    last().open()
    expect(onChanged).toHaveBeenCalledTimes(1)
    expect(sources).toHaveLength(1)
  })

  it('opens a new stream with backoff when the browser gave up', async () => {
    const { sources, onChanged, last } = setup()
    last().open()
    last().fail(true)
    expect(last().closed).toBe(true)
    await vi.advanceTimersByTimeAsync(499)
    expect(sources).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sources).toHaveLength(2)
    last().fail(true)
    await vi.advanceTimersByTimeAsync(999)
    expect(sources).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(sources).toHaveLength(3)
    last().open()
    expect(onChanged).toHaveBeenCalledTimes(1)
  })

  it('closes the stream when stopped, also while waiting to reopen it', async () => {
    const a = setup()
    a.last().open()
    a.stop()
    expect(a.last().closed).toBe(true)
    a.last().emit('changed')
    expect(a.onChanged).not.toHaveBeenCalled()

    const b = setup()
    b.last().fail(true)
    b.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(b.sources).toHaveLength(1)
  })
})
