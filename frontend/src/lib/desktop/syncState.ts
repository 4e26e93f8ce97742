// What the header says about the desktop app's sync (docs/desktop.md, `device.sync`).

import type { DesktopSync } from '../api/types'
import type { MessageKey } from '../i18n/de'
import type { Params } from '../i18n/translate'

export interface SyncLine {
  key: MessageKey
  params?: Params
}

/**
 * The progress of a first catch-up, else the changes that wait for the server (none: nothing to say); then when
 * the app last exchanged changes with the server. `time` formats a moment.
 */
export function syncLines(sync: DesktopSync | undefined | null, time: (iso: string) => string): SyncLine[] {
  if (!sync) return []
  const lines: SyncLine[] = []
  const pending = Math.max(0, Math.floor(sync.pending || 0))
  if (sync.catchingUp) lines.push({ key: 'desktop.sync.catchingUp', params: { count: Math.max(0, sync.received || 0) } })
  else if (pending === 1) lines.push({ key: 'desktop.sync.pendingOne' })
  else if (pending > 1) lines.push({ key: 'desktop.sync.pending', params: { count: pending } })
  const last = sync.lastSync ? time(sync.lastSync) : ''
  lines.push(last ? { key: 'desktop.sync.last', params: { time: last } } : { key: 'desktop.sync.never' })
  return lines
}

/** A moment as the header shows it: the time of day when it is today, else the date and the time. */
export function shortMoment(iso: string, locale: string, now: Date = new Date()): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate()
  const opts: Intl.DateTimeFormatOptions = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'numeric', hour: '2-digit', minute: '2-digit' }
  return new Intl.DateTimeFormat(locale, opts).format(d)
}
