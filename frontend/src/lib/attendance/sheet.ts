import type { AttendanceInput, AttendanceMark, AttendanceStatus, Student } from '../api/types'
import { sortStudents } from '../students'
import { countMarks, type AttendanceCounts } from './counts'
import { commandForKey, type KeyLike } from './keys'
import { LatestWinsQueue, type SaveState } from './saveQueue'

export const DEFAULT_LATE_MINUTES = 5
export const MAX_LATE_MINUTES = 240
export const COMMENT_SAVE_DELAY_MS = 800

export type MarkValue = AttendanceInput

type RowChange = { kind: 'put'; value: MarkValue } | { kind: 'delete' }

/** What the attendance list calls on the server for one lesson. */
export interface SheetApi {
  put(studentId: string, value: MarkValue): Promise<unknown>
  remove(studentId: string): Promise<unknown>
  allPresent(): Promise<AttendanceMark[]>
}

export interface SheetRowView {
  readonly student: Student
  readonly mark: MarkValue | null
  readonly save: SaveState
  readonly error: unknown
}

export interface SheetSnapshot {
  readonly rows: readonly SheetRowView[]
  readonly active: number
  readonly counts: AttendanceCounts
  /** The row whose minutes typed digits currently fill, or null. */
  readonly minutesRow: number | null
  readonly bulk: 'idle' | 'saving' | 'failed'
  readonly bulkError: unknown
  /** Something is not saved yet (or failed): leaving the page now would lose it. */
  readonly unsaved: boolean
}

export type SheetEvent =
  | { kind: 'changed' }
  | { kind: 'marked'; row: number }
  | { kind: 'cleared'; row: number }
  | { kind: 'minutes'; row: number }
  | { kind: 'saveFailed'; row: number }
  | { kind: 'allPresentDone'; count: number }
  | { kind: 'allPresentFailed'; error: unknown }
  | { kind: 'editComment'; row: number }
  | { kind: 'commentNeedsStatus'; row: number }

export interface SheetOptions {
  students: readonly Student[]
  marks: readonly AttendanceMark[]
  api: SheetApi
  onEvent?: (event: SheetEvent) => void
  commentDelayMs?: number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
}

interface Row {
  readonly index: number
  readonly student: Student
  mark: MarkValue | null
  /** Bumped by every local edit, so a late bulk answer does not overwrite a newer edit. */
  version: number
  readonly queue: LatestWinsQueue<RowChange>
  commentTimer: unknown
  /** Display state while "all present" covers this row. */
  bulk: SaveState | null
  /** The sheet's epoch of the row's last local change or save, so a fetch begun before it is not applied. */
  touched: number
}

export function markFromServer(m: AttendanceMark): MarkValue {
  return {
    status: m.status,
    lateMinutes: m.status === 'late' ? m.lateMinutes : 0,
    comment: m.comment ?? '',
  }
}

function sameMark(a: MarkValue | null, b: MarkValue | null): boolean {
  if (a === null || b === null) return a === b
  return a.status === b.status && a.lateMinutes === b.lateMinutes && a.comment === b.comment
}

const noop = () => {}

/**
 * The attendance list of one lesson without any UI: rows sorted by last name, the active row, key handling,
 * optimistic marks and a save queue per row. A component renders snapshot() after every event.
 */
export class AttendanceSheet {
  private readonly rows: Row[]
  private active = 0
  private minutesEntry: { row: number; buffer: string } | null = null
  private bulkRun: Promise<unknown> | null = null
  private bulkState: 'idle' | 'saving' | 'failed' = 'idle'
  private bulkError: unknown = null
  private epoch = 0
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly api: SheetApi
  private readonly onEvent: (event: SheetEvent) => void
  private readonly commentDelayMs: number
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (handle: unknown) => void

