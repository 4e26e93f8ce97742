import { describe, expect, it } from 'vitest'
import apiDoc from '../../../docs/api.md?raw'
import { DEVICE_STATES, type AccountLearningMode, type Device, type LearningMode } from './api/types'
import { daysFromTodayIso, utcDateOf } from './dates'
import {
  deviceKindKey,
  deviceLabel,
  deviceStateKey,
  formatSecurityCode,
  isCompleteSecurityCode,
  learningModeActive,
  learningModeMessage,
  learningModeShortMessage,
  LOGIN_FAILURE_REASONS,
  loginStatusMessage,
  normalizeSecurityCode,
  wipeMessage,
  withoutSecurityCode,
} from './devices'
import { de } from './i18n/de'
import { en } from './i18n/en'
import type { Message } from './i18n/errors'
import { translate } from './i18n/translate'

const inDe = (m: Message) => translate(de, m.key, m.params)
const inEn = (m: Message) => translate(en, m.key, m.params)

/** The server ends an admin's learning mode at the end of the chosen day in UTC. */
const UNTIL = '2027-01-12T23:59:59Z'

describe('learning mode sentence', () => {
  it('counts the devices left', () => {
    const lm: LearningMode = { active: true, until: UNTIL, devicesLeft: 2 }
    expect(inDe(learningModeMessage(lm, 'de'))).toBe('Lernmodus aktiv bis 12.01.2027, noch 2 Geräte')
    expect(inEn(learningModeMessage(lm, 'en'))).toBe('Learning mode on until 12/01/2027, 2 more devices')
  })

  it('says one device in the singular', () => {
    const lm: LearningMode = { active: true, until: UNTIL, devicesLeft: 1 }
    expect(inDe(learningModeMessage(lm, 'de'))).toBe('Lernmodus aktiv bis 12.01.2027, noch 1 Gerät')
    expect(inEn(learningModeMessage(lm, 'en'))).toBe('Learning mode on until 12/01/2027, 1 more device')
  })

  it('says any number when devicesLeft is null', () => {
    const lm: LearningMode = { active: true, until: UNTIL, devicesLeft: null }
    expect(inDe(learningModeMessage(lm, 'de'))).toBe('Lernmodus aktiv bis 12.01.2027, beliebig viele Geräte')
    expect(inEn(learningModeMessage(lm, 'en'))).toBe('Learning mode on until 12/01/2027, any number of devices')
  })

  it('takes the day in UTC, so a deadline late in the UTC day does not move to the next local day', () => {
    const lm: LearningMode = { active: true, until: '2027-03-31T23:59:59Z', devicesLeft: null }
    expect(inDe(learningModeMessage(lm, 'de'))).toContain('bis 31.03.2027,')
  })

  it('says it is off when inactive or used up', () => {
    const off = 'Lernmodus ist aus. Neue Geräte müssen von Ihrer Administration freigegeben werden.'
    expect(inDe(learningModeMessage({ active: false, devicesLeft: null }, 'de'))).toBe(off)
    expect(inDe(learningModeMessage({ active: true, until: UNTIL, devicesLeft: 0 }, 'de'))).toBe(off)
    expect(inDe(learningModeMessage(null, 'de'))).toBe(off)
    expect(inEn(learningModeMessage({ active: false, devicesLeft: null }, 'en'))).toBe(
      'Learning mode is off. New devices must be approved by your administrator.',
    )
  })

  it('has a short form for the admin list', () => {
    const two: AccountLearningMode = { until: UNTIL, devicesLeft: 2 }
    expect(inDe(learningModeShortMessage(two, 'de'))).toBe('bis 12.01.2027, noch 2')
    expect(inEn(learningModeShortMessage(two, 'en'))).toBe('until 12/01/2027, 2 more')
    expect(inDe(learningModeShortMessage({ until: UNTIL, devicesLeft: null }, 'de'))).toBe('bis 12.01.2027, beliebig viele')
    expect(inDe(learningModeShortMessage(undefined, 'de'))).toBe('—')
    expect(inDe(learningModeShortMessage(null, 'de'))).toBe('—')
  })

  it('knows when it is on', () => {
    expect(learningModeActive({ active: true, until: UNTIL, devicesLeft: null })).toBe(true)
    expect(learningModeActive({ active: false, devicesLeft: null })).toBe(false)
    expect(learningModeActive({ until: UNTIL, devicesLeft: 3 })).toBe(true)
    expect(learningModeActive({ until: UNTIL, devicesLeft: 0 })).toBe(false)
    expect(learningModeActive(undefined)).toBe(false)
  })
})

