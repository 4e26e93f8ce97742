import { describe, expect, it } from 'vitest'
import { hrefOf, isAdminRoute, parseHash, type Route } from './routes'

describe('parseHash', () => {
  it.each<[string, Route]>([
    ['', { name: 'home' }],
    ['#', { name: 'home' }],
    ['#/', { name: 'home' }],
    ['#/login', { name: 'login' }],
    ['#/courses', { name: 'courses' }],
    ['#/courses/', { name: 'courses' }],
    ['#/courses/0190a1b2-c3d4', { name: 'course', id: '0190a1b2-c3d4' }],
    ['#/lessons/L1', { name: 'lesson', id: 'L1' }],
    ['#/admin/users', { name: 'adminUsers' }],
    ['#/admin/courses', { name: 'adminCourses' }],
    ['#/admin/courses/C9', { name: 'adminCourse', id: 'C9' }],
    ['#/admin/students', { name: 'adminStudents' }],
    ['#/admin/import', { name: 'adminImport' }],
    ['#/account', { name: 'account' }],
    ['#/devices', { name: 'devices' }],
    ['#/devices/', { name: 'devices' }],
    ['#/admin/devices', { name: 'adminDevices' }],
    ['#/admin/users/U7/devices', { name: 'adminUserDevices', id: 'U7' }],
    ['#/admin/users/a%20b/devices/', { name: 'adminUserDevices', id: 'a b' }],
    ['#/admin/audit', { name: 'adminAudit' }],
    ['#/admin/audit/', { name: 'adminAudit' }],
    ['#/admin/audit?action=login', { name: 'adminAudit' }],
    ['#/admin/ip-ranges', { name: 'adminIpRanges' }],
    ['#/admin/recovery-codes', { name: 'adminRecoveryCodes' }],
    ['#/admin/licenses', { name: 'adminLicenses' }],
    ['#/admin/licenses/sheet/L1,L2', { name: 'adminLicenseSheet', ids: ['L1', 'L2'] }],
    ['#/admin/licenses/sheet/L1%2CL2,', { name: 'adminLicenseSheet', ids: ['L1', 'L2'] }],
    ['#/setup/s3cr3t-TOKEN_x', { name: 'setup', token: 's3cr3t-TOKEN_x' }],
    ['#/setup', { name: 'setup', token: '' }],
    ['/courses/a%20b', { name: 'course', id: 'a b' }],
    ['#/courses?x=1', { name: 'courses' }],
    ['#/admin/parents', { name: 'adminParents' }],
    ['#/admin/letters', { name: 'adminLetters' }],
    ['#/server', { name: 'serverOutbox' }],
    ['#/parent/account', { name: 'parentAccount' }],
    ['#/parent', { name: 'parentHome' }],
    ['#/parent/login', { name: 'parentLogin' }],
    ['#/parent/register', { name: 'parentRegister' }],
    ['#/parent/forgot', { name: 'parentForgot' }],
    ['#/parent/settings', { name: 'parentSettings' }],
    ['#/parent/confirm/t0k-EN_x', { name: 'parentConfirm', token: 't0k-EN_x' }],
    ['#/parent/confirm', { name: 'parentConfirm', token: '' }],
    ['#/parent/reset/t0k-EN_y', { name: 'parentReset', token: 't0k-EN_y' }],
    ['#/parent/children/S1', { name: 'parentChild', id: 'S1' }],
  ])('%s', (hash, route) => {
    expect(parseHash(hash)).toEqual(route)
  })

  it.each([
    '#/nope',
    '#/courses/a/b',
    '#/admin',
    '#/admin/other',
    '#/server/outbox',
    '#/courses/%2F',
    '#/courses/%E0%A4%A',
    '#/devices/x',
    '#/admin/users/U7',
    '#/admin/users/U7/other',
    '#/admin/users/%2F/devices',
    '#/admin/courses/C9/devices',
    '#/admin/users/U7/devices/D1',
    '#/audit',
    '#/ip-ranges',
    '#/recovery-codes',
    '#/admin/audit/x',
    '#/admin/ip-ranges/U7',
    '#/admin/ipranges',
    '#/admin/recovery-codes/new',
    '#/admin/licenses/L1',
    '#/admin/licenses/sheet',
    '#/admin/licenses/sheet/,',
    '#/admin/licenses/other/L1',
  ])(
    '%s is not found',
    (hash) => {
      expect(parseHash(hash).name).toBe('notFound')
    },
  )

  it('builds the device pages\' addresses', () => {
    expect(hrefOf({ name: 'devices' })).toBe('#/devices')
    expect(hrefOf({ name: 'adminDevices' })).toBe('#/admin/devices')
    expect(hrefOf({ name: 'adminUserDevices', id: 'U 7' })).toBe('#/admin/users/U%207/devices')
  })

  it('builds the addresses of the audit log, IP ranges and recovery codes', () => {
    expect(hrefOf({ name: 'adminAudit' })).toBe('#/admin/audit')
    expect(hrefOf({ name: 'adminIpRanges' })).toBe('#/admin/ip-ranges')
    expect(hrefOf({ name: 'adminRecoveryCodes' })).toBe('#/admin/recovery-codes')
  })

  it('round-trips through hrefOf', () => {
    const routes: Route[] = [
      { name: 'courses' },
      { name: 'course', id: 'id with space' },
      { name: 'lesson', id: 'x' },
      { name: 'adminCourse', id: 'c' },
      { name: 'setup', token: 'tok' },
      { name: 'adminImport' },
      { name: 'devices' },
      { name: 'adminDevices' },
      { name: 'adminUserDevices', id: 'user?odd#chars ü' },
      { name: 'adminAudit' },
      { name: 'adminIpRanges' },
      { name: 'adminRecoveryCodes' },
      { name: 'adminLicenses' },
      { name: 'adminLicenseSheet', ids: ['0190a5e4-0000-7000-8000-000000000000', 'b'] },
    ]
    for (const r of routes) expect(parseHash(hrefOf(r))).toEqual(r)
  })

  it('knows the admin pages', () => {
    expect(isAdminRoute({ name: 'adminUsers' })).toBe(true)
    expect(isAdminRoute({ name: 'adminCourse', id: 'x' })).toBe(true)
    expect(isAdminRoute({ name: 'courses' })).toBe(false)
    expect(isAdminRoute({ name: 'adminDevices' })).toBe(true)
    expect(isAdminRoute({ name: 'adminUserDevices', id: 'x' })).toBe(true)
    expect(isAdminRoute({ name: 'devices' })).toBe(false)
    expect(isAdminRoute({ name: 'adminAudit' })).toBe(true)
    expect(isAdminRoute({ name: 'adminIpRanges' })).toBe(true)
    expect(isAdminRoute({ name: 'adminRecoveryCodes' })).toBe(true)
    expect(isAdminRoute({ name: 'adminLicenses' })).toBe(true)
    expect(isAdminRoute({ name: 'adminLicenseSheet', ids: ['x'] })).toBe(true)
  })
})
