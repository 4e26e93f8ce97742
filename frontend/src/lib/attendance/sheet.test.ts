import { describe, expect, it } from 'vitest'
import type { AttendanceMark, Student } from '../api/types'
import { AttendanceSheet, type MarkValue, type SheetEvent } from './sheet'

const student = (id: string, firstName: string, lastName: string): Student => ({
  id,
  firstName,
  lastName,
  birthDate: '',
  class: '',
  guardianEmail: '',
})

// Deliberately not in last-name order.
const students = [student('s3', 'Carla', 'Zimmermann'), student('s1', 'Anna', 'Ähnlich'), student('s2', 'Ben', 'Müller')]

type Call = { op: 'put'; id: string; value: MarkValue } | { op: 'remove'; id: string } | { op: 'allPresent' }

interface Deferred {
  call: Call
  resolve: (v?: unknown) => void
  reject: (e: unknown) => void
}

function setup(marks: AttendanceMark[] = []) {
  const calls: Deferred[] = []
  const record = (call: Call) =>
    new Promise<unknown>((resolve, reject) => {
      calls.push({ call, resolve, reject })
    })
  const timers: (() => void)[] = []
  const events: SheetEvent[] = []
  const sheet = new AttendanceSheet({
    students,
    marks,
    api: {
      put: (id, value) => record({ op: 'put', id, value }),
      remove: (id) => record({ op: 'remove', id }),
      allPresent: () => record({ op: 'allPresent' }) as Promise<AttendanceMark[]>,
    },
    onEvent: (e) => events.push(e),
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {},
  })
  const tickAll = () => new Promise((r) => setTimeout(r, 0))
  /** Answers every open call with success (all-present with the given marks). */
  async function answerAll(allPresentMarks: AttendanceMark[] = []) {
    for (let i = 0; i < 20; i++) {
      await tickAll()
      const open = calls.filter((c) => !(c as Deferred & { done?: boolean }).done)
      if (open.length === 0) return
      for (const c of open) {
        ;(c as Deferred & { done?: boolean }).done = true
        c.resolve(c.call.op === 'allPresent' ? allPresentMarks : undefined)
      }
    }
  }
  const key = (k: string, shiftKey = false) => sheet.handleKey({ key: k, shiftKey })
  return { sheet, calls, events, timers, answerAll, key, tickAll }
}

const mark = (studentId: string, status: AttendanceMark['status'], lateMinutes = 0): AttendanceMark => ({
  studentId,
  lessonId: 'l1',
  status,
  lateMinutes,
  comment: '',
  updatedAt: '',
})

