import { describe, expect, it } from 'vitest'
import type { DesktopSync } from '../api/types'
import { de } from '../i18n/de'
import { en } from '../i18n/en'
import { translate } from '../i18n/translate'
import { shortMoment, syncLines } from './syncState'

const sync = (s: Partial<DesktopSync>): DesktopSync => ({ online: true, pending: 0, catchingUp: false, received: 0, ...s })
const time = (iso: string) => `T(${iso})`
const say = (messages: Record<string, string>, s: DesktopSync | undefined) =>
  syncLines(s, time).map((l) => translate(messages, l.key, l.params))

describe('syncLines', () => {
  it('says nothing without a sync state (locked, or not logged in at the backend)', () => {
    expect(syncLines(undefined, time)).toEqual([])
    expect(syncLines(null, time)).toEqual([])
  })

  it('names the changes that wait, and when the app last synced', () => {
    expect(say(de, sync({ pending: 3, lastSync: '2026-11-29T08:15:02Z' }))).toEqual([
      '3 Änderungen warten',
      'Abgeglichen T(2026-11-29T08:15:02Z)',
    ])
    expect(say(de, sync({ pending: 1, lastSync: 'x' }))).toEqual(['1 Änderung wartet', 'Abgeglichen T(x)'])
    expect(say(en, sync({ pending: 3, lastSync: 'x' }))).toEqual(['3 changes waiting', 'Synced T(x)'])
    expect(say(en, sync({ pending: 1 }))).toEqual(['1 change waiting', 'Not synced yet'])
    expect(say(de, sync({ lastSync: 'x' }))).toEqual(['Abgeglichen T(x)'])
  })

  it('shows the progress of a first catch-up instead of what waits', () => {
    expect(say(de, sync({ catchingUp: true, received: 1500, pending: 2 }))).toEqual([
      'Abgleich läuft: 1500 empfangen',
      'Noch nicht abgeglichen',
    ])
    expect(say(en, sync({ catchingUp: true, received: 0, lastSync: 'x' }))).toEqual(['Syncing: 0 received', 'Synced T(x)'])
  })
})

describe('shortMoment', () => {
  const now = new Date(2026, 10, 29, 15, 0)
  it('is the time of day today, with the date before', () => {
    expect(shortMoment(new Date(2026, 10, 29, 8, 5).toISOString(), 'de', now)).toBe('08:05')
    expect(shortMoment(new Date(2026, 10, 28, 8, 5).toISOString(), 'de', now)).toMatch(/^28\.11\.,? 08:05$/)
    expect(shortMoment('nonsense', 'de', now)).toBe('')
  })
})
