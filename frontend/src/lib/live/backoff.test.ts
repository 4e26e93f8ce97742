import { describe, expect, it } from 'vitest'
import { Backoff, MAX_BACKOFF_MS, MIN_BACKOFF_MS } from './backoff'

describe('Backoff', () => {
  it('waits from 0.5 s doubling to 30 s', () => {
    const b = new Backoff({ random: () => 0 })
    const waits = Array.from({ length: 10 }, () => b.next())
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000])
    expect(MIN_BACKOFF_MS).toBe(500)
    expect(MAX_BACKOFF_MS).toBe(30_000)
  })

  it('adds up to half of each wait at random', () => {
    const most = new Backoff({ random: () => 0.999999 })
    expect([most.next(), most.next(), most.next()]).toEqual([750, 1500, 3000])
    const half = new Backoff({ random: () => 0.5 })
    expect(half.next()).toBe(625)
    for (let i = 0; i < 20; i++) half.next()
    expect(half.next()).toBe(37_500)
  })

  it('starts small again after reset', () => {
    const b = new Backoff({ random: () => 0 })
    b.next()
    b.next()
    b.next()
    b.reset()
    expect(b.next()).toBe(500)
  })
})
