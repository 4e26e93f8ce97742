import { describe, expect, it } from 'vitest'
import { LatestWinsQueue } from './saveQueue'

/** A send whose answers the test gives one by one. */
function controlledSend<V>() {
  const sent: V[] = []
  const pending: { resolve: () => void; reject: (e: unknown) => void }[] = []
  const send = (value: V) =>
    new Promise<void>((resolve, reject) => {
      sent.push(value)
      pending.push({ resolve, reject })
    })
  const flush = () => new Promise((r) => setTimeout(r, 0))
  return {
    send,
    sent,
    async ok() {
      pending.shift()!.resolve()
      await flush()
    },
    async fail(err: unknown = new Error('offline')) {
      pending.shift()!.reject(err)
      await flush()
    },
  }
}

describe('LatestWinsQueue', () => {
  it('sends one value at a time and ends with the last one', async () => {
    const c = controlledSend<string>()
    const q = new LatestWinsQueue(c.send)
    q.push('a')
    q.push('b')
    q.push('c')
    expect(c.sent).toEqual(['a'])
    expect(q.state).toBe('saving')
    await c.ok()
    expect(c.sent).toEqual(['a', 'c'])
    expect(q.state).toBe('saving')
    await c.ok()
    expect(q.state).toBe('saved')
    expect(q.busy).toBe(false)
  })

  it('keeps a failed value for retry', async () => {
    const c = controlledSend<string>()
    const states: string[] = []
    const q = new LatestWinsQueue(c.send, (x) => states.push(x.state))
    q.push('a')
    await c.fail()
    expect(q.state).toBe('failed')
    expect(q.error).toBeInstanceOf(Error)
    expect(q.retry()).toBe(true)
    expect(c.sent).toEqual(['a', 'a'])
    await c.ok()
    expect(q.state).toBe('saved')
    expect(q.error).toBeNull()
    expect(states).toEqual(['saving', 'failed', 'saving', 'saved'])
    expect(q.retry()).toBe(false)
  })

  it('a newer value supersedes one that fails', async () => {
    const c = controlledSend<string>()
    const q = new LatestWinsQueue(c.send)
    q.push('a')
    q.push('b')
    await c.fail()
    expect(c.sent).toEqual(['a', 'b'])
    await c.ok()
    expect(q.state).toBe('saved')
    expect(q.retry()).toBe(false)
  })

  it('a new push after a failure drops the failed value', async () => {
    const c = controlledSend<string>()
    const q = new LatestWinsQueue(c.send)
    q.push('a')
    await c.fail()
    q.push('b')
    await c.ok()
    expect(c.sent).toEqual(['a', 'b'])
    expect(q.retry()).toBe(false)
  })
})
