// The desktop app's UI state beside the session: what to tell after a wipe, who was using the app before it
// locked, and the reactions to answers that concern the whole app (423 `locked`, 503 `needs_connection`).

import { api } from '../api/client'
import type { ApiError } from '../api/error'
import type { DesktopDevice } from '../api/types'
import { loadEnv, session } from '../session.svelte'
import { desktopApi } from './api'
import { attemptsLeftOf, desktopReaction, updateDevice } from './device'

export { attemptsLeftOf }

/** Why the app is back at its start: it wiped itself (wrong PINs, or blocked), or the school rejected the device. */
export type DesktopNotice = 'wiped' | 'rejected' | null

export const desktop = $state<{
  notice: DesktopNotice
  /** The display name of the person who used the app before it locked (in memory only), for the PIN screen. */
  lastUser: string
}>({ notice: null, lastUser: '' })

let current: Promise<void> | null = null
let queued: Promise<void> | null = null

/**
 * Reads the environment again, after anything that may have changed the phase. A call while one is under way
 * reads it once more after that one (which may have started before the change); further calls share that one.
 * The name of the person is kept for the PIN screen (env has no user while the app is locked).
 */
export function reloadEnv(): Promise<void> {
  if (session.user) desktop.lastUser = session.user.displayName
  if (!current) {
    current = loadEnv().finally(() => (current = null))
    return current
  }
  queued ??= current.then(() => {
    queued = null
    return reloadEnv()
  })
  return queued
}

/** The app answered with a device: keep it, and read the environment again if the phase changed. */
export async function applyDevice(device: DesktopDevice): Promise<void> {
  if (session.device && device.phase === session.device.phase) {
    updateDevice(session.device, device)
    return
  }
  await reloadEnv()
}

/**
 * Asks the app for its device again: online or not, the sync state, and a lock or wipe it did on its own (a
 * device the school blocked is back at its start).
 */
export async function refreshDevice(): Promise<void> {
  const device = await desktopApi.status()
  if (device.phase === 'welcome' || device.phase === 'connect') await wiped('wiped')
  else await applyDevice(device)
}

/** Locks the app now (the "Sperren" button, the idle timer) and shows the PIN screen. */
export async function lockNow(): Promise<void> {
  try {
    await desktopApi.lock()
  } catch {
    // Locked already, or in another phase: the environment says which.
  }
  await reloadEnv()
}

/** The app wiped itself: back to the start, with the notice why. */
export async function wiped(notice: Exclude<DesktopNotice, null> = 'wiped'): Promise<void> {
  desktop.notice = notice
  desktop.lastUser = ''
  session.user = null
  await reloadEnv()
}

/** After a wrong PIN: the device's attempts left as the answer says. */
export function noteWrongPin(err: unknown): void {
  const left = attemptsLeftOf(err)
  if (left !== null && session.device) session.device.pinAttemptsLeft = left
}

/**
 * What every answer of the desktop app may mean for the whole UI: 423 `locked` shows the PIN screen and 409
 * `wrong_phase` the current phase's screen (both by reading the environment again); 503 `needs_connection` marks
 * the app offline. Nothing happens in a browser.
 */
export function handleDesktopError(err: ApiError): void {
  if (!session.device) return
  const reaction = desktopReaction(err, session.device.phase)
  if (reaction === 'reload') void reloadEnv()
  if (reaction === 'offline') session.device.online = false
}

api.onError(handleDesktopError)
