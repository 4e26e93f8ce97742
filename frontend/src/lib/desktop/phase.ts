// Which screen the desktop app shows, from what GET /api/v1/env says (docs/desktop.md).

import { DESKTOP_PHASES, type DesktopDevice, type DesktopPhase } from '../api/types'

/** A desktop screen of its own, `app` for the normal UI, or `unknown` for a phase this UI does not know. */
export type DesktopScreen = Exclude<DesktopPhase, 'ready'> | 'app' | 'unknown'

export function isDesktopPhase(phase: unknown): phase is DesktopPhase {
  return typeof phase === 'string' && (DESKTOP_PHASES as readonly string[]).includes(phase)
}

/**
 * The screen for an environment: null in a browser (host `server`, or no device), where the UI is as it always
 * was; `app` once the desktop is `ready`; else the phase's own screen.
 */
export function desktopScreen(env: { host: string; device?: DesktopDevice | null }): DesktopScreen | null {
  if (env.host !== 'desktop' || !env.device) return null
  const { phase } = env.device
  if (!isDesktopPhase(phase)) return 'unknown'
  return phase === 'ready' ? 'app' : phase
}
