import { api } from './api/client'
import type { ApiError } from './api/error'
import type { DesktopDevice, Parent, User } from './api/types'
import { parseHash } from './router/routes'
import { replaceRoute } from './router/router.svelte'

export type SessionNotice = 'expired' | 'loggedOut' | 'deviceRemoved' | 'accountDeleted' | null

/** What the UI knows about the server and the person using it. */
export const session = $state<{
  loaded: boolean
  loadError: ApiError | null
  host: string
  version: string
  setupRequired: boolean
  user: User | null
  /** A logged-in parent account (a parent is never also a `user`). */
  parent: Parent | null
  notice: SessionNotice
  /** The desktop app's device (docs/desktop.md); null in a browser. */
  device: DesktopDevice | null
}>({
  loaded: false,
  loadError: null,
  host: '',
  version: '',
  setupRequired: false,
  user: null,
  parent: null,
  notice: null,
  device: null,
})

/** The setup token, kept in memory only. */
const setup = $state({ token: '' })

/**
 * Reads a setup token from `#/setup/<token>` and removes it from the address bar, so it is neither kept in the
 * history nor shown over someone's shoulder. The fragment never reaches the server.
 */
export function takeSetupTokenFromAddress(): void {
  const route = parseHash(location.hash)
  if (route.name === 'setup' && route.token !== '') {
    setup.token = route.token
    replaceRoute({ name: 'setup', token: '' })
  }
}

// The link may also be opened in a tab that already shows Pult.
window.addEventListener('hashchange', takeSetupTokenFromAddress)

export function currentSetupToken(): string {
  return setup.token
}

export async function loadEnv(): Promise<void> {
  try {
    const env = await api.env()
    session.host = env.host
    session.version = env.version
    session.setupRequired = env.setupRequired
    session.user = env.user ?? null
    session.parent = env.parent ?? null
    session.device = env.host === 'desktop' ? (env.device ?? null) : null
    session.loadError = null
  } catch (err) {
    session.loadError = err as ApiError
  } finally {
    session.loaded = true
  }
}

export function signedIn(user: User): void {
  session.user = user
  session.setupRequired = false
  session.notice = null
  setup.token = ''
}

/** A parent account logged in. */
export function signedInParent(parent: Parent): void {
  session.parent = parent
  session.user = null
  session.notice = null
}

export async function logout(): Promise<void> {
  try {
    await api.logout()
  } catch {
    // The session is gone for this page either way.
  }
  session.user = null
  session.parent = null
  session.notice = 'loggedOut'
}

/** A parent deleted their account; the server has already ended the session. */
export function parentAccountDeleted(): void {
  session.parent = null
  session.notice = 'accountDeleted'
}

/** The person removed the device they sit at; the server has already ended the session. */
export function removedOwnDevice(): void {
  session.user = null
  session.notice = 'deviceRemoved'
}

/** The session has ended (timed out, or ended elsewhere): the login form shows, saying why. */
export function sessionExpired(): void {
  if (session.user || session.parent) session.notice = 'expired'
  session.user = null
  session.parent = null
}

api.onUnauthenticated(sessionExpired)

/** The token of a link from a mail (`#/parent/confirm/<token>`, `#/parent/reset/<token>`), kept in memory only. */
const mailLink = $state({ token: '' })

/**
 * Reads the token of a confirmation or reset link and removes it from the address bar, like the setup token: it
 * is neither kept in the history nor shown over someone's shoulder. The fragment never reaches the server.
 */
export function takeMailTokenFromAddress(): void {
  const route = parseHash(location.hash)
  if ((route.name === 'parentConfirm' || route.name === 'parentReset') && route.token !== '') {
    mailLink.token = route.token
    replaceRoute({ name: route.name, token: '' })
  }
}

window.addEventListener('hashchange', takeMailTokenFromAddress)

export function currentMailToken(): string {
  return mailLink.token
}
