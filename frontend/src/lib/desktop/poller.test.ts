import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pollWhileVisible, Poller } from './poller'

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('Poller', () => {
  it('runs the task every interval', async () => {
    const task = vi.fn(async () => {})
    const poller = new Poller({ intervalMs: 2000, task })
    poller.start()
    expect(task).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(2000)
    expect(task).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(6000)
    expect(task).toHaveBeenCalledTimes(4)
    poller.stop()
  })

  it('stops: no round after stop', async () => {
    const task = vi.fn(async () => {})
    const poller = new Poller({ intervalMs: 2000, task })
    poller.start()
    await vi.advanceTimersByTimeAsync(4000)
    expect(task).toHaveBeenCalledTimes(2)
    poller.stop()
    expect(poller.active).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(task).toHaveBeenCalledTimes(2)
  })

  it('stops also while a round is under way', async () => {
    let finish = () => {}
    const task = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)))
    const poller = new Poller({ intervalMs: 2000, task })
    poller.start()
    await vi.advanceTimersByTimeAsync(2000)
    expect(task).toHaveBeenCalledTimes(1)
    poller.stop()
    finish()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(task).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('never runs two rounds at once: the next waits for the last', async () => {
    let finish = () => {}
    const task = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)))
    const poller = new Poller({ intervalMs: 2000, task })
    poller.start()
    await vi.advanceTimersByTimeAsync(2000)
    await vi.advanceTimersByTimeAsync(10_000) // a slow answer
    expect(task).toHaveBeenCalledTimes(1)
    finish()
    await vi.advanceTimersByTimeAsync(1999)
    expect(task).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(task).toHaveBeenCalledTimes(2)
    poller.stop()
  })

  it('goes on after a failed round and reports it', async () => {
    const onError = vi.fn()
    const task = vi.fn(async () => {
      throw new Error('offline')
    })
    const poller = new Poller({ intervalMs: 1000, task, onError })
    poller.start()
    await vi.advanceTimersByTimeAsync(3000)
    expect(task).toHaveBeenCalledTimes(3)
    expect(onError).toHaveBeenCalledTimes(3)
    poller.stop()
  })

  it('starts at once when asked', async () => {
    const task = vi.fn(async () => {})
    const poller = new Poller({ intervalMs: 2000, task })
    poller.start({ immediately: true })
    await vi.advanceTimersByTimeAsync(0)
    expect(task).toHaveBeenCalledTimes(1)
    poller.stop()
  })
})

describe('pollWhileVisible', () => {
  function fakeDocument(state: DocumentVisibilityState = 'visible') {
    const listeners = new Set<() => void>()
    return {
      visibilityState: state,
      addEventListener: (_: string, fn: () => void) => listeners.add(fn),
      removeEventListener: (_: string, fn: () => void) => listeners.delete(fn),
      listeners,
      set(next: DocumentVisibilityState) {
        this.visibilityState = next
        for (const fn of listeners) fn()
      },
    }
  }

  it('pauses while hidden, asks at once when visible again, and stops for good', async () => {
    const doc = fakeDocument()
    const task = vi.fn(async () => {})
    const stop = pollWhileVisible(doc as unknown as Document, { intervalMs: 2000, task })
    await vi.advanceTimersByTimeAsync(2000)
    expect(task).toHaveBeenCalledTimes(1)
    doc.set('hidden')
    await vi.advanceTimersByTimeAsync(20_000)
    expect(task).toHaveBeenCalledTimes(1)
    doc.set('visible')
    await vi.advanceTimersByTimeAsync(0)
    expect(task).toHaveBeenCalledTimes(2)
    stop()
    expect(doc.listeners.size).toBe(0)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(task).toHaveBeenCalledTimes(2)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does not start while the page is hidden', async () => {
    const doc = fakeDocument('hidden')
    const task = vi.fn(async () => {})
    const stop = pollWhileVisible(doc as unknown as Document, { intervalMs: 2000, task })
    await vi.advanceTimersByTimeAsync(10_000)
    expect(task).not.toHaveBeenCalled()
    stop()
  })
})