describe('AttendanceSheet', () => {
  it('sorts rows by last name and starts unmarked', () => {
    const { sheet } = setup([mark('s2', 'excused')])
    const snap = sheet.snapshot()
    expect(snap.rows.map((r) => r.student.lastName)).toEqual(['Ähnlich', 'Müller', 'Zimmermann'])
    expect(snap.rows.map((r) => r.mark?.status ?? null)).toEqual([null, 'excused', null])
    expect(snap.counts).toMatchObject({ excused: 1, unmarked: 2, total: 3 })
    expect(snap.active).toBe(0)
  })

  it('a letter marks the active row, saves it and moves on', async () => {
    const { sheet, calls, key, answerAll } = setup()
    expect(key('a')).toBe(true)
    expect(sheet.snapshot().active).toBe(1)
    expect(sheet.snapshot().rows[0].mark?.status).toBe('present')
    expect(sheet.snapshot().rows[0].save).toBe('saving')
    expect(calls[0].call).toEqual({ op: 'put', id: 's1', value: { status: 'present', lateMinutes: 0, comment: '' } })
    expect(key('U')).toBe(true)
    expect(calls[1].call).toMatchObject({ op: 'put', id: 's2', value: { status: 'unexcused' } })
    await answerAll()
    expect(sheet.snapshot().rows[0].save).toBe('saved')
    expect(sheet.snapshot().counts).toMatchObject({ present: 1, unexcused: 1, unmarked: 1 })
  })

  it('stays on the last row', () => {
    const { sheet, key } = setup()
    key('End')
    key('e')
    expect(sheet.snapshot().active).toBe(2)
    expect(sheet.snapshot().rows[2].mark?.status).toBe('excused')
    key('ArrowDown')
    expect(sheet.snapshot().active).toBe(2)
    key('k')
    key('ArrowUp')
    key('ArrowUp')
    expect(sheet.snapshot().active).toBe(0)
  })

  it('late defaults to 5 minutes and digits right after fill the minutes of that row', async () => {
    const { sheet, calls, key, answerAll } = setup()
    key('v')
    expect(sheet.snapshot().rows[0].mark).toEqual({ status: 'late', lateMinutes: 5, comment: '' })
    expect(sheet.snapshot().active).toBe(1)
    key('1')
    key('2')
    expect(sheet.snapshot().rows[0].mark?.lateMinutes).toBe(12)
    expect(sheet.snapshot().rows[1].mark).toBeNull()
    await answerAll()
    // One request in flight at a time; the last one carries the final minutes.
    const puts = calls.filter((c) => c.call.op === 'put').map((c) => (c.call as { value: MarkValue }).value.lateMinutes)
    expect(puts[0]).toBe(5)
    expect(puts.at(-1)).toBe(12)
    expect(puts.length).toBeLessThanOrEqual(3)
  })

  it('digits outside 1–240 are ignored and another key ends the minutes', () => {
    const { sheet, key } = setup()
    key('L')
    key('0')
    key('3')
    key('0')
    key('0')
    expect(sheet.snapshot().rows[0].mark?.lateMinutes).toBe(30)
    key('ArrowUp')
    key('ArrowDown')
    expect(key('9')).toBe(false)
    expect(sheet.snapshot().rows[1].mark).toBeNull()
  })

  it('digits on an active late row change its minutes', () => {
    const { sheet, key } = setup([mark('s1', 'late', 10)])
    key('4')
    key('5')
    expect(sheet.snapshot().rows[0].mark?.lateMinutes).toBe(45)
  })

  it('rapid changes of one row end with the last value saved', async () => {
    const { sheet, calls, key, answerAll } = setup()
    key('a')
    key('ArrowUp')
    key('u')
    key('ArrowUp')
    key('e')
    key('ArrowUp')
    key('Delete')
    key('v')
    await answerAll()
    const forRow = calls.filter((c) => c.call.op !== 'allPresent' && c.call.id === 's1').map((c) => c.call)
    expect(forRow[0]).toMatchObject({ op: 'put', value: { status: 'present' } })
    expect(forRow.at(-1)).toMatchObject({ op: 'put', value: { status: 'late', lateMinutes: 5 } })
    expect(forRow.length).toBe(2)
    expect(sheet.snapshot().rows[0].save).toBe('saved')
  })

  it('Delete clears a mark with a DELETE', async () => {
    const { sheet, calls, key, answerAll } = setup([mark('s1', 'present')])
    key('Backspace')
    expect(calls[0].call).toEqual({ op: 'remove', id: 's1' })
    expect(sheet.snapshot().rows[0].mark).toBeNull()
    await answerAll()
    key('Delete')
    expect(calls.length).toBe(1)
  })

  it('a failed save shows and is retried with R or Enter', async () => {
    const { sheet, calls, events, key, tickAll } = setup()
    key('a')
    calls[0].reject(new Error('offline'))
    await tickAll()
    expect(sheet.snapshot().rows[0].save).toBe('failed')
    expect(events).toContainEqual({ kind: 'saveFailed', row: 0 })
    key('ArrowUp')
    key('r')
    expect(calls.length).toBe(2)
    expect(calls[1].call).toEqual(calls[0].call)
    calls[1].reject(new Error('offline'))
    await tickAll()
    key('Enter')
    expect(calls.length).toBe(3)
    calls[2].resolve()
    await tickAll()
    expect(sheet.snapshot().rows[0].save).toBe('saved')
  })

  it('Shift+A marks every unmarked row present and takes the server answer', async () => {
    const { sheet, calls, key, answerAll } = setup([mark('s2', 'excused')])
    expect(key('A', true)).toBe(true)
    expect(calls.length).toBe(0) // waits a tick for saves already on their way
    let snap = sheet.snapshot()
    expect(snap.rows.map((r) => r.mark?.status)).toEqual(['present', 'excused', 'present'])
    expect(snap.bulk).toBe('saving')
    await answerAll([mark('s1', 'present'), mark('s3', 'present')])
    expect(calls.map((c) => c.call.op)).toEqual(['allPresent'])
    snap = sheet.snapshot()
    expect(snap.bulk).toBe('idle')
    expect(snap.counts).toMatchObject({ present: 2, excused: 1, unmarked: 0 })
    expect(snap.rows[0].save).toBe('saved')
  })

  it('a change during "all present" wins and is sent after it', async () => {
    const { sheet, calls, key, tickAll } = setup()
    key('A', true)
    await tickAll()
    expect(calls.map((c) => c.call.op)).toEqual(['allPresent'])
    key('u') // row 0, shown as present until now
    await tickAll()
    expect(calls.length).toBe(1) // the PUT waits for the bulk request
    calls[0].resolve([mark('s1', 'present'), mark('s2', 'present'), mark('s3', 'present')])
    await tickAll()
    await tickAll()
    expect(calls[1]?.call).toMatchObject({ op: 'put', id: 's1', value: { status: 'unexcused' } })
    expect(sheet.snapshot().rows[0].mark?.status).toBe('unexcused')
    expect(sheet.snapshot().rows[1].mark?.status).toBe('present')
  })

  it('a failed "all present" puts the rows back', async () => {
    const { sheet, calls, events, key, tickAll } = setup()
    key('A', true)
    await tickAll()
    calls[0].reject(new Error('offline'))
    await tickAll()
    const snap = sheet.snapshot()
    expect(snap.bulk).toBe('failed')
    expect(snap.rows.every((r) => r.mark === null)).toBe(true)
    expect(events.some((e) => e.kind === 'allPresentFailed')).toBe(true)
  })

  it('comments are saved after a pause or at once on commit', async () => {
    const { sheet, calls, timers, key } = setup([mark('s1', 'present')])
    sheet.setComment(0, 'kam mit Ent')
    sheet.setComment(0, 'kam mit Entschuldigung')
    expect(calls.length).toBe(0)
    expect(sheet.snapshot().rows[0].save).toBe('saving')
    sheet.commitComment(0)
    expect(calls[0].call).toEqual({
      op: 'put',
      id: 's1',
      value: { status: 'present', lateMinutes: 0, comment: 'kam mit Entschuldigung' },
    })
    sheet.setComment(0, 'x')
    timers.at(-1)!()
    expect(calls.length).toBe(1) // waits for the first request
    calls[0].resolve()
    await new Promise((r) => setTimeout(r, 0))
    expect(calls[1].call).toMatchObject({ value: { comment: 'x' } })
    // A status change keeps the comment.
    calls[1].resolve()
    await new Promise((r) => setTimeout(r, 0))
    key('e')
    expect(calls[2].call).toMatchObject({ value: { status: 'excused', comment: 'x' } })
  })

  it('asks for a status before a comment', () => {
    const { events, key } = setup()
    key('F2')
    expect(events).toContainEqual({ kind: 'commentNeedsStatus', row: 0 })
    key('a')
    key('ArrowUp')
    key('Enter')
    expect(events).toContainEqual({ kind: 'editComment', row: 0 })
  })

  it('ignores keys it does not use', () => {
    const { key, calls } = setup()
    expect(key('x')).toBe(false)
    expect(key('Tab')).toBe(false)
    expect(calls.length).toBe(0)
  })
})

