import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ChangeBus,
  followChanges,
  isGone,
  LatestLoad,
  liveChangesOf,
  Refetcher,
  touchesAttendance,
  touchesCourse,
  touchesCourseList,
  touchesLesson,
  touchesStudents,
  type LiveChange,
} from './changes'

const change = (kind: string, scopeId: string, id = 'r1', parentId = ''): LiveChange => ({ id, kind, scopeId, parentId })

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('ChangeBus', () => {
  it('hands batches to every listener until it unsubscribes', () => {
    const bus = new ChangeBus()
    const a = vi.fn()
    const b = vi.fn()
    const offA = bus.subscribe(a)
    bus.subscribe(b)
    const batch = [change('lesson', 'c1')]
    bus.emit(batch)
    bus.emit(null)
    offA()
    bus.emit(batch)
    expect(a.mock.calls).toEqual([[batch], [null]])
    expect(b).toHaveBeenCalledTimes(3)
    expect(bus.size).toBe(1)
  })

  it('leaves out empty batches, and one failing listener does not stop the others', () => {
    const bus = new ChangeBus()
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const after = vi.fn()
    bus.subscribe(() => {
      throw new Error('boom')
    })
    bus.subscribe(after)
    bus.emit([])
    expect(after).not.toHaveBeenCalled()
    bus.emit(null)
    expect(after).toHaveBeenCalledTimes(1)
    expect(spy).toHaveBeenCalledTimes(1)
    spy.mockRestore()
  })
})

describe('liveChangesOf', () => {
  it('keeps id, kind, scope and parent of each change and drops malformed ones', () => {
    const raw = [
      { id: 'a1', kind: 'attendance', scopeId: 'c1', parentId: 'l1', seq: 4, clocks: {}, fields: { status: 'present' } },
      { id: 's1', kind: 'student', scopeId: 'school' },
      { kind: 7 },
      null,
      'x',
    ]
    expect(liveChangesOf(raw)).toEqual([
      { id: 'a1', kind: 'attendance', scopeId: 'c1', parentId: 'l1' },
      { id: 's1', kind: 'student', scopeId: 'school', parentId: '' },
    ])
    expect(liveChangesOf(undefined)).toEqual([])
    expect(liveChangesOf({})).toEqual([])
  })
})

