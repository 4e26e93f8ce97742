import { describe, expect, it } from 'vitest'
import { isCommonPin, pinFieldErrors, pinFieldMessage, pinHints, pinProblem } from './pin'

describe('pinProblem', () => {
  it('takes a good PIN', () => {
    expect(pinProblem('583920')).toBe('')
    expect(pinProblem('90817263')).toBe('')
  })

  it('names the problems in the app order and with its codes', () => {
    expect(pinProblem('')).toBe('required')
    expect(pinProblem('12a456')).toBe('invalid')
    expect(pinProblem(' 583920')).toBe('invalid')
    expect(pinProblem('12ab')).toBe('invalid') // not only digits comes before too short
    expect(pinProblem('58392')).toBe('too_short')
    expect(pinProblem('5'.repeat(33))).toBe('too_long')
    expect(pinProblem('123456')).toBe('too_common')
  })

  it('follows the minimum length the app says', () => {
    expect(pinProblem('583920', 8)).toBe('too_short')
    expect(pinProblem('58392017', 8)).toBe('')
  })
})

describe('isCommonPin', () => {
  it.each(['123456', '000000', '121212', '112233', '654321', '111111', '999999', '234567', '890123', '987654', '210987', '123123', '12341234', '147258', '159753'])(
    '%s is too common',
    (pin) => {
      expect(isCommonPin(pin)).toBe(true)
    },
  )

  it.each(['583920', '270415', '918273', '123457', '112234'])('%s is fine', (pin) => {
    expect(isCommonPin(pin)).toBe(false)
  })
})

describe('pinFieldErrors', () => {
  it('has the PIN first, then the repetition', () => {
    expect(pinFieldErrors('', '')).toEqual({ pin: 'required' })
    expect(pinFieldErrors('123456', '123456')).toEqual({ pin: 'too_common' })
    expect(pinFieldErrors('583920', '583921')).toEqual({ repeat: 'mismatch' })
    expect(pinFieldErrors('583920', '')).toEqual({ repeat: 'mismatch' })
    expect(pinFieldErrors('583920', '583920')).toEqual({})
  })
})

describe('pinHints', () => {
  const met = (pin: string, repeat: string) => Object.fromEntries(pinHints(pin, repeat).map((h) => [h.key, h.met]))

  it('marks nothing for an empty PIN', () => {
    expect(met('', '')).toEqual({ length: false, digits: false, uncommon: false, repeat: false })
  })

  it('marks what a PIN meets so far', () => {
    expect(met('583', '')).toEqual({ length: false, digits: true, uncommon: false, repeat: false })
    expect(met('123456', '123456')).toEqual({ length: true, digits: true, uncommon: false, repeat: true })
    expect(met('5839x0', '')).toEqual({ length: true, digits: false, uncommon: false, repeat: false })
    expect(met('583920', '583920')).toEqual({ length: true, digits: true, uncommon: true, repeat: true })
  })
})

describe('pinFieldMessage', () => {
  it('words the PIN errors as its own, with the numbers', () => {
    expect(pinFieldMessage('too_short', 8)).toEqual({ key: 'pin.field.too_short', params: { min: 8, max: 32 } })
    expect(pinFieldMessage('mismatch').key).toBe('pin.field.mismatch')
    expect(pinFieldMessage('too_common').key).toBe('pin.field.too_common')
  })

  it('falls back to the common field messages', () => {
    expect(pinFieldMessage('taken').key).toBe('field.taken')
    expect(pinFieldMessage('brand_new').key).toBe('field.invalid')
  })
})
