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
    ['#/setup/s3cr3t-TOKEN_x', { name: 'setup', token: 's3cr3t-TOKEN_x' }],
    ['#/setup', { name: 'setup', token: '' }],
    ['/courses/a%20b', { name: 'course', id: 'a b' }],
    ['#/courses?x=1', { name: 'courses' }],
  ])('%s', (hash, route) => {
    expect(parseHash(hash)).toEqual(route)
  })

  it.each(['#/nope', '#/courses/a/b', '#/admin', '#/admin/other', '#/courses/%2F', '#/courses/%E0%A4%A'])(
    '%s is not found',
    (hash) => {
      expect(parseHash(hash).name).toBe('notFound')
    },
  )

  it('round-trips through hrefOf', () => {
    const routes: Route[] = [
      { name: 'courses' },
      { name: 'course', id: 'id with space' },
      { name: 'lesson', id: 'x' },
      { name: 'adminCourse', id: 'c' },
      { name: 'setup', token: 'tok' },
      { name: 'adminImport' },
    ]
    for (const r of routes) expect(parseHash(hrefOf(r))).toEqual(r)
  })

  it('knows the admin pages', () => {
    expect(isAdminRoute({ name: 'adminUsers' })).toBe(true)
    expect(isAdminRoute({ name: 'adminCourse', id: 'x' })).toBe(true)
    expect(isAdminRoute({ name: 'courses' })).toBe(false)
  })
})
