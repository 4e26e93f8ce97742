import { describe, expect, it } from 'vitest'
import { ApiClient, importPreviewOf, securityCodeOf, type FetchLike } from './client'
import { ApiError } from './error'

interface Call {
  url: string
  init: RequestInit | undefined
}

/** A fake fetch that answers from a list and records every call. */
function fakeFetch(answers: ((call: Call) => Response)[]): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = []
  const fetch: FetchLike = async (url, init) => {
    const call = { url, init }
    calls.push(call)
    const answer = answers[calls.length - 1]
    if (!answer) throw new Error(`unexpected call ${url}`)
    return answer(call)
  }
  return { fetch, calls }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })

describe('ApiClient', () => {
  it('sends JSON with the session cookie and parses the answer', async () => {
    const { fetch, calls } = fakeFetch([json(200, { user: { id: 'u1', displayName: 'Anna' } })])
    const client = new ApiClient(fetch)
    const user = await client.login('anna', 'secret')
    expect(user).toMatchObject({ id: 'u1', displayName: 'Anna' })
    expect(calls[0].url).toBe('/api/v1/session')
    expect(calls[0].init?.method).toBe('POST')
    expect(calls[0].init?.credentials).toBe('same-origin')
    expect((calls[0].init?.headers as Record<string, string>)['Content-Type']).toBe('application/json')
    expect(JSON.parse(String(calls[0].init?.body))).toEqual({ username: 'anna', password: 'secret' })
  })

  it('sends no body and no Content-Type on GET', async () => {
    const { fetch, calls } = fakeFetch([json(200, { host: 'server', version: '1', setupRequired: false, user: null })])
    await new ApiClient(fetch).env()
    expect(calls[0].init?.body).toBeUndefined()
    expect((calls[0].init?.headers as Record<string, string>)['Content-Type']).toBeUndefined()
  })

  it('turns an error body into an ApiError with code and fields', async () => {
    const { fetch } = fakeFetch([
      json(400, { error: { code: 'validation_failed', message: 'bad input', fields: { password: 'too_short', n: 3 } } }),
    ])
    const err = await new ApiClient(fetch).createUser({
      username: 'x',
      displayName: 'X',
      email: '',
      role: 'teacher',
      password: '1',
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    const apiErr = err as ApiError
    expect(apiErr.status).toBe(400)
    expect(apiErr.code).toBe('validation_failed')
    expect(apiErr.message).toBe('bad input')
    expect(apiErr.fields).toEqual({ password: 'too_short' })
  })

  it('reads Retry-After of too_many_attempts', async () => {
    const { fetch } = fakeFetch([json(429, { error: { code: 'too_many_attempts', message: '' } }, { 'Retry-After': '42' })])
    const err = (await new ApiClient(fetch).login('a', 'b').catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('too_many_attempts')
    expect(err.retryAfter).toBe(42)
  })

  it('gives a code when the answer has no error body', async () => {
    const { fetch } = fakeFetch([() => new Response('<html>Bad gateway</html>', { status: 502 })])
    const err = (await new ApiClient(fetch).courses().catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('internal')
    expect(err.status).toBe(502)
  })

  it('reports a failed connection as network', async () => {
    const client = new ApiClient(async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = (await client.env().catch((e: unknown) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('network')
  })

  it('tells a listener when the session is gone', async () => {
    const { fetch } = fakeFetch([json(401, { error: { code: 'unauthenticated', message: '' } })])
    const client = new ApiClient(fetch)
    const seen: string[] = []
    client.onUnauthenticated((err) => seen.push(err.code))
    await client.courses().catch(() => {})
    expect(seen).toEqual(['unauthenticated'])
  })

  it('does not treat wrong credentials as a lost session', async () => {
    const { fetch } = fakeFetch([json(401, { error: { code: 'invalid_credentials', message: '' } })])
    const client = new ApiClient(fetch)
    const seen: string[] = []
    client.onUnauthenticated((err) => seen.push(err.code))
    await client.login('a', 'b').catch(() => {})
    expect(seen).toEqual([])
  })

  it('follows nextCursor until it is empty', async () => {
    const { fetch, calls } = fakeFetch([
      json(200, { items: [{ id: 's1' }, { id: 's2' }], nextCursor: 'c/1' }),
      json(200, { items: [{ id: 's3' }], nextCursor: 'c2' }),
      json(200, { items: [], nextCursor: '' }),
    ])
    const students = await new ApiClient(fetch).students()
    expect(students.map((s) => s.id)).toEqual(['s1', 's2', 's3'])
    expect(calls.map((c) => c.url)).toEqual([
      '/api/v1/students',
      '/api/v1/students?cursor=c%2F1',
      '/api/v1/students?cursor=c2',
    ])
  })

  it('stops when a cursor repeats', async () => {
    const { fetch } = fakeFetch([
      json(200, { items: [{ id: 'a' }], nextCursor: 'same' }),
      json(200, { items: [{ id: 'b' }], nextCursor: 'same' }),
    ])
    await expect(new ApiClient(fetch).users()).rejects.toBeInstanceOf(ApiError)
  })

  it('builds paths with encoded ids and handles 204', async () => {
    const { fetch, calls } = fakeFetch([() => new Response(null, { status: 204 })])
    await expect(new ApiClient(fetch).deleteAttendance('l 1', 's/2')).resolves.toBeUndefined()
    expect(calls[0].url).toBe('/api/v1/lessons/l%201/attendance/s%2F2')
    expect(calls[0].init?.method).toBe('DELETE')
  })

  it('accepts all-present answers as array or list', async () => {
    const mark = { studentId: 's1', lessonId: 'l1', status: 'present', lateMinutes: 0, comment: '', updatedAt: '' }
    const { fetch } = fakeFetch([json(200, [mark]), json(200, { items: [mark], nextCursor: '' })])
    const client = new ApiClient(fetch)
    expect(await client.markAllPresent('l1')).toEqual([mark])
    expect(await client.markAllPresent('l1')).toEqual([mark])
  })

  it('finds the preview of a refused import', async () => {
    const preview = { rows: [{ line: 3, firstName: '', lastName: 'X', errors: { firstName: 'required' } }], valid: 0, invalid: 1, error: '' }
    const { fetch } = fakeFetch([json(422, { error: { code: 'import_invalid_rows', message: '', preview } })])
    const err = await new ApiClient(fetch)
      .importStudents({ csv: 'x', courseId: '', skipInvalid: false })
      .catch((e: unknown) => e)
    expect(importPreviewOf(err)).toEqual(preview)
    expect(importPreviewOf(new ApiError({ status: 400, code: 'validation_failed' }))).toBeNull()
  })

  describe('trusted devices and learning mode', () => {
    const noContent = () => new Response(null, { status: 204 })
    const device = { id: 'd1', userId: 'u1', kind: 'browser', state: 'trusted', name: 'Laptop', current: true }
    const list = (items: unknown[]) => json(200, { items, nextCursor: '' })

    const bodyOf = (call: Call) => (call.init?.body === undefined ? undefined : JSON.parse(String(call.init.body)))

    it.each<[string, (c: ApiClient) => Promise<unknown>, () => Response, string, string, unknown]>([
      ['myDevices', (c) => c.myDevices(), list([device]), 'GET', '/api/v1/me/devices', undefined],
      ['renameMyDevice', (c) => c.renameMyDevice('d/1', 'Küche'), json(200, device), 'PATCH', '/api/v1/me/devices/d%2F1', { name: 'Küche' }],
      ['removeMyDevice', (c) => c.removeMyDevice('d1'), noContent, 'DELETE', '/api/v1/me/devices/d1', undefined],
      ['myLearningMode', (c) => c.myLearningMode(), json(200, { active: false, devicesLeft: null }), 'GET', '/api/v1/me/learning-mode', undefined],
      ['endMyLearningMode', (c) => c.endMyLearningMode(), noContent, 'DELETE', '/api/v1/me/learning-mode', undefined],
      ['userDevices', (c) => c.userDevices('u 1'), list([device]), 'GET', '/api/v1/users/u%201/devices', undefined],
      ['approveDevice', (c) => c.approveDevice('u1', '482-913-275'), json(200, device), 'POST', '/api/v1/users/u1/devices/approve', { code: '482-913-275' }],
      ['reject', (c) => c.updateUserDevice('u1', 'd1', { state: 'rejected' }), json(200, device), 'PATCH', '/api/v1/users/u1/devices/d1', { state: 'rejected' }],
      ['block', (c) => c.updateUserDevice('u1', 'd1', { state: 'blocked' }), json(200, device), 'PATCH', '/api/v1/users/u1/devices/d1', { state: 'blocked' }],
      ['rename', (c) => c.updateUserDevice('u1', 'd1', { name: 'PC 3' }), json(200, device), 'PATCH', '/api/v1/users/u1/devices/d1', { name: 'PC 3' }],
      ['removeUserDevice', (c) => c.removeUserDevice('u1', 'd1'), noContent, 'DELETE', '/api/v1/users/u1/devices/d1', undefined],
      ['endUserLearningMode', (c) => c.endUserLearningMode('u1'), noContent, 'DELETE', '/api/v1/users/u1/learning-mode', undefined],
      ['devices', (c) => c.devices(), list([device]), 'GET', '/api/v1/devices', undefined],
      [
        'enableLearningMode',
        (c) => c.enableLearningMode({ userIds: ['u1', 'u2'], until: '2027-01-12', devices: 2 }),
        noContent,
        'POST',
        '/api/v1/learning-mode',
        { userIds: ['u1', 'u2'], until: '2027-01-12', devices: 2 },
      ],
      ['unlockUser', (c) => c.unlockUser('u1'), noContent, 'POST', '/api/v1/users/u1/unlock', undefined],
    ])('%s', async (_name, run, answer, method, url, body) => {
      const { fetch, calls } = fakeFetch([answer])
      await run(new ApiClient(fetch))
      expect(calls).toHaveLength(1)
      expect(calls[0].init?.method).toBe(method)
      expect(calls[0].url).toBe(url)
      expect(bodyOf(calls[0])).toEqual(body)
      const contentType = (calls[0].init?.headers as Record<string, string>)['Content-Type']
      expect(contentType).toBe(body === undefined ? undefined : 'application/json')
    })

    it('returns the lists and the learning mode', async () => {
      const lm = { active: true, until: '2027-01-12T23:59:59Z', devicesLeft: 2 }
      const { fetch } = fakeFetch([list([device]), json(200, lm)])
      const client = new ApiClient(fetch)
      expect(await client.myDevices()).toEqual([device])
      expect(await client.myLearningMode()).toEqual(lm)
    })

    it('reads the security code of a pending device', async () => {
      const { fetch } = fakeFetch([
        json(403, { error: { code: 'device_pending', message: '', securityCode: '482-913-275' } }),
        json(403, { error: { code: 'device_blocked', message: '' } }),
      ])
      const client = new ApiClient(fetch)
      const pending = (await client.login('anna', 'pw').catch((e: unknown) => e)) as ApiError
      expect(pending.status).toBe(403)
      expect(pending.code).toBe('device_pending')
      expect(securityCodeOf(pending)).toBe('482-913-275')
      const blocked = (await client.login('anna', 'pw').catch((e: unknown) => e)) as ApiError
      expect(blocked.code).toBe('device_blocked')
      expect(securityCodeOf(blocked)).toBe('')
      expect(securityCodeOf(new Error('x'))).toBe('')
    })

    it('logs in with a recovery code', async () => {
      const { fetch, calls } = fakeFetch([json(200, { user: { id: 'u1', displayName: 'Anna' } })])
      const user = await new ApiClient(fetch).login('anna', 'secret', '7KQ4-M2XD-9HPW')
      expect(user.id).toBe('u1')
      expect(calls[0].url).toBe('/api/v1/session')
      expect(calls[0].init?.method).toBe('POST')
      expect(bodyOf(calls[0])).toEqual({ username: 'anna', password: 'secret', recoveryCode: '7KQ4-M2XD-9HPW' })
    })

    it('passes the field error of a wrong approval code on', async () => {
      const { fetch } = fakeFetch([
        json(422, { error: { code: 'validation_failed', message: '', fields: { code: 'invalid' } } }),
      ])
      const err = (await new ApiClient(fetch).approveDevice('u1', '111-111-111').catch((e: unknown) => e)) as ApiError
      expect(err.status).toBe(422)
      expect(err.fields).toEqual({ code: 'invalid' })
    })
  })

  describe('audit log, IP ranges and recovery codes', () => {
    const entry = {
      id: '1',
      at: '2026-11-28T10:00:00Z',
      actorId: '',
      userId: 'u1',
      deviceId: 'd1',
      action: 'login',
      outcome: 'refused',
      reason: 'wrong_password',
      ip: '192.0.2.7',
    }
    const bodyOf = (call: Call) => (call.init?.body === undefined ? undefined : JSON.parse(String(call.init.body)))

    it.each<[string, (c: ApiClient) => Promise<unknown>, () => Response, string, string, unknown, unknown]>([
      [
        'auditPage without filters',
        (c) => c.auditPage({}),
        json(200, { items: [entry], nextCursor: 'o500' }),
        'GET',
        '/api/v1/audit',
        undefined,
        { items: [entry], nextCursor: 'o500' },
      ],
      [
        'auditPage with filters and cursor',
        (c) => c.auditPage({ userId: 'u 1', action: 'login', outcome: 'refused', from: '2026-11-01', to: '2026-11-30' }, 'o500'),
        json(200, { items: [], nextCursor: '' }),
        'GET',
        '/api/v1/audit?userId=u%201&action=login&outcome=refused&from=2026-11-01&to=2026-11-30&cursor=o500',
        undefined,
        { items: [], nextCursor: '' },
      ],
      ['schoolIpRanges', (c) => c.schoolIpRanges(), json(200, { ranges: ['10.0.0.0/8'] }), 'GET', '/api/v1/ip-ranges', undefined, ['10.0.0.0/8']],
      [
        'setSchoolIpRanges',
        (c) => c.setSchoolIpRanges(['10.0.0.0/8', '192.0.2.7']),
        json(200, { ranges: ['10.0.0.0/8', '192.0.2.7/32'] }),
        'PUT',
        '/api/v1/ip-ranges',
        { ranges: ['10.0.0.0/8', '192.0.2.7'] },
        ['10.0.0.0/8', '192.0.2.7/32'],
      ],
      ['setSchoolIpRanges empty', (c) => c.setSchoolIpRanges([]), json(200, { ranges: [] }), 'PUT', '/api/v1/ip-ranges', { ranges: [] }, []],
      [
        'setSchoolIpRanges confirmed',
        (c) => c.setSchoolIpRanges(['10.0.0.0/8'], { confirm: true }),
        json(200, { ranges: ['10.0.0.0/8'] }),
        'PUT',
        '/api/v1/ip-ranges',
        { ranges: ['10.0.0.0/8'], confirm: true },
        ['10.0.0.0/8'],
      ],
      [
        'setUserIpRanges confirmed',
        (c) => c.setUserIpRanges('u1', ['10.0.0.0/8'], { confirm: true }),
        json(200, { ranges: ['10.0.0.0/8'] }),
        'PUT',
        '/api/v1/users/u1/ip-ranges',
        { ranges: ['10.0.0.0/8'], confirm: true },
        ['10.0.0.0/8'],
      ],
      ['userIpRanges', (c) => c.userIpRanges('u/1'), json(200, { ranges: [] }), 'GET', '/api/v1/users/u%2F1/ip-ranges', undefined, []],
      [
        'setUserIpRanges',
        (c) => c.setUserIpRanges('u1', ['192.0.2.0/24']),
        json(200, { ranges: ['192.0.2.0/24'] }),
        'PUT',
        '/api/v1/users/u1/ip-ranges',
        { ranges: ['192.0.2.0/24'] },
        ['192.0.2.0/24'],
      ],
      [
        'recoveryCodes',
        (c) => c.recoveryCodes(),
        json(200, { remaining: 7, createdAt: '2026-11-28T10:00:00Z' }),
        'GET',
        '/api/v1/recovery-codes',
        undefined,
        { remaining: 7, createdAt: '2026-11-28T10:00:00Z' },
      ],
      [
        'newRecoveryCodes',
        (c) => c.newRecoveryCodes(),
        json(201, { codes: ['7KQ4-M2XD-9HPW'], createdAt: '2026-11-28T10:00:00Z' }),
        'POST',
        '/api/v1/recovery-codes',
        undefined,
        { codes: ['7KQ4-M2XD-9HPW'], createdAt: '2026-11-28T10:00:00Z' },
      ],
    ])('%s', async (_name, run, answer, method, url, body, result) => {
      const { fetch, calls } = fakeFetch([answer])
      expect(await run(new ApiClient(fetch))).toEqual(result)
      expect(calls).toHaveLength(1)
      expect(calls[0].init?.method).toBe(method)
      expect(calls[0].url).toBe(url)
      expect(bodyOf(calls[0])).toEqual(body)
      const contentType = (calls[0].init?.headers as Record<string, string>)['Content-Type']
      expect(contentType).toBe(body === undefined ? undefined : 'application/json')
    })

    it('passes the field error of an invalid range on', async () => {
      const { fetch } = fakeFetch([
        json(400, { error: { code: 'validation_failed', message: '', fields: { ranges: 'invalid' } } }),
      ])
      const err = (await new ApiClient(fetch).setUserIpRanges('u1', ['nope']).catch((e: unknown) => e)) as ApiError
      expect(err).toBeInstanceOf(ApiError)
      expect(err.fields).toEqual({ ranges: 'invalid' })
    })

    it('reports ranges that would lock the admin out', async () => {
      const { fetch } = fakeFetch([json(409, { error: { code: 'would_lock_out', message: '' } })])
      const err = (await new ApiClient(fetch).setSchoolIpRanges(['10.0.0.0/8']).catch((e: unknown) => e)) as ApiError
      expect(err).toBeInstanceOf(ApiError)
      expect(err.status).toBe(409)
      expect(err.code).toBe('would_lock_out')
    })

    it('answers a wrong recovery code as device_pending with the security code', async () => {
      const { fetch } = fakeFetch([
        json(403, { error: { code: 'device_pending', message: '', securityCode: '482-913-275' } }),
      ])
      const err = await new ApiClient(fetch).login('admin', 'pw', 'WRONG-CODE').catch((e: unknown) => e)
      expect(securityCodeOf(err)).toBe('482-913-275')
    })
  })

  describe('licenses', () => {
    const license = { id: 'L1', code: 'ABCD-EFGH-JKMN-PQRS', holder: 'none', holderName: '', createdAt: '2026-11-02T08:00:00Z' }

    it.each<[string, (c: ApiClient) => Promise<unknown>, () => Response, string, string, unknown]>([
      ['createLicenses', (c) => c.createLicenses(3), json(201, { licenses: [license] }), 'POST', '/api/v1/licenses', { count: 3 }],
      ['assign to a teacher', (c) => c.assignLicense('L 1', { teacherId: 'u1' }), json(200, license), 'PUT', '/api/v1/licenses/L%201/holder', { teacherId: 'u1' }],
      ['assign to a location', (c) => c.assignLicense('L1', { location: 'Zimmer 12' }), json(200, license), 'PUT', '/api/v1/licenses/L1/holder', { location: 'Zimmer 12' }],
      ['detachLicense', (c) => c.detachLicense('L1'), json(200, license), 'DELETE', '/api/v1/licenses/L1/holder', undefined],
      ['deleteLicense', (c) => c.deleteLicense('L1'), () => new Response(null, { status: 204 }), 'DELETE', '/api/v1/licenses/L1', undefined],
      ['approveLicenseDevice', (c) => c.approveLicenseDevice('L1', '482-913-275'), json(200, license), 'POST', '/api/v1/licenses/L1/approve', { code: '482-913-275' }],
      ['licenseSheet', (c) => c.licenseSheet(['L1', 'L,2']), json(200, { schoolName: 'S', serverUrl: 'http://x', licenses: [] }), 'GET', '/api/v1/licenses/sheet?ids=L1,L%2C2', undefined],
    ])('%s', async (_name, call, answer, method, url, body) => {
      const { fetch, calls } = fakeFetch([answer])
      await call(new ApiClient(fetch))
      expect(calls[0].init?.method).toBe(method)
      expect(calls[0].url).toBe(url)
      expect(calls[0].init?.body === undefined ? undefined : JSON.parse(String(calls[0].init.body))).toEqual(body)
    })

    it('returns the new licenses', async () => {
      const { fetch } = fakeFetch([json(201, { licenses: [license, { ...license, id: 'L2' }] })])
      expect((await new ApiClient(fetch).createLicenses(2)).map((l) => l.id)).toEqual(['L1', 'L2'])
    })
  })
})
