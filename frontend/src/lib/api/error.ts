/** Error codes of docs/api.md, plus the UI's own `network` (no answer) and `unknown` (an answer without a code). */
export const API_ERROR_CODES = [
  'invalid_json',
  'unknown_field',
  'body_too_large',
  'unsupported_media_type',
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'device_pending',
  'device_blocked',
  'device_proof_invalid',
  'cross_origin',
  'not_found',
  'invalid_credentials',
  'too_many_attempts',
  'setup_done',
  'would_lock_out',
  'last_admin_device',
  'method_not_allowed',
  'upgrade_required',
  'setup_token_invalid',
  'last_admin',
  'import_invalid_rows',
  'conflict',
  'license_invalid',
  'license_in_use',
  'link_invalid',
  'internal',
  // The desktop app's own (docs/desktop.md).
  'locked',
  'needs_connection',
  'wrong_pin',
  'wiped',
  'certificate_mismatch',
  'wrong_phase',
  'offline_too_long',
] as const

export const CLIENT_ERROR_CODES = ['network', 'unknown'] as const

/** Field error codes of docs/api.md. */
export const FIELD_ERROR_CODES = [
  'required',
  'too_long',
  'invalid',
  'invalid_date',
  'invalid_time',
  'too_short',
  'taken',
  'out_of_range',
  'not_enrolled',
  'unknown_value',
  'unknown_placeholder',
] as const

/** Field error codes of a desktop PIN beyond the common ones (docs/desktop.md): `too_common`, and `mismatch` of `repeat`. */
export const DESKTOP_FIELD_ERROR_CODES = ['too_common', 'mismatch'] as const

/** File-level problems of a CSV import preview. */
export const IMPORT_FILE_ERROR_CODES = ['empty', 'missing_header', 'missing_columns', 'unreadable', 'too_many_rows'] as const

/** A failed API call: the stable `code` is what the UI translates; `message` is for developers. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string>
  /** The whole `error` object of the answer, for extra members such as an import's `preview`. */
  readonly details: Record<string, unknown>
  /** Seconds from a `Retry-After` header, or null. */
  readonly retryAfter: number | null
  /** The parsed answer body as it came. */
  readonly body: unknown

  constructor(init: {
    status: number
    code: string
    message?: string
    fields?: Record<string, string>
    details?: Record<string, unknown>
    retryAfter?: number | null
    body?: unknown
  }) {
    super(init.message || init.code)
    this.name = 'ApiError'
    this.status = init.status
    this.code = init.code
    this.fields = init.fields ?? {}
    this.details = init.details ?? {}
    this.retryAfter = init.retryAfter ?? null
    this.body = init.body ?? null
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The code to assume when an answer carries no error body (e.g. a proxy's HTML page). */
function codeForStatus(status: number): string {
  switch (status) {
    case 401:
      return 'unauthenticated'
    case 403:
      return 'forbidden'
    case 404:
      return 'not_found'
    case 409:
      return 'conflict'
    case 413:
      return 'body_too_large'
    case 415:
      return 'unsupported_media_type'
    case 423:
      return 'locked'
    case 429:
      return 'too_many_attempts'
  }
  return status >= 500 ? 'internal' : 'unknown'
}

function parseRetryAfter(header: string | null): number | null {
  if (!header) return null
  const seconds = Number(header)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds)
  const at = Date.parse(header)
  if (Number.isNaN(at)) return null
  return Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/** Turns a failed answer's status, body and Retry-After header into an ApiError. */
export function apiErrorFrom(status: number, body: unknown, retryAfterHeader: string | null = null): ApiError {
  const retryAfter = parseRetryAfter(retryAfterHeader)
  const error = isRecord(body) && isRecord(body.error) ? body.error : null
  if (!error || typeof error.code !== 'string' || error.code === '') {
    return new ApiError({ status, code: codeForStatus(status), retryAfter, body })
  }
  const fields: Record<string, string> = {}
  if (isRecord(error.fields)) {
    for (const [name, code] of Object.entries(error.fields)) {
      if (typeof code === 'string') fields[name] = code
    }
  }
  return new ApiError({
    status,
    code: error.code,
    message: typeof error.message === 'string' ? error.message : '',
    fields,
    details: error,
    retryAfter,
    body,
  })
}
