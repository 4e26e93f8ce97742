import { describe, expect, it } from 'vitest'
import desktopDoc from '../../../../docs/desktop.md?raw'
import { ApiError, API_ERROR_CODES, DESKTOP_FIELD_ERROR_CODES } from '../api/error'
import { de } from '../i18n/de'
import { en } from '../i18n/en'
import { errorMessage, fieldErrorMessage } from '../i18n/errors'
import { pinFieldMessage } from './pin'

/** desktop.md with every run of white space as one space. */
const doc = desktopDoc.replace(/\s+/g, ' ')

function codesBetween(marker: string, end: string): string[] {
  const start = doc.indexOf(marker)
  expect(start, `desktop.md should contain ${JSON.stringify(marker)}`).toBeGreaterThanOrEqual(0)
  const stop = doc.indexOf(end, start + marker.length)
  return [...doc.slice(start + marker.length, stop < 0 ? undefined : stop).matchAll(/`([a-z_]+)`/g)].map((m) => m[1])
}

describe('codes of docs/desktop.md', () => {
  const errorCodes = [...new Set(codesBetween('Error codes of the desktop:', '## '))]
  const pinFields = [...new Set(codesBetween('Field errors of a PIN:', 'Error codes of the desktop:'))].filter(
    (c) => c !== 'pin' && c !== 'repeat',
  )

  it('finds them', () => {
    expect(errorCodes).toContain('locked')
    expect(errorCodes).toContain('wrong_pin')
    expect(pinFields).toContain('too_common')
    expect(pinFields).toContain('mismatch')
  })

  it.each(errorCodes)('error code %s is known and translated', (code) => {
    expect(API_ERROR_CODES).toContain(code)
    expect(de).toHaveProperty(`error.${code}`)
    expect(en).toHaveProperty(`error.${code}`)
    expect(errorMessage(new ApiError({ status: 400, code })).key).toBe(`error.${code}`)
  })

  it.each(pinFields)('PIN field error %s is worded', (code) => {
    expect(pinFieldMessage(code).key).toBe(`pin.field.${code}`)
  })

  it.each([...DESKTOP_FIELD_ERROR_CODES])('desktop field error %s has a common wording too', (code) => {
    expect(pinFields).toContain(code)
    expect(fieldErrorMessage(code).key).toBe(`field.${code}`)
  })
})
