import { describe, expect, it, vi } from 'vitest'
import { ApiClient, type FetchLike } from '../api/client'
import { ApiError } from '../api/error'
import { DesktopApi } from './api'

const device = { phase: 'connect', language: 'en', server: '', online: true, pinAttemptsLeft: 5, idleTimeoutSeconds: 600, pinMinLength: 6 }

function recorder(status = 200, body: unknown = device) {
  const calls: { url: string; method: string; body: unknown }[] = []
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, method: String(init?.method), body: init?.body === undefined ? undefined : JSON.parse(String(init.body)) })
    return new Response(status === 204 ? null : JSON.stringify(body), { status })
  }
  return { api: new DesktopApi(new ApiClient(fetch)), client: fetch, calls }
}

describe('DesktopApi', () => {
  it('calls the routes of docs/desktop.md', async () => {
    const { api, calls } = recorder()
    await api.setLanguage('en')
    await api.enroll({ link: 'pult://enroll?server=https%3A%2F%2Fs.ch&code=X' })
    await api.enroll({ server: 'https://s.ch', licenseCode: 'ABCD' })
    await api.enrollLogin({ server: 'https://s.ch', username: 'anna', password: 'pw' })
    await api.status()
    await api.cancel()
    await api.setPin('583920', '583920')
    await api.unlock('583920')
    await api.lock()
    expect(calls).toEqual([
      { url: '/api/v1/device/language', method: 'PUT', body: { language: 'en' } },
      { url: '/api/v1/device/enroll', method: 'POST', body: { link: 'pult://enroll?server=https%3A%2F%2Fs.ch&code=X' } },
      { url: '/api/v1/device/enroll', method: 'POST', body: { server: 'https://s.ch', licenseCode: 'ABCD' } },
      { url: '/api/v1/device/enroll/login', method: 'POST', body: { server: 'https://s.ch', username: 'anna', password: 'pw' } },
      { url: '/api/v1/device/status', method: 'GET', body: undefined },
      { url: '/api/v1/device/cancel', method: 'POST', body: undefined },
      { url: '/api/v1/device/pin', method: 'POST', body: { pin: '583920', repeat: '583920' } },
      { url: '/api/v1/device/unlock', method: 'POST', body: { pin: '583920' } },
      { url: '/api/v1/device/lock', method: 'POST', body: undefined },
    ])
  })

  it('changes the PIN (204)', async () => {
    const { api, calls } = recorder(204)
    await expect(api.changePin('583920', '270415', '270415')).resolves.toBeUndefined()
    expect(calls[0]).toEqual({ url: '/api/v1/device/pin/change', method: 'POST', body: { current: '583920', pin: '270415', repeat: '270415' } })
  })

  it('hands over a wrong PIN with the attempts left', async () => {
    const { api } = recorder(403, { error: { code: 'wrong_pin', message: 'wrong PIN', attemptsLeft: 2 } })
    const err = await api.unlock('000001').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('wrong_pin')
    expect((err as ApiError).details.attemptsLeft).toBe(2)
  })
})

describe('ApiClient.onError', () => {
  it('tells every listener of every failed answer until it is removed', async () => {
    const fetch: FetchLike = async () => new Response(JSON.stringify({ error: { code: 'locked', message: 'locked' } }), { status: 423 })
    const client = new ApiClient(fetch)
    const listener = vi.fn()
    const off = client.onError(listener)
    await client.courses().catch(() => {})
    expect(listener).toHaveBeenCalledTimes(1)
    expect(listener.mock.calls[0][0]).toMatchObject({ status: 423, code: 'locked' })
    off()
    await client.courses().catch(() => {})
    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('calls a 423 without a body locked', async () => {
    const fetch: FetchLike = async () => new Response('', { status: 423 })
    const err = await new ApiClient(fetch).courses().catch((e: unknown) => e)
    expect((err as ApiError).code).toBe('locked')
  })
})
