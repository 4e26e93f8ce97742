// Shapes of the Pult HTTP API v1 (docs/api.md). Ids are strings, dates YYYY-MM-DD, times HH:MM.

export type Role = 'admin' | 'teacher'

/** The logged-in person. */
export interface User {
  id: string
  username: string
  displayName: string
  role: Role
  schoolId: string
  schoolName: string
  /** The person also operates this server and reads its outbox of mails to parent accounts. */
  operator: boolean
}

export interface Env {
  host: string
  version: string
  setupRequired: boolean
  user: User | null
  /** The logged-in parent account (backend only). */
  parent?: Parent | null
  /** Only in the desktop app (`host` is `"desktop"`): the device's phase and settings (docs/desktop.md). */
  device?: DesktopDevice | null
}

/** The desktop app's phases (docs/desktop.md), in the order a new device goes through them. */
export const DESKTOP_PHASES = ['welcome', 'connect', 'pending', 'login', 'pin', 'locked', 'ready'] as const
export type DesktopPhase = (typeof DESKTOP_PHASES)[number]

/** The desktop app's device: what `GET /api/v1/env` says beside the user, and every device route answers. */
export interface DesktopDevice {
  /** One of DESKTOP_PHASES; a newer app may send another. */
  phase: DesktopPhase | (string & {})
  language: string
  /** The school's server, once the device is connected; "" before. */
  server: string
  /** The security code to read out to the admin, while `pending`. */
  securityCode?: string
  /** The school's name, once known (not in the contract's example; the app sends it). */
  schoolName?: string
  online: boolean
  pinAttemptsLeft: number
  idleTimeoutSeconds: number
  pinMinLength: number
  /** The state of sync, while the app is unlocked and logged in at the backend. */
  sync?: DesktopSync
  /** The backend session ended: sync waits until the teacher logs in again. */
  needsLogin?: boolean
}

/** The desktop app's sync state (docs/desktop.md, `device.sync`). */
export interface DesktopSync {
  /** The sync connection is up. */
  online: boolean
  /** Local changes that wait for the server. */
  pending: number
  /** The last exchange with the server (RFC 3339); absent before the first. */
  lastSync?: string
  /** The first catch-up of this connection is still running… */
  catchingUp: boolean
  /** …and has brought this many changes so far. */
  received: number
}

/** An admin's view of a user. */
export interface Account {
  id: string
  username: string
  displayName: string
  email: string
  role: Role
  active: boolean
  /** The account also operates this server (the first admin, or granted on the command line). */
  operator: boolean
  lastLoginAt: string | null
  createdAt: string
  /** Why the last login failed (`wrong_password`, `locked`, `device_pending`, `device_blocked`, …); "" after a success. */
  lastFailure: string
  /** How many of the user's devices are trusted. */
  trustedDevices: number
  /** Present while the user's learning mode is on. */
  learningMode?: AccountLearningMode | null
}

/** A user's learning mode as an admin sees it in the user list. */
export interface AccountLearningMode {
  /** RFC 3339 timestamp (the end of the deadline's day). */
  until: string
  /** How many more devices it will trust; null = any number. */
  devicesLeft: number | null
}

/** The logged-in person's own learning mode. */
export interface LearningMode {
  active: boolean
  /** RFC 3339 timestamp; absent or empty when not active. */
  until?: string
  devicesLeft: number | null
}

export interface LearningModeInput {
  userIds: string[]
  /** YYYY-MM-DD: the last day of learning mode. */
  until: string
  /** 1–9 */
  devices: number
}

export const DEVICE_STATES = ['trusted', 'pending', 'rejected', 'blocked'] as const
export type DeviceState = (typeof DEVICE_STATES)[number]

export const DEVICE_KINDS = ['browser', 'desktop'] as const
export type DeviceKind = (typeof DEVICE_KINDS)[number]