describe('Refetcher', () => {
  it('refetches once after a quiet pause, however many signals came', async () => {
    const refetch = vi.fn()
    const r = new Refetcher(refetch, { delayMs: 250, maxWaitMs: 1500 })
    for (let i = 0; i < 5; i++) {
      r.signal()
      await vi.advanceTimersByTimeAsync(100)
    }
    expect(refetch).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(250)
    expect(refetch).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(refetch).toHaveBeenCalledTimes(1)
  })

  it('refetches at least every maxWait under a steady stream of signals', async () => {
    const refetch = vi.fn()
    const r = new Refetcher(refetch, { delayMs: 250, maxWaitMs: 1000 })
    for (let i = 0; i < 30; i++) {
      r.signal()
      await vi.advanceTimersByTimeAsync(100)
    }
    // 3 s of signals every 100 ms: no quiet pause, but a refetch at least once a second.
    expect(refetch.mock.calls.length).toBeGreaterThanOrEqual(2)
    expect(refetch.mock.calls.length).toBeLessThanOrEqual(3)
  })

  it('never runs two refetches at once, and runs once more for signals during one', async () => {
    let finish = () => {}
    const refetch = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)))
    const r = new Refetcher(refetch, { delayMs: 250 })
    r.signal()
    await vi.advanceTimersByTimeAsync(250)
    expect(refetch).toHaveBeenCalledTimes(1)
    r.signal()
    r.signal()
    await vi.advanceTimersByTimeAsync(5000)
    expect(refetch).toHaveBeenCalledTimes(1)
    finish()
    await vi.advanceTimersByTimeAsync(250)
    expect(refetch).toHaveBeenCalledTimes(2)
    finish()
    await vi.advanceTimersByTimeAsync(5000)
    expect(refetch).toHaveBeenCalledTimes(2)
  })

  it('goes on after a failed refetch', async () => {
    const refetch = vi.fn(async () => {
      throw new Error('offline')
    })
    const r = new Refetcher(refetch, { delayMs: 10 })
    r.signal()
    await vi.advanceTimersByTimeAsync(10)
    r.signal()
    await vi.advanceTimersByTimeAsync(10)
    expect(refetch).toHaveBeenCalledTimes(2)
  })

  it('does nothing once stopped, not even what was waiting', async () => {
    const refetch = vi.fn()
    const r = new Refetcher(refetch, { delayMs: 250 })
    r.signal()
    r.stop()
    r.signal()
    await vi.advanceTimersByTimeAsync(5000)
    expect(refetch).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('followChanges', () => {
  it('refetches for matching changes and unknown ones, not for others', async () => {
    const bus = new ChangeBus()
    const refetch = vi.fn()
    const stop = followChanges(bus, touchesCourse('c1'), refetch, { delayMs: 50 })
    bus.emit([change('lesson', 'c2'), change('attendance', 'c1')])
    await vi.advanceTimersByTimeAsync(100)
    expect(refetch).not.toHaveBeenCalled()
    bus.emit([change('attendance', 'c1'), change('lesson', 'c1')])
    await vi.advanceTimersByTimeAsync(100)
    expect(refetch).toHaveBeenCalledTimes(1)
    bus.emit(null)
    await vi.advanceTimersByTimeAsync(100)
    expect(refetch).toHaveBeenCalledTimes(2)
    stop()
    bus.emit(null)
    await vi.advanceTimersByTimeAsync(100)
    expect(refetch).toHaveBeenCalledTimes(2)
    expect(bus.size).toBe(0)
  })
})

describe('what concerns which view', () => {
  it('the course list: courses and enrolments', () => {
    expect(touchesCourseList(change('course', 'c1', 'c1'))).toBe(true)
    expect(touchesCourseList(change('enrollment', 'c1'))).toBe(true)
    expect(touchesCourseList(change('lesson', 'c1'))).toBe(false)
    expect(touchesCourseList(change('attendance', 'c1'))).toBe(false)
  })

  it("a course: itself, its lessons and enrolments, students", () => {
    const m = touchesCourse('c1')
    expect(m(change('course', 'c1', 'c1'))).toBe(true)
    expect(m(change('course', 'c2', 'c2'))).toBe(false)
    expect(m(change('lesson', 'c1'))).toBe(true)
    expect(m(change('lesson', 'c2'))).toBe(false)
    expect(m(change('enrollment', 'c1'))).toBe(true)
    expect(m(change('student', 'school'))).toBe(true)
    expect(m(change('attendance', 'c1'))).toBe(false)
  })

  it('a lesson: itself, its course and the course’s enrolments, students', () => {
    const m = touchesLesson('l1', 'c1')
    expect(m(change('lesson', 'c1', 'l1'))).toBe(true)
    expect(m(change('lesson', 'c1', 'l2'))).toBe(false)
    expect(m(change('course', 'c1', 'c1'))).toBe(true)
    expect(m(change('enrollment', 'c1'))).toBe(true)
    expect(m(change('enrollment', 'c2'))).toBe(false)
    expect(m(change('student', 'school'))).toBe(true)
    expect(m(change('attendance', 'c1', 'a1', 'l1'))).toBe(false)
  })

  it("a lesson's attendance: its marks, and marks that name no lesson", () => {
    const m = touchesAttendance('l1')
    expect(m(change('attendance', 'c1', 'a1', 'l1'))).toBe(true)
    expect(m(change('attendance', 'c1', 'a1', 'l2'))).toBe(false)
    expect(m(change('attendance', 'c1', 'a1', ''))).toBe(true)
    expect(m(change('lesson', 'c1', 'l1'))).toBe(false)
  })

  it('the students: students and enrolments', () => {
    expect(touchesStudents(change('student', 'school'))).toBe(true)
    expect(touchesStudents(change('enrollment', 'c1'))).toBe(true)
    expect(touchesStudents(change('course', 'c1'))).toBe(false)
  })
})

describe('LatestLoad', () => {
  it('applies only the answer of the load begun last', async () => {
    vi.useRealTimers()
    const loads = new LatestLoad()
    const applied: string[] = []
    let slow = (_: string) => {}
    const first = loads.run(
      () => new Promise<string>((resolve) => (slow = resolve)),
      (v) => applied.push(v),
    )
    await loads.run(
      async () => 'new',
      (v) => applied.push(v),
    )
    slow('old')
    await first
    expect(applied).toEqual(['new'])
  })
})

describe('isGone', () => {
  it('is true for not_found and forbidden only', () => {
    expect(isGone({ code: 'not_found' })).toBe(true)
    expect(isGone({ code: 'forbidden' })).toBe(true)
    expect(isGone({ code: 'network' })).toBe(false)
    expect(isGone(null)).toBe(false)
  })
})
