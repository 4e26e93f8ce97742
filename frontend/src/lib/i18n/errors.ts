import { ApiError } from '../api/error'
import { de, type MessageKey } from './de'
import type { Params } from './translate'

export interface Message {
  key: MessageKey
  params?: Params
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(de, key)
}

/** Where an error happened, to word `not_found` and `forbidden` for the thing the person was looking at. */
export interface ErrorContext {
  notFound?: MessageKey
  forbidden?: MessageKey
  invalidCredentials?: MessageKey
}

/** The message for any error of an API call (or anything else thrown). */
export function errorMessage(err: unknown, ctx: ErrorContext = {}): Message {
  if (!(err instanceof ApiError)) return { key: 'error.unknown', params: { code: '?' } }
  if (err.code === 'not_found' && ctx.notFound) return { key: ctx.notFound }
  if (err.code === 'forbidden' && ctx.forbidden) return { key: ctx.forbidden }
  if (err.code === 'invalid_credentials' && ctx.invalidCredentials) return { key: ctx.invalidCredentials }
  if (err.code === 'too_many_attempts' && err.retryAfter !== null) {
    return { key: 'error.too_many_attempts_wait', params: { seconds: err.retryAfter } }
  }
  const key = `error.${err.code}`
  if (isMessageKey(key)) return { key }
  return { key: 'error.unknown', params: { code: err.code } }
}

/** The message for a field error code (`required`, `too_short`, …, and the UI's own `mismatch`). */
export function fieldErrorMessage(code: string): Message {
  const key = `field.${code}`
  return isMessageKey(key) ? { key } : { key: 'field.invalid' }
}

/** The message for a file-level problem of a CSV import. */
export function importFileErrorMessage(code: string): Message {
  const key = `import.fileError.${code}`
  return isMessageKey(key) ? { key } : { key: 'import.fileError.unknown', params: { code } }
}