/** One device of one user. */
export interface Device {
  id: string
  userId: string
  kind: DeviceKind
  state: DeviceState
  name: string
  platform: string
  osUser: string
  firstIp: string
  lastIp: string
  firstSeen: string
  lastSeen: string
  decidedAt?: string
  /** The security code, only while pending. The admin UI never shows it: the admin types what the user reads out. */
  code?: string
  /** Marks the browser the request came from (only on /me/devices). */
  current: boolean
  /** A desktop device's remote wipe, once an admin blocked it. */
  wipe?: DeviceWipe
  /** A desktop device's inventory from its last sync connection. */
  appVersion?: string
  os?: string
  lastSync?: string
}

/** The remote wipe of a desktop device: asked for when an admin blocked it, done when the device confirmed it. */
export interface DeviceWipe {
  requestedAt: string
  doneAt?: string
}

/** What an admin may change of a device (a user may only rename it). */
export interface DevicePatch {
  name?: string
  state?: 'rejected' | 'blocked'
}

export interface AccountInput {
  username: string
  displayName: string
  email: string
  role: Role
  password: string
}

export interface AccountPatch {
  displayName?: string
  email?: string
  role?: Role
  active?: boolean
}

export interface SetupInput {
  token: string
  schoolName: string
  username: string
  displayName: string
  password: string
}

export interface Course {
  id: string
  name: string
  subject: string
  teacherId: string
  teacherName: string
  studentCount: number
}

export interface CourseInput {
  name: string
  subject: string
  teacherId: string
}

export interface Student {
  id: string
  firstName: string
  lastName: string
  birthDate: string
  class: string
  guardianEmail: string
}

export type StudentInput = Omit<Student, 'id'>

export interface LessonInput {
  date: string
  startTime: string
  endTime: string
  topic: string
  homework: string
  note: string
  /** What parents read beside the lesson; `note` is internal. */
  parentNote?: string
}

export interface Lesson extends LessonInput {
  id: string
  courseId: string
}

export const ATTENDANCE_STATUSES = ['present', 'late', 'excused', 'unexcused'] as const
export type AttendanceStatus = (typeof ATTENDANCE_STATUSES)[number]

export interface AttendanceMark {
  studentId: string
  lessonId: string
  status: AttendanceStatus
  lateMinutes: number
  comment: string
  updatedAt: string
}

export interface AttendanceInput {
  status: AttendanceStatus
  lateMinutes: number
  comment: string
}

export interface ImportRow {
  line: number
  firstName: string
  lastName: string
  birthDate: string
  class: string
  guardianEmail: string
  /** Field name → field error code; absent or empty for a good row. */
  errors?: Record<string, string> | null
}

export interface ImportPreview {
  rows: ImportRow[]
  valid: number
  invalid: number
  /** A file-level problem (`empty`, `missing_header`, `missing_columns`, `unreadable`); then rows is empty. */
  error: string
}

export interface ImportRequest {
  csv: string
  courseId: string
  skipInvalid: boolean
}

export interface ImportResult {
  imported: number
  skipped: number
  enrolled: number
}

export interface Page<T> {
  items: T[]
  nextCursor: string
}

/** Audit log outcomes (api.md AuditEntry). */
export const AUDIT_OUTCOMES = ['allowed', 'refused', 'done'] as const
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number]

/** One decision or change in the audit log. */
export interface AuditEntry {
  /** A string by the contract; the server has been seen to send a number, so both are accepted. */
  id: string | number
  /** RFC 3339 timestamp (UTC). */
  at: string
  /** Who did it; "" when nobody was logged in (e.g. a refused login). */
  actorId: string
  /** Whom it concerns; "" when unknown (e.g. a login with an unknown username). */
  userId: string
  deviceId: string
  action: string
  outcome: AuditOutcome | string
  reason: string
  ip: string
}

/** Filters of GET /api/v1/audit (and audit.csv); empty values mean "all". Dates are YYYY-MM-DD. */
export interface AuditFilter {
  userId?: string
  action?: string
  outcome?: string
  from?: string
  to?: string
}

/** What a school asks of its desktop devices (docs/api.md, DevicePolicy). */
export interface DevicePolicy {
  maxPinAttempts: number
  idleTimeoutMinutes: number
  /** Days without reaching the server until the app locks until online again (1–90). */
  offlineGraceDays: number
  /** Days without reaching the server until the app erases its data (more than the grace, ≤ 365). */
  wipeAfterDays: number
}

