// The rules of a desktop PIN, mirrored from the app (app/pin) as hints: the app decides, and its field errors are
// shown as they come.

import { fieldErrorMessage, isMessageKey, type Message } from '../i18n/errors'

export const PIN_MIN_LENGTH = 6
export const PIN_MAX_LENGTH = 32

/** PINs at the top of every leaked list, beyond the shapes isCommonPin finds (the app's list). */
const COMMON_PINS = new Set([
  '121212', '112233', '123123', '123321', '111222', '131313', '159753', '147258', '147852', '258456', '654321',
  '696969', '101010', '202020', '520520', '123654', '212121', '232323', '252525', '007007', '110110', '222333',
  '789456', '456123', '102030', '142536', '200000', '100000', '1234567890', '0987654321', '12341234', '11223344',
  '12121212', '88888888',
])

/** Whether a PIN of digits is one attackers try first: listed, a run up or down (9→0 too), or a repeated block. */
export function isCommonPin(pin: string): boolean {
  if (COMMON_PINS.has(pin)) return true
  let up = true
  let down = true
  for (let i = 1; i < pin.length; i++) {
    const d = (pin.charCodeAt(i) - pin.charCodeAt(i - 1) + 10) % 10
    up &&= d === 1
    down &&= d === 9
  }
  if (up || down) return true
  for (let size = 1; size <= pin.length / 2; size++) {
    if (pin.length % size === 0 && pin.slice(0, size).repeat(pin.length / size) === pin) return true
  }
  return false
}

export type PinProblem = '' | 'required' | 'invalid' | 'too_short' | 'too_long' | 'too_common'

/** What is wrong with a new PIN, in the app's order and with its field error codes; "" when nothing. */
export function pinProblem(pin: string, minLength = PIN_MIN_LENGTH): PinProblem {
  if (pin === '') return 'required'
  if (!/^[0-9]+$/.test(pin)) return 'invalid'
  if (pin.length < minLength) return 'too_short'
  if (pin.length > PIN_MAX_LENGTH) return 'too_long'
  if (isCommonPin(pin)) return 'too_common'
  return ''
}

/** The field errors of a new PIN and its repetition, as the app would answer them (empty when it would take it). */
export function pinFieldErrors(pin: string, repeat: string, minLength = PIN_MIN_LENGTH): Record<string, string> {
  const problem = pinProblem(pin, minLength)
  if (problem !== '') return { pin: problem }
  if (repeat !== pin) return { repeat: 'mismatch' }
  return {}
}

/** One line of the checklist beside a new PIN. */
export interface PinHint {
  key: 'length' | 'digits' | 'uncommon' | 'repeat'
  /** Whether the PIN as typed so far meets it. */
  met: boolean
}

/** The rules of a new PIN, each with whether it is met yet; used to show the person what is still missing. */
export function pinHints(pin: string, repeat: string, minLength = PIN_MIN_LENGTH): PinHint[] {
  const digits = pin !== '' && /^[0-9]+$/.test(pin)
  return [
    { key: 'length', met: pin.length >= minLength && pin.length <= PIN_MAX_LENGTH },
    { key: 'digits', met: digits },
    { key: 'uncommon', met: digits && pin.length >= minLength && !isCommonPin(pin) },
    { key: 'repeat', met: pin !== '' && repeat === pin },
  ]
}

/** The message of a PIN's field error: the PIN's own wording where there is one, else the common one. */
export function pinFieldMessage(code: string, minLength = PIN_MIN_LENGTH): Message {
  const key = `pin.field.${code}`
  if (isMessageKey(key)) return { key, params: { min: minLength, max: PIN_MAX_LENGTH } }
  return fieldErrorMessage(code)
}
