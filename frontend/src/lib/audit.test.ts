import { describe, expect, it } from 'vitest'
import apiDoc from '../../../docs/api.md?raw'
import { ApiClient, auditQuery } from './api/client'
import { AUDIT_OUTCOMES } from './api/types'
import {
  AUDIT_ACTIONS,
  AUDIT_REASONS,
  auditActionMessage,
  auditOutcomeMessage,
  auditReasonMessage,
  shortDeviceId,
} from './audit'
import { de } from './i18n/de'
import { en } from './i18n/en'
import type { Message } from './i18n/errors'
import { translate } from './i18n/translate'

const inDe = (m: Message) => translate(de, m.key, m.params)
const inEn = (m: Message) => translate(en, m.key, m.params)

/** api.md with every run of white space as one space, so line breaks do not matter. */
const doc = apiDoc.replace(/\s+/g, ' ')

/** Backticked words of api.md between `marker` (after `after`, if given) and `end`. */
function codesAfter(marker: string, end: string, after = ''): string[] {
  const from = after ? doc.indexOf(after) : 0
  expect(from, `api.md should contain ${JSON.stringify(after)}`).toBeGreaterThanOrEqual(0)
  const start = doc.indexOf(marker, from)
  expect(start, `api.md should contain ${JSON.stringify(marker)}`).toBeGreaterThanOrEqual(0)
  const stop = doc.indexOf(end, start + marker.length)
  const text = doc.slice(start + marker.length, stop < 0 ? undefined : stop)
  return [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])
}

describe('audit query string', () => {
  it('is empty without filters', () => {
    expect(auditQuery({})).toBe('')
    expect(auditQuery({ userId: '', action: '', outcome: '', from: '', to: '' })).toBe('')
    expect(auditQuery({ action: '   ' }, { cursor: '' })).toBe('')
  })

  it('names every filter in a fixed order and leaves "all" out', () => {
    expect(
      auditQuery({ to: '2026-12-31', from: '2026-11-01', outcome: 'refused', action: 'login', userId: 'u-1' }),
    ).toBe('?userId=u-1&action=login&outcome=refused&from=2026-11-01&to=2026-12-31')
    expect(auditQuery({ userId: '', action: 'device_blocked', outcome: '' })).toBe('?action=device_blocked')
    expect(auditQuery({ from: '2026-11-01' })).toBe('?from=2026-11-01')
  })

  it('encodes values and appends extras after the filters', () => {
    expect(auditQuery({ userId: 'a b&c=d' }, { cursor: 'o500/x' })).toBe('?userId=a%20b%26c%3Dd&cursor=o500%2Fx')
    expect(auditQuery({}, { sep: 'semicolon' })).toBe('?sep=semicolon')
  })

  it('builds the CSV links with the same filters, and sep=semicolon for Excel', () => {
    const client = new ApiClient(async () => new Response(null))
    expect(client.auditCsvHref({})).toBe('/api/v1/audit.csv')
    expect(client.auditCsvHref({}, { semicolon: true })).toBe('/api/v1/audit.csv?sep=semicolon')
    const filter = { userId: 'u1', action: 'login', outcome: 'allowed', from: '2026-11-01', to: '2026-11-30' }
    expect(client.auditCsvHref(filter)).toBe(
      '/api/v1/audit.csv?userId=u1&action=login&outcome=allowed&from=2026-11-01&to=2026-11-30',
    )
    expect(client.auditCsvHref(filter, { semicolon: true })).toBe(
      '/api/v1/audit.csv?userId=u1&action=login&outcome=allowed&from=2026-11-01&to=2026-11-30&sep=semicolon',
    )
    expect(client.auditCsvHref({ outcome: 'refused' }, { semicolon: false })).toBe('/api/v1/audit.csv?outcome=refused')
  })
})

describe('audit actions', () => {
  const documented = codesAfter('actions:', '- **', '**AuditEntry**')

  it('finds the actions in api.md', () => {
    expect(documented).toContain('login')
    expect(documented).toContain('ip_ranges_changed')
    expect(documented.length).toBeGreaterThanOrEqual(14)
  })

  it('knows every action of api.md', () => {
    for (const action of documented) expect(AUDIT_ACTIONS as readonly string[]).toContain(action)
  })

  it.each([...AUDIT_ACTIONS])('words %s in both languages', (action) => {
    const msg = auditActionMessage(action)
    expect(msg.key).toBe(`auditAction.${action}`)
    expect(de).toHaveProperty(msg.key)
    expect(en).toHaveProperty(msg.key)
    expect(inDe(msg)).not.toBe(action)
  })

  it('has distinct German labels', () => {
    const labels = AUDIT_ACTIONS.map((a) => inDe(auditActionMessage(a)))
    expect(new Set(labels).size).toBe(labels.length)
  })

  it.each<[string, string, string]>([
    ['login', 'Anmeldung', 'Login'],
    ['device_approved', 'Gerät freigegeben', 'Device approved'],
    ['device_blocked', 'Gerät gesperrt', 'Device blocked'],
    ['learning_mode_enabled', 'Lernmodus eingeschaltet', 'Learning mode turned on'],
    ['ip_ranges_changed', 'IP-Bereiche geändert', 'IP ranges changed'],
    ['device_policy_changed', 'Geräterichtlinie geändert', 'Device policy changed'],
  ])('%s is "%s"', (action, german, english) => {
    expect(inDe(auditActionMessage(action))).toBe(german)
    expect(inEn(auditActionMessage(action))).toBe(english)
  })

  it('shows an unknown action as it is', () => {
    expect(inDe(auditActionMessage('brand_new'))).toBe('brand_new')
    expect(inDe(auditActionMessage('constructor'))).toBe('constructor')
  })
})