/** Allowed IP ranges (CIDR) of the school or of one user; empty allows every address. */
export interface IpRanges {
  ranges: string[]
}

/** The state of the admin's own recovery codes. */
export interface RecoveryCodesStatus {
  remaining: number
  /** RFC 3339; absent (or empty) before the first set was made. */
  createdAt?: string
}

/** A new set of recovery codes, shown once. */
export interface NewRecoveryCodes {
  codes: string[]
  createdAt: string
}

export const LICENSE_HOLDERS = ['none', 'teacher', 'location'] as const
export type LicenseHolder = (typeof LICENSE_HOLDERS)[number]

/** The desktop device a license enrolled: the holding teacher's trust in it, or the location's. */
export interface LicenseDevice {
  id: string
  state: DeviceState
  name: string
  platform: string
  osUser: string
  lastIp: string
  firstSeen: string
  lastSeen: string
  decidedAt?: string
  wipe?: DeviceWipe
}

/** A license: it enrolls one desktop device for a teacher or a location (a shared terminal). */
export interface License {
  id: string
  /** XXXX-XXXX-XXXX-XXXX */
  code: string
  holder: LicenseHolder
  /** The holding teacher, when `holder` is `teacher`. */
  teacherId?: string
  /** The teacher's display name or the location; "" when nobody holds it. */
  holderName: string
  createdAt: string
  assignedAt?: string
  device?: LicenseDevice
}

/** Who gets a license: a teacher (by id) or a location (by name). */
export type LicenseHolderInput = { teacherId: string } | { location: string }

/** One card of the printed sheet. */
export interface SheetLicense extends License {
  /** The content of the QR code: pult://enroll?server=…&code=…&fp=… */
  link: string
  /** The QR code as an SVG document, made by the server. */
  qrSvg: string
}

/** What the printed sheet of licenses shows. */
export interface LicenseSheet {
  schoolName: string
  serverUrl: string
  /** Hex SHA-256 of the server's certificate, when it is pinned. */
  fingerprint?: string
  licenses: SheetLicense[]
}

// Parents and students (PA1–PA5)

/** A logged-in parent account. */
export interface Parent {
  id: string
  email: string
  language: 'de' | 'en'
}

/** A child as its parents see it; `shared` when another account granted it. */
export interface Child {
  studentId: string
  schoolId: string
  schoolName: string
  firstName: string
  lastName: string
  class: string
  shared: boolean
}

export interface ParentMark {
  status: AttendanceStatus
  lateMinutes: number
}

export interface ParentLesson {
  id: string
  date: string
  startTime: string
  endTime: string
  topic: string
  homework: string
  parentNote: string
  attendance: ParentMark | null
}

export interface ParentCourse {
  id: string
  name: string
  subject: string
  lessons: ParentLesson[]
}

export interface ChildView extends Child {
  courses: ParentCourse[]
}

export interface Share {
  id: string
  email: string
  createdAt: string
}

export interface AccessCode {
  id: string
  studentId: string
  code: string
  createdAt: string
}

export interface LetterTemplate {
  id: string
  name: string
  subject: string
  body: string
  createdAt: string
}

export interface LetterTemplateInput {
  name: string
  subject: string
  body: string
}

export interface Letter {
  studentId: string
  studentName: string
  guardianEmail: string
  subject: string
  body: string
}

export interface LettersRequest {
  templateId: string
  studentIds?: string[]
  courseId?: string
}

export interface LettersMailed {
  queued: number
  withoutAddress: string[]
}

export interface Registrant {
  id: string
  email: string
  registeredAt: string
  confirmed: boolean
  children: { studentId: string; name: string; shared: boolean; linkedAt: string }[]
}

export interface OutboxMail {
  id: string
  createdAt: string
  state: 'queued' | 'held' | 'failed'
  attempts: number
  to: string
  subject: string
  text: string
  html: string
}

export interface Outbox {
  sends: boolean
  items: OutboxMail[]
}
