/** Every page of the UI, addressed by the URL fragment (hash routing). */
export type Route =
  | { name: 'home' }
  | { name: 'login' }
  | { name: 'setup'; token: string }
  | { name: 'courses' }
  | { name: 'course'; id: string }
  | { name: 'lesson'; id: string }
  | { name: 'account' }
  | { name: 'devices' }
  | { name: 'adminUsers' }
  | { name: 'adminUserDevices'; id: string }
  | { name: 'adminDevices' }
  | { name: 'adminCourses' }
  | { name: 'adminCourse'; id: string }
  | { name: 'adminStudents' }
  | { name: 'adminImport' }
  | { name: 'adminAudit' }
  | { name: 'adminIpRanges' }
  | { name: 'adminRecoveryCodes' }
  | { name: 'adminLicenses' }
  | { name: 'adminLicenseSheet'; ids: string[] }
  | { name: 'adminParents' }
  | { name: 'adminLetters' }
  | { name: 'serverOutbox' }
  | { name: 'parentLogin' }
  | { name: 'parentRegister' }
  | { name: 'parentConfirm'; token: string }
  | { name: 'parentForgot' }
  | { name: 'parentReset'; token: string }
  | { name: 'parentHome' }
  | { name: 'parentChild'; id: string }
  | { name: 'parentSettings' }
  | { name: 'parentAccount' }
  | { name: 'notFound'; path: string }

function decode(segment: string): string | null {
  try {
    const s = decodeURIComponent(segment)
    return s === '' || s.includes('/') ? null : s
  } catch {
    return null
  }
}

/** Parses `location.hash` (with or without the leading `#`). Unknown paths give `notFound`. */
export function parseHash(hash: string): Route {
  let path = hash.startsWith('#') ? hash.slice(1) : hash
  const query = path.indexOf('?')
  if (query >= 0) path = path.slice(0, query)
  if (!path.startsWith('/')) path = '/' + path
  const parts = path.split('/').filter((p) => p !== '')
  const notFound: Route = { name: 'notFound', path }
  const [a, b, c, d] = parts
  switch (parts.length) {
    case 0:
      return { name: 'home' }
    case 1:
      if (a === 'login') return { name: 'login' }
      if (a === 'courses') return { name: 'courses' }
      if (a === 'account') return { name: 'account' }
      if (a === 'devices') return { name: 'devices' }
      if (a === 'setup') return { name: 'setup', token: '' }
      if (a === 'parent') return { name: 'parentHome' }
      if (a === 'server') return { name: 'serverOutbox' }
      return notFound
    case 2: {
      const id = decode(b)
      if (a === 'admin') {
        if (b === 'users') return { name: 'adminUsers' }
        if (b === 'courses') return { name: 'adminCourses' }
        if (b === 'students') return { name: 'adminStudents' }
        if (b === 'import') return { name: 'adminImport' }
        if (b === 'devices') return { name: 'adminDevices' }
        if (b === 'audit') return { name: 'adminAudit' }
        if (b === 'ip-ranges') return { name: 'adminIpRanges' }
        if (b === 'recovery-codes') return { name: 'adminRecoveryCodes' }
        if (b === 'licenses') return { name: 'adminLicenses' }
        if (b === 'parents') return { name: 'adminParents' }
        if (b === 'letters') return { name: 'adminLetters' }
        return notFound
      }
      if (a === 'parent') {
        if (b === 'login') return { name: 'parentLogin' }
        if (b === 'register') return { name: 'parentRegister' }
        if (b === 'forgot') return { name: 'parentForgot' }
        if (b === 'settings') return { name: 'parentSettings' }
        if (b === 'account') return { name: 'parentAccount' }
        if (b === 'confirm') return { name: 'parentConfirm', token: '' }
        if (b === 'reset') return { name: 'parentReset', token: '' }
        return notFound
      }
      if (id === null) return notFound
      if (a === 'courses') return { name: 'course', id }
      if (a === 'lessons') return { name: 'lesson', id }
      if (a === 'setup') return { name: 'setup', token: id }
      return notFound
    }
    case 3: {
      const id = decode(c)
      if (a === 'admin' && b === 'courses' && id !== null) return { name: 'adminCourse', id }
      if (a === 'parent' && b === 'confirm' && id !== null) return { name: 'parentConfirm', token: id }
      if (a === 'parent' && b === 'reset' && id !== null) return { name: 'parentReset', token: id }
      if (a === 'parent' && b === 'children' && id !== null) return { name: 'parentChild', id }
      return notFound
    }
    case 4: {
      const id = decode(c)
      if (a === 'admin' && b === 'users' && d === 'devices' && id !== null) return { name: 'adminUserDevices', id }
      if (a === 'admin' && b === 'licenses' && c === 'sheet') {
        const ids = (decode(d) ?? '').split(',').filter((x) => x !== '')
        if (ids.length > 0) return { name: 'adminLicenseSheet', ids }
      }
      return notFound
    }
  }
  return notFound
}

