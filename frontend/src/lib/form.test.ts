import { describe, expect, it } from 'vitest'
import { ApiError } from './api/error'
import { FormState } from './form.svelte'

const validationFailed = () =>
  new ApiError({ status: 400, code: 'validation_failed', fields: { username: 'required', password: 'too_short' } })

describe('FormState', () => {
  it('names the repeat field when a repeated password differs, and forgets old errors either way', () => {
    const form = new FormState()
    form.fail(validationFailed())
    expect(form.repeated('Ein-Passwort-1', 'Ein-Passwort-2')).toBe(false)
    expect(form.fields).toEqual({ repeat: 'mismatch' })
    expect(form.error).toBeNull()
    expect(form.repeated('Ein-Passwort-1', 'Ein-Passwort-2', 'passwordRepeat')).toBe(false)
    expect(form.fields).toEqual({ passwordRepeat: 'mismatch' })
    expect(form.repeated('Ein-Passwort-1', 'Ein-Passwort-1')).toBe(true)
    expect(form.fields).toEqual({})
  })

  it('starts idle, without errors', () => {
    const form = new FormState()
    expect(form.busy).toBe(false)
    expect(form.error).toBeNull()
    expect(form.fields).toEqual({})
  })

  it('is busy while the action runs and idle after it', async () => {
    const form = new FormState()
    let busyDuring: boolean | undefined
    let finish!: () => void
    const running = form.run(async () => {
      busyDuring = form.busy
      await new Promise<void>((resolve) => (finish = resolve))
    })
    expect(busyDuring).toBe(true)
    expect(form.busy).toBe(true)
    finish()
    expect(await running).toBe(true)
    expect(form.busy).toBe(false)
    expect(form.error).toBeNull()
    expect(form.fields).toEqual({})
  })

  it('is idle again after a failed action', async () => {
    const form = new FormState()
    let busyDuring: boolean | undefined
    const ok = await form.run(async () => {
      busyDuring = form.busy
      throw new Error('boom')
    })
    expect(busyDuring).toBe(true)
    expect(ok).toBe(false)
    expect(form.busy).toBe(false)
  })

  it('keeps an API error and takes its field errors', async () => {
    const form = new FormState()
    const err = validationFailed()
    expect(
      await form.run(async () => {
        throw err
      }),
    ).toBe(false)
    expect(form.error).toBe(err)
    expect(form.fields).toEqual({ username: 'required', password: 'too_short' })
  })

  it('keeps an error that is not from the API, without field errors', async () => {
    const form = new FormState()
    const err = new TypeError('Failed to fetch')
    expect(
      await form.run(async () => {
        throw err
      }),
    ).toBe(false)
    expect(form.error).toBe(err)
    expect(form.fields).toEqual({})
  })

  it('forgets the previous error and field errors when it runs again', async () => {
    const form = new FormState()
    await form.run(async () => {
      throw validationFailed()
    })
    expect(form.fields).not.toEqual({})

    let seen: { error: unknown; fields: Record<string, string> } | undefined
    expect(
      await form.run(async () => {
        seen = { error: form.error, fields: { ...form.fields } }
      }),
    ).toBe(true)
    expect(seen).toEqual({ error: null, fields: {} })
    expect(form.error).toBeNull()
    expect(form.fields).toEqual({})

    // A second failure replaces the first one's field errors rather than adding to them.
    await form.run(async () => {
      throw validationFailed()
    })
    await form.run(async () => {
      throw new ApiError({ status: 400, code: 'validation_failed', fields: { email: 'invalid' } })
    })
    expect(form.fields).toEqual({ email: 'invalid' })
  })

  it('hands the error to onError instead of keeping it', async () => {
    const form = new FormState()
    const err = validationFailed()
    let handled: unknown
    const ok = await form.run(
      async () => {
        throw err
      },
      (e) => (handled = e),
    )
    expect(ok).toBe(false)
    expect(handled).toBe(err)
    expect(form.error).toBeNull()
    expect(form.fields).toEqual({})
    expect(form.busy).toBe(false)
  })

  it('reset forgets the error and field errors', async () => {
    const form = new FormState()
    form.fail(validationFailed())
    form.reset()
    expect(form.error).toBeNull()
    expect(form.fields).toEqual({})
  })
})
