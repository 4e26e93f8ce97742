import { describe, expect, it } from 'vitest'
import apiDoc from '../../../../docs/api.md?raw'
import { ApiError, API_ERROR_CODES, CLIENT_ERROR_CODES, FIELD_ERROR_CODES, IMPORT_FILE_ERROR_CODES } from '../api/error'
import { de } from './de'
import { en } from './en'
import { errorMessage, fieldErrorMessage, importFileErrorMessage } from './errors'
import { translate } from './translate'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

/** api.md with every run of white space as one space, so line breaks do not matter. */
const doc = apiDoc.replace(/\s+/g, ' ')

/** Backticked words of the text in api.md that follows `marker`, up to `end`. */
function codesAfter(marker: string, end: string): string[] {
  const start = doc.indexOf(marker)
  expect(start, `api.md should contain ${JSON.stringify(marker)}`).toBeGreaterThanOrEqual(0)
  const stop = doc.indexOf(end, start + marker.length)
  const text = doc.slice(start + marker.length, stop < 0 ? undefined : stop)
  return [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])
}

describe('locale files', () => {
  it('have exactly the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(de).sort())
  })

  it('have no empty strings', () => {
    for (const [locale, messages] of Object.entries({ de, en })) {
      for (const [key, value] of Object.entries(messages)) {
        expect(value.trim(), `${locale} ${key}`).not.toBe('')
      }
    }
  })

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(de) as (keyof typeof de)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(de[key]))
    }
  })
})

describe('translations of api.md codes', () => {
  const errorCodes = codesAfter('Error codes:', '## ')
  const fieldCodes = codesAfter('field error code (', ')')
  const fileCodes = codesAfter('is a file-level problem (', ')')

  it('finds the codes in api.md', () => {
    expect(errorCodes).toContain('validation_failed')
    expect(errorCodes.length).toBeGreaterThanOrEqual(15)
    expect(fieldCodes).toContain('required')
    expect(fileCodes).toContain('missing_header')
  })

  it('the client knows every code of api.md', () => {
    expect([...API_ERROR_CODES].sort()).toEqual([...new Set(errorCodes)].sort())
    expect([...FIELD_ERROR_CODES].sort()).toEqual([...new Set(fieldCodes)].sort())
    expect([...IMPORT_FILE_ERROR_CODES].sort()).toEqual([...new Set(fileCodes)].sort())
  })

  it.each([...new Set([...errorCodes, ...CLIENT_ERROR_CODES])])('error code %s is translated', (code) => {
    expect(de).toHaveProperty(`error.${code}`)
    expect(en).toHaveProperty(`error.${code}`)
    const msg = errorMessage(new ApiError({ status: 400, code }))
    expect(msg.key).toBe(`error.${code}`)
  })

  it.each([...new Set(fieldCodes)])('field error code %s is translated', (code) => {
    expect(fieldErrorMessage(code).key).toBe(`field.${code}`)
  })

  it.each([...new Set(fileCodes)])('import file error %s is translated', (code) => {
    expect(importFileErrorMessage(code).key).toBe(`import.fileError.${code}`)
  })
})

describe('errorMessage', () => {
  it('words not_found for the thing looked at', () => {
    const err = new ApiError({ status: 404, code: 'not_found' })
    expect(errorMessage(err, { notFound: 'course.notFound' }).key).toBe('course.notFound')
    expect(errorMessage(err).key).toBe('error.not_found')
  })

  it('names the wait of too_many_attempts', () => {
    const err = new ApiError({ status: 429, code: 'too_many_attempts', retryAfter: 30 })
    expect(errorMessage(err)).toEqual({ key: 'error.too_many_attempts_wait', params: { seconds: 30 } })
  })

  it('falls back for unknown codes and non-API errors', () => {
    expect(errorMessage(new ApiError({ status: 400, code: 'brand_new' }))).toEqual({
      key: 'error.unknown',
      params: { code: 'brand_new' },
    })
    expect(errorMessage(new Error('boom')).key).toBe('error.unknown')
    expect(fieldErrorMessage('something_else').key).toBe('field.invalid')
  })
})

describe('translate', () => {
  it('fills placeholders and keeps unknown ones', () => {
    expect(translate(de, 'lesson.title', { date: '03.11.2025' })).toBe('Stunde vom 03.11.2025')
    expect(translate({ a: '{x} and {y}' }, 'a', { x: 1 })).toBe('1 and {y}')
  })

  it('shows a missing key rather than nothing', () => {
    expect(translate({}, 'no.such.key')).toBe('no.such.key')
  })
})