describe('audit outcomes', () => {
  it('covers the outcomes of api.md', () => {
    const entry = doc.slice(doc.indexOf('**AuditEntry**'))
    const m = /"outcome":((?:"[a-z_]+"\|?)+)/.exec(entry)
    expect(m, 'api.md should list the outcomes of AuditEntry').not.toBeNull()
    const documented = [...m![1].matchAll(/"([a-z_]+)"/g)].map((x) => x[1])
    expect([...AUDIT_OUTCOMES].sort()).toEqual([...documented].sort())
  })

  it('words them', () => {
    expect(AUDIT_OUTCOMES.map((o) => inDe(auditOutcomeMessage(o)))).toEqual(['erlaubt', 'abgelehnt', 'erledigt'])
    expect(AUDIT_OUTCOMES.map((o) => inEn(auditOutcomeMessage(o)))).toEqual(['allowed', 'refused', 'done'])
    expect(inDe(auditOutcomeMessage('odd'))).toBe('odd')
  })
})

describe('audit reasons', () => {
  /** The reasons the audit view must word (the brief), plus the login failures of api.md. */
  const required = [
    'wrong_password',
    'unknown_user',
    'locked',
    'inactive',
    'device_pending',
    'device_blocked',
    'outside_ip_range',
    'trusted_device',
    'learning_mode',
    'wrong_code',
    'recovery_code',
  ]

  it('covers every required reason and every lastFailure reason of api.md', () => {
    const lastFailure = codesAfter('after a success):', ';')
    expect(lastFailure).toContain('wrong_password')
    for (const reason of [...required, ...lastFailure]) {
      expect(AUDIT_REASONS as readonly string[]).toContain(reason)
    }
  })

  it.each([...AUDIT_REASONS])('words %s in both languages', (reason) => {
    const msg = auditReasonMessage(reason)
    expect(msg.key).toBe(`auditReason.${reason}`)
    expect(de).toHaveProperty(msg.key)
    expect(en).toHaveProperty(msg.key)
    expect(inDe(msg)).not.toBe(reason)
    expect(inEn(msg)).not.toBe(reason)
  })

  it.each<[string, string]>([
    ['wrong_password', 'Falsches Passwort'],
    ['unknown_user', 'Unbekannter Benutzername'],
    ['outside_ip_range', 'Ausserhalb der erlaubten IP-Bereiche'],
    ['recovery_code', 'Mit Wiederherstellungscode'],
    ['wrong_code', 'Falscher Sicherheitscode'],
  ])('%s is "%s"', (reason, german) => {
    expect(inDe(auditReasonMessage(reason))).toBe(german)
  })

  it('shows other reasons as they are, and none as nothing', () => {
    expect(inDe(auditReasonMessage('10.0.0.0/8 192.0.2.0/24', 'ip_ranges_changed'))).toBe('10.0.0.0/8 192.0.2.0/24')
    expect(inDe(auditReasonMessage('until 2027-01-12, 2 devices'))).toBe('until 2027-01-12, 2 devices')
    expect(inDe(auditReasonMessage('hasOwnProperty'))).toBe('hasOwnProperty')
    expect(inDe(auditReasonMessage(''))).toBe('')
  })

  it('words a changed device policy', () => {
    const reason = 'pin_attempts=7 idle_minutes=3 offline_days=14 wipe_days=90'
    expect(inDe(auditReasonMessage(reason, 'device_policy_changed'))).toBe(
      '7 PIN-Versuche, Sperre nach 3 Min., offline 14 Tage, Löschung nach 90 Tagen',
    )
    expect(inEn(auditReasonMessage(reason, 'device_policy_changed'))).toBe(
      '7 PIN attempts, lock after 3 min, offline 14 days, erase after 90 days',
    )
    expect(inDe(auditReasonMessage('pin_attempts=7', 'device_policy_changed'))).toBe('pin_attempts=7')
  })

  it('names the role of a new account', () => {
    expect(inDe(auditReasonMessage('teacher', 'user_created'))).toBe('Lehrperson')
    expect(inEn(auditReasonMessage('admin', 'user_created'))).toBe('Administrator')
    expect(inDe(auditReasonMessage('teacher', 'login'))).toBe('teacher')
  })
})

describe('device id', () => {
  it('is shortened to its first 8 characters', () => {
    expect(shortDeviceId('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')).toBe('2e3f4a5b')
    expect(shortDeviceId('abc')).toBe('abc')
    expect(shortDeviceId('')).toBe('')
  })
})
