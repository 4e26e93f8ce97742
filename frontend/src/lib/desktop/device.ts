// Pure helpers about the desktop app's device and its answers (kept apart from the session, so they are tested
// without a window).

import { ApiError } from '../api/error'
import type { DesktopDevice } from '../api/types'

/**
 * Copies a device's members into the one the UI holds, one by one: a member that stays the same wakes nobody
 * (the idle timer, for one, must not start again because the device was asked for).
 */
export function updateDevice(target: DesktopDevice, next: DesktopDevice): void {
  const t = target as unknown as Record<string, unknown>
  const n = next as unknown as Record<string, unknown>
  for (const key of Object.keys(t)) if (!Object.hasOwn(n, key)) delete t[key]
  for (const [key, value] of Object.entries(n)) if (!Object.is(t[key], value)) t[key] = value
}

/** The attempts left that a 403 `wrong_pin` answer names (`attemptsLeft`), or null when it names none. */
export function attemptsLeftOf(err: unknown): number | null {
  if (!(err instanceof ApiError) || err.code !== 'wrong_pin') return null
  const n = err.details.attemptsLeft
  return typeof n === 'number' && Number.isFinite(n) ? Math.max(0, Math.floor(n)) : null
}

/** What an error answer means for the whole desktop UI: read the environment again, or mark the app offline. */
export type DesktopReaction = 'reload' | 'offline' | null

/**
 * 423 `locked` while the UI thinks it is in use: reload (the PIN screen follows); 409 `wrong_phase`: the UI is
 * behind the app, reload; 503 `needs_connection`: offline.
 */
export function desktopReaction(err: ApiError, phase: string): DesktopReaction {
  if (err.code === 'locked' && phase === 'ready') return 'reload'
  if (err.code === 'wrong_phase') return 'reload'
  if (err.code === 'needs_connection') return 'offline'
  return null
}