describe('AttendanceSheet.applyServer (marks set elsewhere)', () => {
  it('takes the server marks of rows nobody edits here, and says so', () => {
    const { sheet, events } = setup([mark('s2', 'excused')])
    const since = sheet.stamp()
    events.length = 0
    expect(sheet.applyServer([mark('s1', 'present'), mark('s3', 'late', 7)], since)).toBe(true)
    const snap = sheet.snapshot()
    expect(snap.rows.map((r) => r.mark?.status ?? null)).toEqual(['present', null, 'late'])
    expect(snap.rows[2].mark?.lateMinutes).toBe(7)
    expect(snap.counts).toMatchObject({ present: 1, late: 1, unmarked: 1 })
    expect(events).toEqual([{ kind: 'changed' }])
    // The same marks again change nothing.
    expect(sheet.applyServer([mark('s1', 'present'), mark('s3', 'late', 7)], sheet.stamp())).toBe(false)
  })

  it('keeps a mark whose save is on its way, and one changed after the fetch began', async () => {
    const { sheet, calls, answerAll } = setup()
    const since = sheet.stamp()
    sheet.mark(0, 'unexcused') // on its way
    expect(sheet.applyServer([mark('s1', 'present')], since)).toBe(false)
    expect(sheet.snapshot().rows[0].mark?.status).toBe('unexcused')
    await answerAll()
    expect(calls).toHaveLength(1)
    // Saved now, but after the fetch began: the fetched value may be older than the save.
    expect(sheet.applyServer([mark('s1', 'present')], since)).toBe(false)
    expect(sheet.snapshot().rows[0].mark?.status).toBe('unexcused')
    // A fetch begun after the save is taken.
    expect(sheet.applyServer([mark('s1', 'present')], sheet.stamp())).toBe(true)
    expect(sheet.snapshot().rows[0].mark?.status).toBe('present')
  })

  it('keeps a comment being typed and a failed save', async () => {
    const { sheet, calls, tickAll } = setup([mark('s1', 'present'), mark('s2', 'present')])
    sheet.setComment(0, 'kam mit Notiz')
    sheet.mark(1, 'late')
    await tickAll()
    calls[0].reject(new Error('offline'))
    await tickAll()
    expect(sheet.snapshot().rows[1].save).toBe('failed')
    const since = sheet.stamp()
    expect(sheet.applyServer([mark('s1', 'excused'), mark('s2', 'unexcused'), mark('s3', 'present')], since)).toBe(true)
    const rows = sheet.snapshot().rows
    expect(rows[0].mark).toMatchObject({ status: 'present', comment: 'kam mit Notiz' })
    expect(rows[1].mark?.status).toBe('late')
    expect(rows[2].mark?.status).toBe('present')
  })

  it('clears a mark deleted elsewhere, and waits while "all present" is under way', async () => {
    const { sheet, answerAll } = setup([mark('s3', 'excused')])
    expect(sheet.applyServer([], sheet.stamp())).toBe(true)
    expect(sheet.snapshot().rows[2].mark).toBeNull()
    void sheet.markAllPresent()
    expect(sheet.applyServer([mark('s3', 'excused')], sheet.stamp())).toBe(false)
    await answerAll([mark('s1', 'present'), mark('s2', 'present'), mark('s3', 'present')])
    expect(sheet.snapshot().rows.map((r) => r.mark?.status)).toEqual(['present', 'present', 'present'])
  })
})
