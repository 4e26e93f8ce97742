import { ApiError, apiErrorFrom } from './error'
import type {
  AccessCode,
  Child,
  ChildView,
  Letter,
  LettersMailed,
  LettersRequest,
  LetterTemplate,
  LetterTemplateInput,
  Outbox,
  Parent,
  Registrant,
  Share,
  Account,
  AccountInput,
  AccountPatch,
  AttendanceInput,
  AttendanceMark,
  AuditEntry,
  AuditFilter,
  Course,
  CourseInput,
  Device,
  DevicePatch,
  Env,
  ImportPreview,
  ImportRequest,
  ImportResult,
  DevicePolicy,
  IpRanges,
  Lesson,
  License,
  LicenseHolderInput,
  LicenseSheet,
  LearningMode,
  LearningModeInput,
  LessonInput,
  NewRecoveryCodes,
  Page,
  RecoveryCodesStatus,
  SetupInput,
  Student,
  StudentInput,
  User,
} from './types'

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Guards against a server that hands out cursors forever. */
const MAX_PAGES = 1000

const enc = encodeURIComponent

/** The body of a PUT of IP ranges: `confirm` only when set, as the contract marks it optional. */
function rangesBody(ranges: string[], opts: { confirm?: boolean }): { ranges: string[]; confirm?: true } {
  return opts.confirm ? { ranges, confirm: true } : { ranges }
}

/** The audit filters in the order they go into a query string. */
const AUDIT_FILTER_KEYS = ['userId', 'action', 'outcome', 'from', 'to'] as const

/**
 * The query string (`?userId=…&action=…`, or "" for none) of an audit filter, followed by `extra` parameters such
 * as `cursor` or `sep`. Empty and blank values are left out, so "Alle" sends nothing.
 */