/** The hash (`#/...`) of a route. */
export function hrefOf(route: Route): string {
  const e = encodeURIComponent
  switch (route.name) {
    case 'home':
      return '#/'
    case 'login':
      return '#/login'
    case 'setup':
      return route.token ? `#/setup/${e(route.token)}` : '#/setup'
    case 'courses':
      return '#/courses'
    case 'course':
      return `#/courses/${e(route.id)}`
    case 'lesson':
      return `#/lessons/${e(route.id)}`
    case 'account':
      return '#/account'
    case 'devices':
      return '#/devices'
    case 'adminUsers':
      return '#/admin/users'
    case 'adminUserDevices':
      return `#/admin/users/${e(route.id)}/devices`
    case 'adminDevices':
      return '#/admin/devices'
    case 'adminCourses':
      return '#/admin/courses'
    case 'adminCourse':
      return `#/admin/courses/${e(route.id)}`
    case 'adminStudents':
      return '#/admin/students'
    case 'adminImport':
      return '#/admin/import'
    case 'adminAudit':
      return '#/admin/audit'
    case 'adminIpRanges':
      return '#/admin/ip-ranges'
    case 'adminRecoveryCodes':
      return '#/admin/recovery-codes'
    case 'adminLicenses':
      return '#/admin/licenses'
    case 'adminLicenseSheet':
      return `#/admin/licenses/sheet/${route.ids.map(e).join(',')}`
    case 'adminParents':
      return '#/admin/parents'
    case 'adminLetters':
      return '#/admin/letters'
    case 'serverOutbox':
      return '#/server'
    case 'parentLogin':
      return '#/parent/login'
    case 'parentRegister':
      return '#/parent/register'
    case 'parentConfirm':
      return route.token ? `#/parent/confirm/${e(route.token)}` : '#/parent/confirm'
    case 'parentForgot':
      return '#/parent/forgot'
    case 'parentReset':
      return route.token ? `#/parent/reset/${e(route.token)}` : '#/parent/reset'
    case 'parentHome':
      return '#/parent'
    case 'parentChild':
      return `#/parent/children/${e(route.id)}`
    case 'parentSettings':
      return '#/parent/settings'
    case 'parentAccount':
      return '#/parent/account'
    case 'notFound':
      return '#' + route.path
  }
}

/** Whether a route is only for admins. */
export function isAdminRoute(route: Route): boolean {
  return route.name.startsWith('admin')
}

/** Whether a route belongs to parents' part of the UI. */
export function isParentRoute(route: Route): boolean {
  return route.name.startsWith('parent')
}

/** The parents' pages that need no login. */
export function isParentPublicRoute(route: Route): boolean {
  return ['parentLogin', 'parentRegister', 'parentConfirm', 'parentForgot', 'parentReset'].includes(route.name)
}

/** A key that changes whenever the page (not just its state) changes. */
export function routeKey(route: Route): string {
  return hrefOf(route)
}