  constructor(opts: SheetOptions) {
    this.api = opts.api
    this.onEvent = opts.onEvent ?? noop
    this.commentDelayMs = opts.commentDelayMs ?? COMMENT_SAVE_DELAY_MS
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>))
    const byStudent = new Map(opts.marks.map((m) => [m.studentId, m]))
    this.rows = sortStudents(opts.students).map((student, index) => {
      const found = byStudent.get(student.id)
      const row: Row = {
        index,
        student,
        mark: found ? markFromServer(found) : null,
        version: 0,
        commentTimer: null,
        bulk: null,
        touched: 0,
        queue: new LatestWinsQueue<RowChange>(
          (change) => this.send(row, change),
          (q) => {
            this.touch(row)
            this.emit({ kind: 'changed' })
            if (q.state === 'failed') this.emit({ kind: 'saveFailed', row: row.index })
          },
        ),
      }
      return row
    })
  }

  get size(): number {
    return this.rows.length
  }

  snapshot(): SheetSnapshot {
    const rows = this.rows.map((r) => ({
      student: r.student,
      mark: r.mark,
      save: this.saveState(r),
      error: r.queue.error,
    }))
    return {
      rows,
      active: this.active,
      counts: countMarks(rows.map((r) => r.mark)),
      minutesRow: this.minutesEntry?.row ?? null,
      bulk: this.bulkState,
      bulkError: this.bulkError,
      unsaved: this.bulkRun !== null || rows.some((r) => r.save === 'saving' || r.save === 'failed'),
    }
  }

  /** Handles a key press on the list; true when the key was used (the caller then prevents its default). */
  handleKey(key: KeyLike): boolean {
    if (this.rows.length === 0) return false
    const cmd = commandForKey(key)
    if (!cmd) return false
    if (cmd.kind === 'digit') return this.typeDigit(cmd.digit)
    const hadMinutesEntry = this.minutesEntry !== null
    this.minutesEntry = null
    switch (cmd.kind) {
      case 'move':
        this.setActive(this.active + cmd.delta)
        return true
      case 'first':
        this.setActive(0)
        return true
      case 'last':
        this.setActive(this.rows.length - 1)
        return true
      case 'mark':
        this.markActiveAndAdvance(cmd.status)
        return true
      case 'clear':
        this.clear(this.active)
        return true
      case 'allPresent':
        void this.markAllPresent()
        return true
      case 'retry':
        this.retry(this.active)
        return true
      case 'enter':
        if (this.saveState(this.rows[this.active]) === 'failed') this.retry(this.active)
        else this.requestCommentEdit(this.active)
        return true
      case 'editComment':
        this.requestCommentEdit(this.active)
        return true
      case 'escape':
        if (hadMinutesEntry) this.emit({ kind: 'changed' })
        return hadMinutesEntry
    }
  }

  setActive(index: number): void {
    const next = Math.max(0, Math.min(this.rows.length - 1, index))
    if (next === this.active) return
    this.active = next
    this.emit({ kind: 'changed' })
  }

  /** Sets a status (keeping the comment; late keeps its minutes or starts at 5). */
  mark(index: number, status: AttendanceStatus): void {
    const row = this.rows[index]
    if (!row) return
    const prev = row.mark
    const lateMinutes = status === 'late' ? (prev?.status === 'late' ? prev.lateMinutes : DEFAULT_LATE_MINUTES) : 0
    this.change(row, { status, lateMinutes, comment: prev?.comment ?? '' })
    this.emit({ kind: 'marked', row: index })
  }

  setMinutes(index: number, minutes: number): boolean {
    const row = this.rows[index]
    if (!row || row.mark?.status !== 'late') return false
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_LATE_MINUTES) return false
    if (row.mark.lateMinutes !== minutes) {
      this.change(row, { ...row.mark, lateMinutes: minutes })
      this.emit({ kind: 'minutes', row: index })
    }
    return true
  }

  /** Updates the comment at once and saves it after a short pause in typing (or on commitComment). */
  setComment(index: number, comment: string): void {
    const row = this.rows[index]
    if (!row?.mark || row.mark.comment === comment) return
    row.mark = { ...row.mark, comment }
    row.version++
    this.touch(row)
    row.bulk = null
    this.cancelCommentTimer(row)
    row.commentTimer = this.setTimer(() => {
      row.commentTimer = null
      this.pushCurrent(row)
    }, this.commentDelayMs)
    this.emit({ kind: 'changed' })
  }

  /** Saves a comment that is waiting for the typing pause now. */
  commitComment(index: number): void {
    const row = this.rows[index]
    if (!row || row.commentTimer === null) return
    this.cancelCommentTimer(row)
    this.pushCurrent(row)
  }

  clear(index: number): void {
    const row = this.rows[index]
    if (!row || row.mark === null) return
    this.change(row, null)
    this.emit({ kind: 'cleared', row: index })
  }

  retry(index: number): void {
    this.rows[index]?.queue.retry()
  }

  /** Saves every comment still waiting for the typing pause (before the page goes away). */
  flush(): void {
    for (const row of this.rows) this.commitComment(row.index)
  }

  /** Resolves when no save of any row is on its way any more. */
  async settled(): Promise<void> {
    for (;;) {
      const waiting = this.rows.filter((r) => r.queue.busy || r.commentTimer !== null)
      if (waiting.length === 0 && !this.bulkRun) return
      if (this.bulkRun) await this.bulkRun.then(noop, noop)
      await Promise.all(waiting.map((r) => r.queue.settled()))
      if (waiting.some((r) => r.commentTimer !== null)) return
    }
  }

  /**
   * Marks every student without a mark as present: shows it at once, asks the server, and then takes the
   * server's answer for each row that was not changed again in the meantime.
   */
  async markAllPresent(): Promise<void> {
    if (this.bulkRun) return
    const targets = this.rows.filter((r) => r.mark === null)
    const versions = new Map(targets.map((r) => [r, r.version]))
    for (const r of targets) {
      r.mark = { status: 'present', lateMinutes: 0, comment: '' }
      r.bulk = 'saving'
      this.touch(r)
    }
    this.bulkState = 'saving'
    this.bulkError = null
    this.emit({ kind: 'changed' })
    // Saves already on their way go first; saves started from now on wait for this one.
    const before = Promise.allSettled([...this.inflight])
    const run = before.then(() => this.api.allPresent())
    this.bulkRun = run
    try {
      const marks = await run
      const byStudent = new Map((Array.isArray(marks) ? marks : []).map((m) => [m.studentId, m]))
      let count = 0
      for (const r of targets) {
        if (r.version !== versions.get(r)) continue
        this.touch(r)
        const m = byStudent.get(r.student.id)
        r.mark = m ? markFromServer(m) : null
        r.bulk = m ? 'saved' : null
        if (m) count++
      }
      this.bulkState = 'idle'
      this.bulkRun = null
      this.emit({ kind: 'changed' })
      this.emit({ kind: 'allPresentDone', count })
    } catch (error) {
      for (const r of targets) {
        if (r.version !== versions.get(r)) continue
        r.mark = null
        r.bulk = null
      }
      this.bulkState = 'failed'
      this.bulkError = error
      this.bulkRun = null
      this.emit({ kind: 'changed' })
      this.emit({ kind: 'allPresentFailed', error })
    }
  }

  /** The current epoch: take it before fetching the marks that applyServer() gets afterwards. */
  stamp(): number {
    return this.epoch
  }

  /**
   * Takes the server's marks (e.g. after another device changed some), fetched after `since = stamp()`, for every
   * row the person is not busy with here: no save on its way or failed, no comment waiting for the typing pause,
   * nothing changed or saved since the fetch began, no "all present" under way. True when a row changed.
   */
  applyServer(marks: readonly AttendanceMark[], since: number): boolean {
    if (this.bulkRun) return false
    const byStudent = new Map(marks.map((m) => [m.studentId, m]))
    let changed = false
    for (const row of this.rows) {
      if (row.touched > since || row.queue.busy || row.queue.state === 'failed' || row.commentTimer !== null) continue
      const found = byStudent.get(row.student.id)
      const next = found ? markFromServer(found) : null
      if (sameMark(row.mark, next)) continue
      row.mark = next
      if (this.minutesEntry?.row === row.index) this.minutesEntry = null
      changed = true
    }
    if (changed) this.emit({ kind: 'changed' })
    return changed
  }

  private touch(row: Row): void {
    row.touched = ++this.epoch
  }

  private markActiveAndAdvance(status: AttendanceStatus): void {
    const index = this.active
    this.mark(index, status)
    if (status === 'late') this.minutesEntry = { row: index, buffer: '' }
    this.setActive(index + 1)
    this.emit({ kind: 'changed' })
  }

  /** Digits right after a late mark fill that row's minutes; on a late active row they start afresh. */
  private typeDigit(digit: number): boolean {
    let entry = this.minutesEntry
    if (!entry) {
      if (this.rows[this.active]?.mark?.status !== 'late') return false
      entry = { row: this.active, buffer: '' }
    }
    const buffer = entry.buffer + String(digit)
    const minutes = Number(buffer)
    if (minutes < 1 || minutes > MAX_LATE_MINUTES) {
      this.minutesEntry = entry
      return true
    }
    this.minutesEntry = { row: entry.row, buffer }
    if (!this.setMinutes(entry.row, minutes)) this.minutesEntry = null
    this.emit({ kind: 'changed' })
    return true
  }

  private requestCommentEdit(index: number): void {
    const row = this.rows[index]
    if (!row) return
    this.emit(row.mark ? { kind: 'editComment', row: index } : { kind: 'commentNeedsStatus', row: index })
  }

  private change(row: Row, next: MarkValue | null): void {
    const needsSave = !sameMark(row.mark, next) || row.queue.state === 'failed' || row.commentTimer !== null || row.bulk !== null
    row.mark = next
    row.version++
    row.bulk = null
    this.touch(row)
    this.cancelCommentTimer(row)
    if (needsSave) this.pushCurrent(row)
    else this.emit({ kind: 'changed' })
  }

  private pushCurrent(row: Row): void {
    row.queue.push(row.mark ? { kind: 'put', value: { ...row.mark } } : { kind: 'delete' })
  }

  private cancelCommentTimer(row: Row): void {
    if (row.commentTimer !== null) {
      this.clearTimer(row.commentTimer)
      row.commentTimer = null
    }
  }

  private saveState(row: Row): SaveState {
    if (row.commentTimer !== null) return 'saving'
    if (row.bulk !== null && !row.queue.busy) return row.bulk
    return row.queue.state
  }

  private async send(row: Row, change: RowChange): Promise<void> {
    while (this.bulkRun) await this.bulkRun.then(noop, noop)
    const request = change.kind === 'put' ? this.api.put(row.student.id, change.value) : this.api.remove(row.student.id)
    this.inflight.add(request)
    try {
      await request
    } finally {
      this.inflight.delete(request)
    }
  }

  private emit(event: SheetEvent): void {
    this.onEvent(event)
  }
}
