// "Data changed": what the browser's sync socket and the desktop app's change events tell the views, and how a
// view turns a stream of such signals into few refetches.

/** One changed record as the sync protocol names it (docs/sync-protocol.md): no fields, only where it lives. */
export interface LiveChange {
  id: string
  /** `course`, `student`, `enrollment`, `lesson`, `attendance`; a newer server may send others. */
  kind: string
  /** Its course; the school for students. */
  scopeId: string
  /** E.g. an attendance mark's lesson; "" when the change does not say. */
  parentId: string
}

/**
 * What changed: the records, or null when it is not known which (the desktop app's event, or a connection that
 * was gone for a while): then everything shown may be stale.
 */
export type ChangeBatch = readonly LiveChange[] | null

export type ChangeListener = (batch: ChangeBatch) => void

/** Hands every batch of changes to whoever listens (the views on screen). */
export class ChangeBus {
  private readonly listeners = new Set<ChangeListener>()

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(batch: ChangeBatch): void {
    if (batch !== null && batch.length === 0) return
    for (const listener of [...this.listeners]) {
      try {
        listener(batch)
      } catch (err) {
        console.error('pult: a change listener failed', err)
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}

/** The changes of a `changes` message, reduced to what the views need; malformed entries are left out. */
export function liveChangesOf(raw: unknown): LiveChange[] {
  if (!Array.isArray(raw)) return []
  const out: LiveChange[] = []
  for (const c of raw) {
    if (typeof c !== 'object' || c === null) continue
    const r = c as Record<string, unknown>
    if (typeof r.kind !== 'string') continue
    out.push({
      id: typeof r.id === 'string' ? r.id : '',
      kind: r.kind,
      scopeId: typeof r.scopeId === 'string' ? r.scopeId : '',
      parentId: typeof r.parentId === 'string' ? r.parentId : '',
    })
  }
  return out
}

export interface RefetcherOptions {
  /** Quiet time after the last signal before refetching. */
  delayMs?: number
  /** A steady stream of signals refetches at least this often. */
  maxWaitMs?: number
}

export const REFETCH_DELAY_MS = 250
export const REFETCH_MAX_WAIT_MS = 1500

/**
 * Debounces "refetch" signals: one refetch after a quiet `delayMs` (at the latest `maxWaitMs` after the first
 * signal), never two at once; a signal during a refetch causes one more afterwards, since the refetch may have
 * read the data before that change.
 */
export class Refetcher {
  private readonly refetch: () => unknown
  private readonly delayMs: number
  private readonly maxWaitMs: number
  private timer: ReturnType<typeof setTimeout> | null = null
  private firstSignal = 0
  private running = false
  private again = false
  private stopped = false

  constructor(refetch: () => unknown, opts: RefetcherOptions = {}) {
    this.refetch = refetch
    this.delayMs = opts.delayMs ?? REFETCH_DELAY_MS
    this.maxWaitMs = Math.max(opts.maxWaitMs ?? REFETCH_MAX_WAIT_MS, this.delayMs)
  }

  signal(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    const now = Date.now()
    if (this.timer === null) this.firstSignal = now
    else clearTimeout(this.timer)
    const wait = Math.max(0, Math.min(this.delayMs, this.firstSignal + this.maxWaitMs - now))
    this.timer = setTimeout(() => {
      this.timer = null
      void this.run()
    }, wait)
  }

  /** No refetch from now on, also none that is waiting. */
  stop(): void {
    this.stopped = true
    this.again = false
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private async run(): Promise<void> {
    if (this.stopped) return
    this.running = true
    try {
      await this.refetch()
    } catch {
      // The view keeps what it shows; the next change tries again.
    } finally {
      this.running = false
    }
    if (this.again) {
      this.again = false
      this.signal()
    }
  }
}

/** Calls `refetch` (debounced) when a batch holds a change that `matches`, or an unknown one. Returns how to stop. */
export function followChanges(
  bus: ChangeBus,
  matches: (change: LiveChange) => boolean,
  refetch: () => unknown,
  opts?: RefetcherOptions,
): () => void {
  const refetcher = new Refetcher(refetch, opts)
  const off = bus.subscribe((batch) => {
    if (batch === null || batch.some(matches)) refetcher.signal()
  })
  return () => {
    off()
    refetcher.stop()
  }
}

/**
 * Loads for a view so that an older answer never replaces a newer one: of overlapping loads (the first one and a
 * refetch, say), only the answer of the one begun last is applied.
 */
export class LatestLoad {
  private seq = 0

  async run<T>(fetch: () => Promise<T>, apply: (value: T) => void): Promise<void> {
    const n = ++this.seq
    const value = await fetch()
    if (n === this.seq) apply(value)
  }
}

/**
 * Whether a failed refetch means that what the view shows is gone (deleted, or no longer the person's): then the
 * view says so. Other failures (offline, say) leave the view as it was.
 */
export function isGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'not_found' || code === 'forbidden'
}

// What the views show, by the changes that concern them.

/** The course list: courses and their enrolments (the student count). */
export function touchesCourseList(c: LiveChange): boolean {
  return c.kind === 'course' || c.kind === 'enrollment'
}

/** A course's page: the course, its lessons and enrolments, and students (their names). */
export function touchesCourse(courseId: string): (c: LiveChange) => boolean {
  return (c) =>
    (c.kind === 'course' && c.id === courseId) ||
    ((c.kind === 'lesson' || c.kind === 'enrollment') && c.scopeId === courseId) ||
    c.kind === 'student'
}

/** A lesson's page besides its attendance: the lesson, its course, the course's enrolments, students. */
export function touchesLesson(lessonId: string, courseId: string): (c: LiveChange) => boolean {
  return (c) =>
    (c.kind === 'lesson' && c.id === lessonId) ||
    (c.kind === 'course' && c.id === courseId) ||
    (c.kind === 'enrollment' && c.scopeId === courseId) ||
    c.kind === 'student'
}

/** A lesson's attendance marks (a change that does not name its lesson counts too). */
export function touchesAttendance(lessonId: string): (c: LiveChange) => boolean {
  return (c) => c.kind === 'attendance' && (c.parentId === lessonId || c.parentId === '')
}

/** The school's students. */
export function touchesStudents(c: LiveChange): boolean {
  return c.kind === 'student' || c.kind === 'enrollment'
}

/** The UI's one bus: the sync socket or the desktop app's events emit, the views on screen follow it. */
export const dataChanges = new ChangeBus()

/** followChanges on the UI's bus. */
export function onDataChanged(matches: (change: LiveChange) => boolean, refetch: () => unknown, opts?: RefetcherOptions): () => void {
  return followChanges(dataChanges, matches, refetch, opts)
}
