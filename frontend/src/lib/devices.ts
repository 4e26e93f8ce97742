// Trusted devices, learning mode and login status: the wording rules, kept out of the views so they can be tested.

import type { AccountLearningMode, Device, DeviceKind, DeviceState, DeviceWipe, LearningMode } from './api/types'
import { formatIsoDate, utcDateOf } from './dates'
import type { MessageKey } from './i18n/de'
import type { Message } from './i18n/errors'
import { formatTag, type Locale } from './i18n/translate'

/** Every reason of a failed login the UI words (api.md's `lastFailure`, plus those planned in DESIGN.md TD6). */
export const LOGIN_FAILURE_REASONS = [
  'wrong_password',
  'locked',
  'inactive',
  'device_pending',
  'device_blocked',
  'outside_ip_range',
  'learning_over',
  'unknown_device',
] as const

const failureKeys: Record<(typeof LOGIN_FAILURE_REASONS)[number], MessageKey> = {
  wrong_password: 'loginStatus.wrong_password',
  locked: 'loginStatus.locked',
  inactive: 'loginStatus.inactive',
  device_pending: 'loginStatus.device_pending',
  device_blocked: 'loginStatus.device_blocked',
  outside_ip_range: 'loginStatus.outside_ip_range',
  learning_over: 'loginStatus.learning_over',
  unknown_device: 'loginStatus.unknown_device',
}

/** The admin's status text for a user's `lastFailure` ("" = the last login worked). */
export function loginStatusMessage(lastFailure: string | null | undefined): Message {
  if (!lastFailure) return { key: 'loginStatus.ok' }
  if (Object.hasOwn(failureKeys, lastFailure)) return { key: failureKeys[lastFailure as keyof typeof failureKeys] }
  return { key: 'loginStatus.unknown', params: { code: lastFailure } }
}

const stateKeys: Record<DeviceState, MessageKey> = {
  trusted: 'deviceState.trusted',
  pending: 'deviceState.pending',
  rejected: 'deviceState.rejected',
  blocked: 'deviceState.blocked',
}

export function deviceStateKey(state: DeviceState): MessageKey {
  return stateKeys[state] ?? 'deviceState.unknown'
}

export function deviceKindKey(kind: DeviceKind): MessageKey {
  return kind === 'desktop' ? 'deviceKind.desktop' : 'deviceKind.browser'
}

/** What a device is called in a list: its name, else its platform; "" when it has neither. */
export function deviceLabel(d: Pick<Device, 'name' | 'platform'>): string {
  return d.name.trim() || d.platform.trim()
}

/**
 * A device without its security code. Admin views drop it as soon as a list arrives: the admin must get the code
 * from the person at the new device (DESIGN.md LE3), never from the list.
 */
export function withoutSecurityCode(d: Device): Device {
  const copy = { ...d }
  delete copy.code
  return copy
}

/** Only the digits of a typed security code ("482 913-275" → "482913275"). */
export function normalizeSecurityCode(input: string): string {
  return input.replace(/\D+/g, '')
}

/** A security code as people read it out: three groups of three digits. Anything else stays as it came. */
export function formatSecurityCode(input: string): string {
  const digits = normalizeSecurityCode(input)
  if (digits.length !== 9) return input.trim()
  return `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`
}

/** Whether a typed code has the nine digits of a security code. */
export function isCompleteSecurityCode(input: string): boolean {
  return normalizeSecurityCode(input).length === 9
}

/**
 * Whether a learning mode is on. The server decides (its clock, not the browser's): the own one says `active`, and
 * an account carries one only while it is on.
 */
export function learningModeActive(lm: LearningMode | AccountLearningMode | null | undefined): boolean {
  if (!lm) return false
  if ('active' in lm && !lm.active) return false
  return lm.devicesLeft === null || lm.devicesLeft === undefined || lm.devicesLeft > 0
}

function untilDate(until: string | undefined, locale: Locale): string {
  const iso = utcDateOf(until)
  return iso ? formatIsoDate(iso, formatTag(locale)) : (until ?? '')
}

/** "Lernmodus aktiv bis 12.01.2027, noch 2 Geräte" / "…, beliebig viele Geräte" / "Lernmodus ist aus. …". */
export function learningModeMessage(
  lm: LearningMode | AccountLearningMode | null | undefined,
  locale: Locale,
): Message {
  if (!lm || !learningModeActive(lm)) return { key: 'learning.off' }
  const date = untilDate(lm.until, locale)
  if (lm.devicesLeft === null || lm.devicesLeft === undefined) return { key: 'learning.activeAny', params: { date } }
  if (lm.devicesLeft === 1) return { key: 'learning.activeOne', params: { date } }
  return { key: 'learning.activeCount', params: { date, count: lm.devicesLeft } }
}

/** The admin's short form for the user list: "bis 12.01.2027, noch 2" / "bis 12.01.2027, beliebig viele" / "—". */
export function learningModeShortMessage(
  lm: AccountLearningMode | null | undefined,
  locale: Locale,
): Message {
  if (!lm || !learningModeActive(lm)) return { key: 'learning.shortOff' }
  const date = untilDate(lm.until, locale)
  if (lm.devicesLeft === null || lm.devicesLeft === undefined) return { key: 'learning.shortAny', params: { date } }
  return { key: 'learning.shortCount', params: { date, count: lm.devicesLeft } }
}

/**
 * A desktop device's wipe receipt (DESIGN.md LE4): "Löschung angefordert · <time>" until the device confirmed it,
 * then "Gelöscht · <time>"; null when no wipe was asked for. `format` words a timestamp.
 */
export function wipeMessage(wipe: DeviceWipe | null | undefined, format: (iso: string) => string): Message | null {
  if (!wipe) return null
  if (wipe.doneAt) return { key: 'devices.wipeDone', params: { time: format(wipe.doneAt) } }
  return { key: 'devices.wipeRequested', params: { time: format(wipe.requestedAt) } }
}
