import { describe, expect, it, vi } from 'vitest'
import type { ChangeBatch } from './changes'
import { HOLD_AFTER_MS, LiveGate, watchPresence } from './gate'

const batch: ChangeBatch = [{ id: 'a1', kind: 'attendance', scopeId: 'c1', parentId: 'l1' }]

function setup() {
  let now = 1_000_000
  let visible = true
  const emitted: ChangeBatch[] = []
  const gate = new LiveGate((b) => emitted.push(b), { now: () => now, visible: () => visible })
  return {
    gate,
    emitted,
    advance: (ms: number) => (now += ms),
    setVisible: (v: boolean) => (visible = v),
  }
}

describe('LiveGate', () => {
  it('passes changes on while the person used the page lately', () => {
    const { gate, emitted, advance } = setup()
    gate.offer(batch)
    advance(HOLD_AFTER_MS - 1)
    gate.offer(null)
    expect(emitted).toEqual([batch, null])
    expect(gate.holding).toBe(false)
  })

  it('holds changes after two minutes without input, and lets one unknown change out when the person is back', () => {
    const { gate, emitted, advance } = setup()
    advance(HOLD_AFTER_MS)
    gate.offer(batch)
    gate.offer(batch)
    expect(emitted).toEqual([])
    expect(gate.holding).toBe(true)
    advance(60 * 60_000) // an hour: the session may time out meanwhile
    gate.activity()
    expect(emitted).toEqual([null])
    gate.activity()
    expect(emitted).toEqual([null])
    gate.offer(batch)
    expect(emitted).toEqual([null, batch])
  })

  it('holds changes while the page is hidden', () => {
    const { gate, emitted, setVisible } = setup()
    setVisible(false)
    gate.offer(batch)
    expect(emitted).toEqual([])
    setVisible(true)
    gate.activity()
    expect(emitted).toEqual([null])
  })

  it('sends nothing when someone comes back and nothing changed', () => {
    const { gate, emitted, advance } = setup()
    advance(HOLD_AFTER_MS * 3)
    gate.activity()
    expect(emitted).toEqual([])
  })
})

describe('watchPresence', () => {
  it('counts input and the page shown again as use, and stops listening', () => {
    const win = new EventTarget()
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState })
    const emit = vi.fn()
    let now = 0
    const { gate, stop } = watchPresence(win as unknown as Window, doc as unknown as Document, emit, { now: () => now })
    now = HOLD_AFTER_MS
    gate.offer(batch)
    expect(emit).not.toHaveBeenCalled()
    win.dispatchEvent(new Event('keydown'))
    expect(emit).toHaveBeenCalledWith(null)

    now += HOLD_AFTER_MS
    doc.visibilityState = 'hidden'
    gate.offer(batch)
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(emit).toHaveBeenCalledTimes(1)
    doc.visibilityState = 'visible'
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(emit).toHaveBeenCalledTimes(2)

    stop()
    now += HOLD_AFTER_MS
    gate.offer(batch)
    win.dispatchEvent(new Event('pointerdown'))
    expect(emit).toHaveBeenCalledTimes(2)
  })
})
