import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ACTIVITY_EVENTS, IdleTimer, watchIdle } from './idle'

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('IdleTimer', () => {
  it('fires once after the timeout without activity', () => {
    const onIdle = vi.fn()
    const timer = new IdleTimer({ timeoutMs: 600_000, onIdle })
    timer.start()
    vi.advanceTimersByTime(599_999)
    expect(onIdle).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(onIdle).toHaveBeenCalledTimes(1)
    expect(timer.active).toBe(false)
    vi.advanceTimersByTime(10 * 600_000)
    expect(onIdle).toHaveBeenCalledTimes(1)
  })

  it('reports activity at most once a minute, and none without input', () => {
    const onActivity = vi.fn()
    const timer = new IdleTimer({ timeoutMs: 600_000, onIdle: () => {}, onActivity })
    timer.start()
    vi.advanceTimersByTime(120_000)
    expect(onActivity).not.toHaveBeenCalled()
    for (let i = 0; i < 100; i++) {
      timer.activity()
      vi.advanceTimersByTime(1000)
    }
    // Input over 100 seconds, starting two minutes after the start: reported at once and a minute later.
    expect(onActivity).toHaveBeenCalledTimes(2)
    timer.stop()
    timer.activity()
    expect(onActivity).toHaveBeenCalledTimes(2)
  })

  it('starts the timeout again with every activity', () => {
    const onIdle = vi.fn()
    const timer = new IdleTimer({ timeoutMs: 1000, onIdle })
    timer.start()
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(900)
      timer.activity()
    }
    expect(onIdle).not.toHaveBeenCalled()
    vi.advanceTimersByTime(999)
    expect(onIdle).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(onIdle).toHaveBeenCalledTimes(1)
  })

  it('keeps a single timer however much activity there is', () => {
    const timer = new IdleTimer({ timeoutMs: 1000, onIdle: () => {} })
    timer.start()
    for (let i = 0; i < 1000; i++) timer.activity()
    expect(vi.getTimerCount()).toBe(1)
  })

  it('never fires once stopped', () => {
    const onIdle = vi.fn()
    const timer = new IdleTimer({ timeoutMs: 1000, onIdle })
    timer.start()
    vi.advanceTimersByTime(500)
    timer.stop()
    vi.advanceTimersByTime(5000)
    expect(onIdle).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does nothing with a timeout of 0', () => {
    const onIdle = vi.fn()
    const timer = new IdleTimer({ timeoutMs: 0, onIdle })
    timer.start()
    vi.advanceTimersByTime(60_000)
    expect(onIdle).not.toHaveBeenCalled()
    expect(timer.active).toBe(false)
  })

  it('measures real time when a throttled timer comes late', () => {
    const onIdle = vi.fn()
    let now = 0
    const timer = new IdleTimer({ timeoutMs: 1000, onIdle, now: () => now })
    timer.start()
    now = 5000 // the window slept; the timer had not run
    vi.advanceTimersByTime(1000)
    expect(onIdle).toHaveBeenCalledTimes(1)
  })
})

describe('watchIdle', () => {
  function fakeWindow() {
    const listeners = new Map<string, EventListener>()
    return {
      listeners,
      addEventListener: vi.fn((name: string, fn: EventListener) => listeners.set(name, fn)),
      removeEventListener: vi.fn((name: string) => listeners.delete(name)),
    }
  }

  it('counts input events as activity and removes its listeners when stopped', () => {
    const target = fakeWindow()
    const onIdle = vi.fn()
    const stop = watchIdle(target as unknown as Window, { timeoutMs: 1000, onIdle })
    expect([...target.listeners.keys()].sort()).toEqual([...ACTIVITY_EVENTS].sort())
    vi.advanceTimersByTime(800)
    target.listeners.get('keydown')!(new Event('keydown'))
    vi.advanceTimersByTime(800)
    expect(onIdle).not.toHaveBeenCalled()
    vi.advanceTimersByTime(200)
    expect(onIdle).toHaveBeenCalledTimes(1)
    stop()
    expect(target.listeners.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })
})
