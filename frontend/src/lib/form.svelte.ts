import { ApiError } from './api/error'

/**
 * The state every form shares while it talks to the server: whether a request is under way (`busy`, which disables
 * the submit button), the error to show (`error`, for `ErrorAlert`) and the field errors of a `validation_failed`
 * answer (`fields`, name → code, for the fields' own messages).
 */
export class FormState {
  busy = $state(false)
  error = $state<unknown>(null)
  fields = $state<Record<string, string>>({})

  /** Forgets the last error and field errors, e.g. before the form's own checks. */
  reset(): void {
    this.error = null
    this.fields = {}
  }

  /**
   * Starts a form with a repeated password: forgets the last errors and reports whether both entries are the same;
   * if not, the repeat field (`field`) says so.
   */
  repeated(value: string, repeat: string, field = 'repeat'): boolean {
    this.reset()
    if (value === repeat) return true
    this.fields = { [field]: 'mismatch' }
    return false
  }

  /** Keeps `err` as the form's error, and its field errors if it is an answer of the API. */
  fail(err: unknown): void {
    this.error = err
    this.fields = err instanceof ApiError ? err.fields : {}
  }

  /**
   * Runs `action` as the form's request: forgets the last error, is busy until the action ends, and hands a thrown
   * error to `onError` (by default `fail`, so it is shown). Returns whether the action succeeded.
   */
  async run(action: () => Promise<unknown>, onError: (err: unknown) => void = (err) => this.fail(err)): Promise<boolean> {
    this.reset()
    this.busy = true
    try {
      await action()
      return true
    } catch (err) {
      onError(err)
      return false
    } finally {
      this.busy = false
    }
  }
}