describe('login status', () => {
  const expected: Record<string, [string, string]> = {
    '': ['OK', 'OK'],
    wrong_password: ['Falsches Passwort', 'Wrong password'],
    locked: ['Gesperrt (zu viele Fehlversuche)', 'Locked (too many failed attempts)'],
    inactive: ['Konto deaktiviert', 'Account deactivated'],
    device_pending: ['Unbekanntes Gerät – wartet auf Freigabe', 'Unknown device – waiting for approval'],
    device_blocked: ['Gerät gesperrt', 'Device blocked'],
    outside_ip_range: ['Ausserhalb des IP-Bereichs', 'Outside the IP range'],
    learning_over: ['Lernmodus abgelaufen', 'Learning mode expired'],
    unknown_device: ['Unbekanntes Gerät', 'Unknown device'],
  }

  it.each(Object.entries(expected))('words %j', (reason, [german, english]) => {
    expect(inDe(loginStatusMessage(reason))).toBe(german)
    expect(inEn(loginStatusMessage(reason))).toBe(english)
  })

  it('covers every reason it knows', () => {
    expect([...LOGIN_FAILURE_REASONS].sort()).toEqual(Object.keys(expected).filter(Boolean).sort())
  })

  it('covers every reason of api.md', () => {
    const doc = apiDoc.replace(/\s+/g, ' ')
    const marker = 'after a success):'
    const start = doc.indexOf(marker)
    expect(start, 'api.md should list the lastFailure reasons').toBeGreaterThanOrEqual(0)
    const text = doc.slice(start + marker.length, doc.indexOf(';', start))
    const reasons = [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])
    expect(reasons).toContain('wrong_password')
    for (const reason of reasons) expect(LOGIN_FAILURE_REASONS as readonly string[]).toContain(reason)
  })

  it('treats a missing value as a success and names an unknown reason', () => {
    expect(loginStatusMessage(null).key).toBe('loginStatus.ok')
    expect(loginStatusMessage(undefined).key).toBe('loginStatus.ok')
    expect(inDe(loginStatusMessage('brand_new'))).toBe('Anmeldung abgelehnt (brand_new)')
    expect(loginStatusMessage('constructor').key).toBe('loginStatus.unknown')
  })
})

describe('devices', () => {
  it('translates every state and kind', () => {
    expect(DEVICE_STATES.map((s) => de[deviceStateKey(s)])).toEqual([
      'Vertrauenswürdig',
      'Wartet auf Freigabe',
      'Abgelehnt',
      'Gesperrt',
    ])
    expect(en[deviceStateKey('pending')]).toBe('Waiting for approval')
    expect(de[deviceKindKey('desktop')]).toBe('Desktop-App')
    expect(de[deviceKindKey('browser')]).toBe('Browser')
  })

  it('names a device by its name, else its platform', () => {
    expect(deviceLabel({ name: 'Laptop Schule', platform: 'Firefox on Linux' })).toBe('Laptop Schule')
    expect(deviceLabel({ name: '  ', platform: 'Firefox on Linux' })).toBe('Firefox on Linux')
    expect(deviceLabel({ name: '', platform: '' })).toBe('')
  })

  it('drops the security code for admin views', () => {
    const d: Device = {
      id: 'd1',
      userId: 'u1',
      kind: 'browser',
      state: 'pending',
      name: '',
      platform: 'Chrome on Windows',
      osUser: '',
      firstIp: '10.0.0.1',
      lastIp: '10.0.0.1',
      firstSeen: '2026-11-28T10:00:00Z',
      lastSeen: '2026-11-28T10:00:00Z',
      code: '482-913-275',
      current: false,
    }
    const shown = withoutSecurityCode(d)
    expect(shown).not.toHaveProperty('code')
    expect(JSON.stringify(shown)).not.toContain('482')
    expect(d.code).toBe('482-913-275')
  })
})

describe('security code', () => {
  it.each([
    ['482-913-275', '482913275', '482-913-275'],
    ['482913275', '482913275', '482-913-275'],
    [' 482 913 275 ', '482913275', '482-913-275'],
    ['482.913–275', '482913275', '482-913-275'],
  ])('%j', (typed, digits, shown) => {
    expect(normalizeSecurityCode(typed)).toBe(digits)
    expect(formatSecurityCode(typed)).toBe(shown)
    expect(isCompleteSecurityCode(typed)).toBe(true)
  })

  it('leaves anything that is not nine digits as it came', () => {
    expect(formatSecurityCode('12-34')).toBe('12-34')
    expect(formatSecurityCode('1234567890')).toBe('1234567890')
    expect(formatSecurityCode('')).toBe('')
    expect(isCompleteSecurityCode('12345678')).toBe(false)
    expect(isCompleteSecurityCode('1234567890')).toBe(false)
    expect(isCompleteSecurityCode('abc')).toBe(false)
  })
})

describe('dates for learning mode', () => {
  it('takes the UTC day of a timestamp and keeps a plain date', () => {
    expect(utcDateOf('2027-01-12T23:59:59Z')).toBe('2027-01-12')
    expect(utcDateOf('2027-01-13T00:30:00+01:00')).toBe('2027-01-12')
    expect(utcDateOf('2027-01-12')).toBe('2027-01-12')
    expect(utcDateOf('')).toBe('')
    expect(utcDateOf('nonsense')).toBe('')
  })

  it('defaults the deadline to a week from today, across month ends', () => {
    expect(daysFromTodayIso(7, new Date(2026, 10, 28, 15, 0))).toBe('2026-12-05')
    expect(daysFromTodayIso(7, new Date(2026, 11, 29, 0, 5))).toBe('2027-01-05')
  })
})

describe('wipe receipt', () => {
  const at = (iso: string) => `<${iso}>`

  it('is requested, then done', () => {
    expect(wipeMessage(undefined, at)).toBeNull()
    const requested = wipeMessage({ requestedAt: '2026-11-02T09:00:00Z' }, at)!
    expect(inDe(requested)).toBe('Löschung angefordert · <2026-11-02T09:00:00Z>')
    expect(inEn(requested)).toBe('Wipe requested · <2026-11-02T09:00:00Z>')
    const done = wipeMessage({ requestedAt: '2026-11-02T09:00:00Z', doneAt: '2026-11-02T09:01:00Z' }, at)!
    expect(inDe(done)).toBe('Gelöscht · <2026-11-02T09:01:00Z>')
    expect(inEn(done)).toBe('Wiped · <2026-11-02T09:01:00Z>')
  })
})