export function auditQuery(filter: AuditFilter, extra: Record<string, string | undefined> = {}): string {
  const pairs: [string, string][] = []
  for (const key of AUDIT_FILTER_KEYS) pairs.push([key, filter[key]?.trim() ?? ''])
  for (const [key, value] of Object.entries(extra)) pairs.push([key, value?.trim() ?? ''])
  const query = pairs
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${enc(key)}=${enc(value)}`)
    .join('&')
  return query === '' ? '' : `?${query}`
}

/**
 * The one client of the Pult HTTP API. Every call goes to `/api/v1/...` on the page's own origin, so the same
 * UI works against the backend in a browser and against the desktop app's in-process handler.
 */
export class ApiClient {
  private readonly fetchFn: FetchLike
  private readonly base: string
  private unauthenticatedListener: ((err: ApiError) => void) | null = null
  private readonly errorListeners = new Set<(err: ApiError) => void>()

  constructor(fetchFn?: FetchLike, base = '/api/v1') {
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init))
    this.base = base
  }

  /** Calls `listener` with every failed answer (e.g. the desktop app's 423 `locked`); returns how to stop that. */
  onError(listener: (err: ApiError) => void): () => void {
    this.errorListeners.add(listener)
    return () => this.errorListeners.delete(listener)
  }

  /** Called whenever an answer says the session is gone (401 `unauthenticated`). */
  onUnauthenticated(listener: ((err: ApiError) => void) | null): void {
    this.unauthenticatedListener = listener
  }

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    const init: RequestInit = { method, credentials: 'same-origin', headers }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    let res: Response
    try {
      res = await this.fetchFn(this.base + path, init)
    } catch (cause) {
      throw new ApiError({ status: 0, code: 'network', message: String(cause) })
    }
    const text = await res.text().catch(() => '')
    let parsed: unknown = undefined
    if (text !== '') {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
    }
    if (!res.ok) {
      const err = apiErrorFrom(res.status, parsed, res.headers.get('Retry-After'))
      if (err.code === 'unauthenticated') this.unauthenticatedListener?.(err)
      for (const listener of this.errorListeners) listener(err)
      throw err
    }
    if (text !== '' && parsed === undefined) {
      throw new ApiError({ status: res.status, code: 'unknown', message: 'answer is not JSON' })
    }
    return parsed as T
  }

  /** Loads every page of a list, following `nextCursor` until it is empty. */
  async list<T>(path: string): Promise<T[]> {
    const items: T[] = []
    const seen = new Set<string>()
    let cursor = ''
    for (let page = 0; page < MAX_PAGES; page++) {
      const sep = path.includes('?') ? '&' : '?'
      const url = cursor === '' ? path : `${path}${sep}cursor=${enc(cursor)}`
      const answer = await this.request<Page<T>>('GET', url)
      items.push(...(answer?.items ?? []))
      cursor = answer?.nextCursor ?? ''
      if (cursor === '') return items
      if (seen.has(cursor)) throw new ApiError({ status: 200, code: 'unknown', message: `cursor ${cursor} repeats` })
      seen.add(cursor)
    }
    throw new ApiError({ status: 200, code: 'unknown', message: 'too many pages' })
  }

  // Session and setup

  env(): Promise<Env> {
    return this.request('GET', '/env')
  }

  async setup(input: SetupInput): Promise<User> {
    return (await this.request<{ user: User }>('POST', '/setup', input)).user
  }

  /** Logs in; an admin on an untrusted browser may add one of the printed recovery codes. */
  async login(username: string, password: string, recoveryCode?: string): Promise<User> {
    const body = recoveryCode === undefined ? { username, password } : { username, password, recoveryCode }
    return (await this.request<{ user: User }>('POST', '/session', body)).user
  }

  logout(): Promise<void> {
    return this.request('DELETE', '/session')
  }

  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.request('POST', '/me/password', { currentPassword, newPassword })
  }

  // Accounts (admin)

  users(): Promise<Account[]> {
    return this.list('/users')
  }

  createUser(input: AccountInput): Promise<Account> {
    return this.request('POST', '/users', input)
  }

  updateUser(id: string, patch: AccountPatch): Promise<Account> {
    return this.request('PATCH', `/users/${enc(id)}`, patch)
  }

  setUserPassword(id: string, password: string): Promise<void> {
    return this.request('POST', `/users/${enc(id)}/password`, { password })
  }

  unlockUser(id: string): Promise<void> {
    return this.request('POST', `/users/${enc(id)}/unlock`)
  }

  // Trusted devices and learning mode: one's own

  myDevices(): Promise<Device[]> {
    return this.list('/me/devices')
  }

  renameMyDevice(deviceId: string, name: string): Promise<Device> {
    return this.request('PATCH', `/me/devices/${enc(deviceId)}`, { name })
  }

  /** Removing the device the request comes from ends the session. */
  removeMyDevice(deviceId: string): Promise<void> {
    return this.request('DELETE', `/me/devices/${enc(deviceId)}`)
  }

  myLearningMode(): Promise<LearningMode> {
    return this.request('GET', '/me/learning-mode')
  }

  endMyLearningMode(): Promise<void> {
    return this.request('DELETE', '/me/learning-mode')
  }

  // Trusted devices and learning mode (admin)

  userDevices(userId: string): Promise<Device[]> {
    return this.list(`/users/${enc(userId)}/devices`)
  }

  /** Trusts the pending device of a user that has the security code the user read out. */
  approveDevice(userId: string, code: string): Promise<Device> {
    return this.request('POST', `/users/${enc(userId)}/devices/approve`, { code })
  }

  updateUserDevice(userId: string, deviceId: string, patch: DevicePatch): Promise<Device> {
    return this.request('PATCH', `/users/${enc(userId)}/devices/${enc(deviceId)}`, patch)
  }

  removeUserDevice(userId: string, deviceId: string): Promise<void> {
    return this.request('DELETE', `/users/${enc(userId)}/devices/${enc(deviceId)}`)
  }

  endUserLearningMode(userId: string): Promise<void> {
    return this.request('DELETE', `/users/${enc(userId)}/learning-mode`)
  }

  devices(): Promise<Device[]> {
    return this.list('/devices')
  }

  enableLearningMode(input: LearningModeInput): Promise<void> {
    return this.request('POST', '/learning-mode', input)
  }

  // Audit log, IP ranges and recovery codes (admin)

  /** One page of the audit log, newest first; pass the previous page's `nextCursor` for the next one. */
  async auditPage(filter: AuditFilter, cursor = '', log: 'school' | 'server' = 'school'): Promise<Page<AuditEntry>> {
    const path = log === 'server' ? '/server/audit' : '/audit'
    const answer = await this.request<Page<AuditEntry>>('GET', path + auditQuery(filter, { cursor }))
    return { items: answer?.items ?? [], nextCursor: answer?.nextCursor ?? '' }
  }

  /** The address of the audit log as CSV for a plain download link (the browser sends the session cookie). */
  auditCsvHref(filter: AuditFilter, opts: { semicolon?: boolean } = {}): string {
    return this.base + '/audit.csv' + auditQuery(filter, { sep: opts.semicolon ? 'semicolon' : '' })
  }

  async devicePolicy(): Promise<DevicePolicy> {
    return (await this.request<DevicePolicy>('GET', '/device-policy'))!
  }

  async setDevicePolicy(policy: DevicePolicy): Promise<DevicePolicy> {
    return (await this.request<DevicePolicy>('PUT', '/device-policy', policy))!
  }

  async schoolIpRanges(): Promise<string[]> {
    return (await this.request<IpRanges>('GET', '/ip-ranges'))?.ranges ?? []
  }

  /**
   * Replaces the school's ranges and answers the stored ones (normalised by the server). Ranges that exclude the
   * admin's own address are refused (409 `would_lock_out`) unless `confirm` is set.
   */
  async setSchoolIpRanges(ranges: string[], opts: { confirm?: boolean } = {}): Promise<string[]> {
    return (await this.request<IpRanges>('PUT', '/ip-ranges', rangesBody(ranges, opts)))?.ranges ?? []
  }

  async userIpRanges(userId: string): Promise<string[]> {
    return (await this.request<IpRanges>('GET', `/users/${enc(userId)}/ip-ranges`))?.ranges ?? []
  }

  /** Replaces one user's ranges; like setSchoolIpRanges, `confirm` sets ranges that would shut the admin out. */
  async setUserIpRanges(userId: string, ranges: string[], opts: { confirm?: boolean } = {}): Promise<string[]> {
    return (await this.request<IpRanges>('PUT', `/users/${enc(userId)}/ip-ranges`, rangesBody(ranges, opts)))?.ranges ?? []
  }

  /** How many of the admin's own recovery codes are left. */
  recoveryCodes(): Promise<RecoveryCodesStatus> {
    return this.request('GET', '/recovery-codes')
  }

  /** A new set of the admin's recovery codes; the old set stops working. */
  newRecoveryCodes(): Promise<NewRecoveryCodes> {
    return this.request('POST', '/recovery-codes')
  }

  // Licenses (admin)

  licenses(): Promise<License[]> {
    return this.list('/licenses')
  }

  async createLicenses(count: number): Promise<License[]> {
    return (await this.request<{ licenses: License[] }>('POST', '/licenses', { count }))?.licenses ?? []
  }

  assignLicense(id: string, holder: LicenseHolderInput): Promise<License> {
    return this.request('PUT', `/licenses/${enc(id)}/holder`, holder)
  }

  /** Takes the license from its holder and device; the device stays as it is. */
  detachLicense(id: string): Promise<License> {
    return this.request('DELETE', `/licenses/${enc(id)}/holder`)
  }

  deleteLicense(id: string): Promise<void> {
    return this.request('DELETE', `/licenses/${enc(id)}`)
  }

  /** Trusts a license's pending device by the security code the person at it reads out. */
  approveLicenseDevice(id: string, code: string): Promise<License> {
    return this.request('POST', `/licenses/${enc(id)}/approve`, { code })
  }

  /** Blocks the license's device; it wipes itself at its next contact (at once when connected). */
  blockLicenseDevice(id: string): Promise<License> {
    return this.request('POST', `/licenses/${enc(id)}/block`)
  }

  /** The printed sheet of the licenses, in this order, with their QR codes. */
  licenseSheet(ids: string[]): Promise<LicenseSheet> {
    return this.request('GET', `/licenses/sheet?ids=${ids.map(enc).join(',')}`)
  }

  // Courses and enrolment

  courses(): Promise<Course[]> {
    return this.list('/courses')
  }

  course(id: string): Promise<Course> {
    return this.request('GET', `/courses/${enc(id)}`)
  }

  createCourse(input: CourseInput): Promise<Course> {
    return this.request('POST', '/courses', input)
  }

  updateCourse(id: string, patch: Partial<CourseInput>): Promise<Course> {
    return this.request('PATCH', `/courses/${enc(id)}`, patch)
  }

  deleteCourse(id: string): Promise<void> {
    return this.request('DELETE', `/courses/${enc(id)}`)
  }

  courseStudents(courseId: string): Promise<Student[]> {
    return this.list(`/courses/${enc(courseId)}/students`)
  }

  enrol(courseId: string, studentId: string): Promise<void> {
    return this.request('PUT', `/courses/${enc(courseId)}/students/${enc(studentId)}`)
  }

  unenrol(courseId: string, studentId: string): Promise<void> {
    return this.request('DELETE', `/courses/${enc(courseId)}/students/${enc(studentId)}`)
  }

  // Lessons and attendance

  lessons(courseId: string): Promise<Lesson[]> {
    return this.list(`/courses/${enc(courseId)}/lessons`)
  }

  createLesson(courseId: string, input: LessonInput): Promise<Lesson> {
    return this.request('POST', `/courses/${enc(courseId)}/lessons`, input)
  }

  lesson(id: string): Promise<Lesson> {
    return this.request('GET', `/lessons/${enc(id)}`)
  }

  updateLesson(id: string, patch: Partial<LessonInput>): Promise<Lesson> {
    return this.request('PATCH', `/lessons/${enc(id)}`, patch)
  }

  deleteLesson(id: string): Promise<void> {
    return this.request('DELETE', `/lessons/${enc(id)}`)
  }

  attendance(lessonId: string): Promise<AttendanceMark[]> {
    return this.list(`/lessons/${enc(lessonId)}/attendance`)
  }

  putAttendance(lessonId: string, studentId: string, input: AttendanceInput): Promise<AttendanceMark> {
    return this.request('PUT', `/lessons/${enc(lessonId)}/attendance/${enc(studentId)}`, input)
  }

  deleteAttendance(lessonId: string, studentId: string): Promise<void> {
    return this.request('DELETE', `/lessons/${enc(lessonId)}/attendance/${enc(studentId)}`)
  }

  async markAllPresent(lessonId: string): Promise<AttendanceMark[]> {
    const answer = await this.request<AttendanceMark[] | Page<AttendanceMark>>(
      'POST',
      `/lessons/${enc(lessonId)}/attendance/all-present`,
    )
    // api.md says "list of AttendanceMark"; accept a bare array as well as the {items} list shape.
    return Array.isArray(answer) ? answer : (answer?.items ?? [])
  }

  // Students (admin)

  students(): Promise<Student[]> {
    return this.list('/students')
  }

  createStudent(input: StudentInput): Promise<Student> {
    return this.request('POST', '/students', input)
  }

  updateStudent(id: string, patch: Partial<StudentInput>): Promise<Student> {
    return this.request('PATCH', `/students/${enc(id)}`, patch)
  }

  deleteStudent(id: string): Promise<void> {
    return this.request('DELETE', `/students/${enc(id)}`)
  }

  previewImport(csv: string): Promise<ImportPreview> {
    return this.request('POST', '/students/import/preview', { csv })
  }

  importStudents(input: ImportRequest): Promise<ImportResult> {
    return this.request('POST', '/students/import', input)
  }

  // Parents (PA1–PA5)

  registerParent(email: string, password: string, language: string, school = ''): Promise<void> {
    return this.request('POST', '/parent/register', school ? { email, password, language, school } : { email, password, language })
  }

  confirmParent(token: string): Promise<void> {
    return this.request('POST', '/parent/confirm', { token })
  }

  async loginParent(email: string, password: string): Promise<Parent> {
    return (await this.request<{ parent: Parent }>('POST', '/parent/session', { email, password })).parent
  }

  requestParentReset(email: string, language: string): Promise<void> {
    return this.request('POST', '/parent/password-reset', { email, language })
  }

  resetParentPassword(token: string, password: string, endSessions: boolean): Promise<void> {
    return this.request('POST', '/parent/password-reset/confirm', { token, password, endSessions })
  }

  async updateParentAccount(language: Parent['language']): Promise<Parent> {
    return (await this.request<{ parent: Parent }>('PATCH', '/parent/account', { language })).parent
  }

  changeParentPassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.request('POST', '/parent/password', { currentPassword, newPassword })
  }

  deleteParentAccount(password: string): Promise<void> {
    return this.request('DELETE', '/parent/account', { password })
  }

  children(): Promise<Child[]> {
    return this.list('/parent/children')
  }

  addChild(code: string): Promise<Child> {
    return this.request('POST', '/parent/children', { code })
  }

  child(studentId: string): Promise<ChildView> {
    return this.request('GET', `/parent/children/${enc(studentId)}`)
  }

  removeChild(studentId: string): Promise<void> {
    return this.request('DELETE', `/parent/children/${enc(studentId)}`)
  }

  shares(studentId: string): Promise<Share[]> {
    return this.list(`/parent/children/${enc(studentId)}/shares`)
  }

  share(studentId: string, email: string): Promise<Share> {
    return this.request('POST', `/parent/children/${enc(studentId)}/shares`, { email })
  }

  revokeShare(studentId: string, shareId: string): Promise<void> {
    return this.request('DELETE', `/parent/children/${enc(studentId)}/shares/${enc(shareId)}`)
  }

  // Correspondence (admins)

  accessCodes(): Promise<AccessCode[]> {
    return this.list('/access-codes')
  }

  issueAccessCode(studentId: string): Promise<AccessCode> {
    return this.request('POST', `/students/${enc(studentId)}/access-code`)
  }

  revokeAccessCode(studentId: string): Promise<void> {
    return this.request('DELETE', `/students/${enc(studentId)}/access-code`)
  }

  letterTemplates(): Promise<LetterTemplate[]> {
    return this.list('/letter-templates')
  }

  createLetterTemplate(input: LetterTemplateInput): Promise<LetterTemplate> {
    return this.request('POST', '/letter-templates', input)
  }

  updateLetterTemplate(id: string, input: LetterTemplateInput): Promise<LetterTemplate> {
    return this.request('PUT', `/letter-templates/${enc(id)}`, input)
  }

  deleteLetterTemplate(id: string): Promise<void> {
    return this.request('DELETE', `/letter-templates/${enc(id)}`)
  }

  previewLetter(subject: string, body: string): Promise<{ subject: string; body: string }> {
    return this.request('POST', '/letter-templates/preview', { subject, body })
  }

  async letters(req: LettersRequest): Promise<Letter[]> {
    return (await this.request<{ letters: Letter[] }>('POST', '/letters', req)).letters
  }

  mailLetters(req: LettersRequest): Promise<LettersMailed> {
    return this.request('POST', '/letters/mail', req)
  }

  registrants(): Promise<Registrant[]> {
    return this.list('/parents')
  }

  outbox(): Promise<Outbox> {
    return this.request('GET', '/outbox')
  }

  /** The server's unsent mails to parent accounts; for its operators only. */
  serverOutbox(): Promise<Outbox> {
    return this.request('GET', '/server/outbox')
  }
}

/** The preview carried by a 422 `import_invalid_rows` answer (inside `error` or beside it), if any. */
export function importPreviewOf(err: unknown): ImportPreview | null {
  if (!(err instanceof ApiError) || err.code !== 'import_invalid_rows') return null
  const candidates = [err.details.preview, (err.body as { preview?: unknown } | null)?.preview]
  for (const c of candidates) {
    if (typeof c === 'object' && c !== null && Array.isArray((c as ImportPreview).rows)) return c as ImportPreview
  }
  return null
}

/** The security code of a 403 `device_pending` login answer (`error.securityCode`), or "" for anything else. */
export function securityCodeOf(err: unknown): string {
  if (!(err instanceof ApiError) || err.code !== 'device_pending') return ''
  const code = err.details.securityCode
  return typeof code === 'string' ? code : ''
}

/** The client the UI uses. */
export const api = new ApiClient()
