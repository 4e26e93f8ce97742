import { crc32, deflateSync } from 'node:zlib'
import { expect, test, type Page, type Route } from '@playwright/test'
import { LICENSE_LINK, LICENSE_QR, OTHER_QR } from '../src/lib/desktop/qrFixtures'

// The desktop app's screens (docs/desktop.md) in a real browser. The page comes from the real backend, with its
// content security policy; the desktop app's in-process API is played by the fake below (page.route), so these
// tests check the UI against the contract. A desktop app that really enrolls is tested against its own handler.

interface Device {
  phase: string
  language: string
  server: string
  securityCode?: string
  schoolName?: string
  online: boolean
  pinAttemptsLeft: number
  idleTimeoutSeconds: number
  pinMinLength: number
}

const teacher = {
  id: 'u1',
  username: 'a.lehrer',
  displayName: 'Anna Lehrer',
  role: 'teacher',
  schoolId: 's1',
  schoolName: 'Musikschule Seeland',
}

const PIN = '583920'

/** The desktop app's API as the contract has it, with a few knobs for the tests. */
class FakeDesktop {
  device: Device = {
    phase: 'welcome',
    language: 'de',
    server: '',
    online: true,
    pinAttemptsLeft: 5,
    idleTimeoutSeconds: 600,
    pinMinLength: 6,
  }
  loggedIn = false
  /** Every request the UI made, as "METHOD /path". */
  calls: string[] = []
  bodies: Record<string, unknown>[] = []
  /** How many status polls still answer `pending` before the admin approves. */
  pendingPolls = 2
  /** The answer to a course list (to play 423 `locked`). */
  coursesAnswer: 'ok' | 'locked' = 'ok'

  async install(page: Page) {
    await page.route('**/api/v1/**', (route) => this.handle(route))
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length
  }

  private json(route: Route, status: number, body: unknown) {
    return route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) })
  }

  private error(route: Route, status: number, code: string, extra: Record<string, unknown> = {}) {
    return this.json(route, status, { error: { code, message: code, ...extra } })
  }

  private async handle(route: Route) {
    const req = route.request()
    const path = new URL(req.url()).pathname.replace('/api/v1', '')
    const call = `${req.method()} ${path}`
    this.calls.push(call)
    const body = (req.postData() ? JSON.parse(req.postData()!) : {}) as Record<string, string>
    this.bodies.push(body)
    const d = this.device
    const ready = d.phase === 'ready'
    switch (call) {
      case 'GET /env':
        return this.json(route, 200, { host: 'desktop', version: '0.1.0', setupRequired: false, user: ready ? teacher : null, device: d })
      case 'PUT /device/language':
        d.language = body.language
        if (d.phase === 'welcome') d.phase = 'connect'
        return this.json(route, 200, d)
      case 'POST /device/enroll':
        if (body.link !== LICENSE_LINK) return this.error(route, 422, 'validation_failed', { fields: { link: 'invalid' } })
        Object.assign(d, { phase: 'pending', server: 'https://pult.example-school.ch', securityCode: '123-456-789' })
        return this.json(route, 200, d)
      case 'GET /device/status':
        if (d.phase === 'pending' && --this.pendingPolls < 0) {
          d.phase = 'login'
          delete d.securityCode
        }
        return this.json(route, 200, d)
      case 'POST /session':
        if (body.password !== 'richtig') return this.error(route, 401, 'invalid_credentials')
        d.phase = 'pin'
        d.schoolName = teacher.schoolName
        return this.json(route, 200, { user: teacher })
      case 'POST /device/pin':
        if (body.pin !== body.repeat) return this.error(route, 422, 'validation_failed', { fields: { repeat: 'mismatch' } })
        d.phase = 'ready'
        return this.json(route, 200, d)
      case 'POST /device/lock':
        d.phase = 'locked'
        return this.json(route, 200, d)
      case 'POST /device/unlock':
        if (body.pin === PIN) {
          d.phase = 'ready'
          d.pinAttemptsLeft = 5
          return this.json(route, 200, d)
        }
        if (--d.pinAttemptsLeft <= 0) {
          this.device = { ...d, phase: 'welcome', language: '', server: '', pinAttemptsLeft: 5, online: true }
          delete this.device.schoolName
          return this.error(route, 410, 'wiped')
        }
        return this.error(route, 403, 'wrong_pin', { attemptsLeft: d.pinAttemptsLeft })
      case 'POST /device/pin/change':
        if (body.current !== PIN) {
          d.pinAttemptsLeft--
          return this.error(route, 403, 'wrong_pin', { attemptsLeft: d.pinAttemptsLeft })
        }
        return route.fulfill({ status: 204 })
      case 'GET /courses':
        if (!ready || this.coursesAnswer === 'locked') {
          d.phase = d.phase === 'ready' ? 'locked' : d.phase
          return this.error(route, 423, 'locked')
        }
        return this.json(route, 200, { items: [], nextCursor: '' })
      case 'GET /me/devices':
        d.online = false
        return this.error(route, 503, 'needs_connection')
    }
    return this.error(route, 404, 'not_found')
  }
}

/** A PNG of a QR code (one module per character of `rows`), for the file picker. */
function qrPng(rows: string[], scale = 6): Buffer {
  const quiet = 4
  const size = (rows.length + 2 * quiet) * scale
  const raw = Buffer.alloc((size + 1) * size, 255) // grey, one filter byte per line
  for (let y = 0; y < size; y++) {
    raw[y * (size + 1)] = 0
    for (let x = 0; x < size; x++) {
      const row = rows[Math.floor(y / scale) - quiet]
      if (row?.[Math.floor(x / scale) - quiet] === '#') raw[y * (size + 1) + 1 + x] = 0
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])))
    return Buffer.concat([len, Buffer.from(type), data, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 0 // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** Fails the test on anything the content security policy refused. */
function watchCsp(page: Page): string[] {
  const refused: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) refused.push(msg.text())
  })
  return refused
}

async function start(page: Page, fake: FakeDesktop): Promise<string[]> {
  const refused = watchCsp(page)
  await fake.install(page)
  await page.goto('/')
  return refused
}

test('a new desktop: language, license QR from a picture, security code, login, PIN, lock and unlock', async ({ page }) => {
  const fake = new FakeDesktop()
  const refused = await start(page, fake)

  // Welcome: both languages greet; English switches the UI at once.
  await expect(page.getByRole('heading', { name: /Willkommen bei Pult.*Welcome to Pult/ })).toBeVisible()
  const main = page.locator('#main')
  await expect(main.getByRole('button', { name: 'Deutsch' })).toBeFocused()
  await main.getByRole('button', { name: 'English' }).click()
  await expect(page.getByRole('heading', { name: 'Connect to your school' })).toBeVisible()
  expect(fake.bodies[fake.calls.indexOf('PUT /device/language')]).toEqual({ language: 'en' })
  await expect(page.locator('html')).toHaveAttribute('lang', 'en')

  // A picture of a QR code that is no Pult license: a clear word, and nothing is sent.
  const file = page.locator('#connect-file')
  await file.setInputFiles({ name: 'wifi.png', mimeType: 'image/png', buffer: qrPng(OTHER_QR) })
  await expect(page.getByTestId('qr-message')).toHaveText(/not a Pult license/)
  // A picture without any QR code.
  await file.setInputFiles({ name: 'empty.png', mimeType: 'image/png', buffer: qrPng([]) })
  await expect(page.getByTestId('qr-message')).toHaveText(/finds no QR code/)
  expect(fake.count('POST /device/enroll')).toBe(0)

  // The license card's QR code: its content goes to the app as it is.
  await file.setInputFiles({ name: 'license.png', mimeType: 'image/png', buffer: qrPng(LICENSE_QR) })
  await expect(page.getByRole('heading', { name: 'Waiting for approval' })).toBeVisible()
  expect(fake.bodies[fake.calls.indexOf('POST /device/enroll')]).toEqual({ link: LICENSE_LINK })

  // Pending: the code large, in groups, read digit by digit; the app is asked every 2 s until approved.
  const code = page.getByTestId('security-code')
  await expect(code).toHaveText('123456789')
  await expect(code).toHaveAttribute('aria-label', 'Security code: 1 2 3, 4 5 6, 7 8 9')
  await expect(page.getByText('Your school has approved this device')).toBeVisible({ timeout: 15_000 })
  const polls = fake.count('GET /device/status')
  expect(polls).toBe(3)
  await page.waitForTimeout(4500)
  expect(fake.count('GET /device/status')).toBe(polls) // the poller stopped with the screen

  // Login: the normal form; then the PIN.
  await expect(page.getByLabel('Username')).toBeFocused()
  await page.getByLabel('Username').fill('a.lehrer')
  await page.getByLabel('Password', { exact: true }).fill('falsch')
  await page.getByRole('button', { name: 'Log in', exact: true }).click()
  await expect(page.getByText('Username or password is wrong.')).toBeVisible()
  await page.getByLabel('Password', { exact: true }).fill('richtig')
  await page.getByRole('button', { name: 'Log in', exact: true }).click()
  await expect(page.getByRole('heading', { name: 'Set your PIN' })).toBeVisible()

  // PIN: the hints follow the typing; the UI's own check refuses a common PIN without asking the app.
  const pinField = page.getByLabel('PIN', { exact: true })
  await expect(pinField).toBeFocused()
  await expect(pinField).toHaveAttribute('inputmode', 'numeric')
  await expect(pinField).toHaveAttribute('type', 'password')
  await pinField.fill('123456')
  await page.getByLabel('Repeat the PIN').fill('123456')
  await page.getByRole('button', { name: 'Set PIN' }).click()
  await expect(page.getByText('This PIN is too easy to guess.')).toBeVisible()
  expect(fake.count('POST /device/pin')).toBe(0)
  await pinField.fill(PIN)
  await page.getByLabel('Repeat the PIN').fill(PIN)
  await expect(page.locator('li.met')).toHaveCount(4)
  await page.getByRole('button', { name: 'Set PIN' }).click()

  // Ready: the normal UI, with lock and connection in the header instead of "Log out".
  await expect(page.getByRole('heading', { name: 'My courses' })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Lock' })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Log out' })).toHaveCount(0)
  await expect(page.locator('.connection')).toContainText('Online')
  // The language chosen in the header becomes the app's too.
  await page.getByRole('banner').getByRole('button', { name: 'Deutsch' }).click()
  await expect(page.getByRole('heading', { name: 'Meine Kurse' })).toBeVisible()
  await expect.poll(() => fake.device.language).toBe('de')
  await page.getByRole('banner').getByRole('button', { name: 'English' }).click()
  await expect.poll(() => fake.device.language).toBe('en')

  // Lock: the PIN screen, focus in the field; a wrong PIN tells the attempts left, Enter unlocks.
  await page.getByRole('button', { name: 'Lock' }).click()
  await expect(page.getByRole('heading', { name: 'Pult is locked' })).toBeVisible()
  await expect(page.getByText('Anna Lehrer')).toBeVisible()
  await expect(page.getByText('Musikschule Seeland')).toBeVisible()
  const unlock = page.getByLabel('PIN', { exact: true })
  await expect(unlock).toBeFocused()
  await unlock.fill('111111')
  await unlock.press('Enter')
  await expect(page.getByText('The PIN is wrong. 4 attempts left.')).toBeVisible()
  await expect(unlock).toBeFocused()
  await expect(unlock).toHaveValue('')
  await unlock.fill(PIN)
  await unlock.press('Enter')
  await expect(page.getByRole('heading', { name: 'My courses' })).toBeVisible()

  // Account: change the PIN (the current one wrong first).
  await page.getByRole('link', { name: /Anna Lehrer/ }).click()
  await page.getByLabel('Current PIN').fill('000111')
  await page.getByLabel('New PIN', { exact: true }).fill('270415')
  await page.getByLabel('Repeat the new PIN').fill('270415')
  await page.getByRole('button', { name: 'Change PIN' }).click()
  await expect(page.getByText('The current PIN is wrong. 4 attempts left.')).toBeVisible()
  await page.getByLabel('Current PIN').fill(PIN)
  await page.getByRole('button', { name: 'Change PIN' }).click()
  await expect(page.getByText('The PIN has been changed.')).toBeVisible()
  expect(fake.bodies[fake.calls.lastIndexOf('POST /device/pin/change')]).toEqual({ current: PIN, pin: '270415', repeat: '270415' })

  // Offline: a function of the backend says it needs a connection, and the header says offline.
  await page.getByRole('link', { name: 'My devices' }).click()
  await expect(page.getByText("This needs a connection to your school's server")).toBeVisible()
  await expect(page.locator('.connection')).toContainText('Offline')

  expect(refused).toEqual([])
})

test('desktop: a locked answer shows the PIN screen, the idle timeout locks, too many wrong PINs wipe', async ({ page }) => {
  const fake = new FakeDesktop()
  fake.device = { ...fake.device, phase: 'ready', server: 'https://pult.example-school.ch', schoolName: teacher.schoolName }
  const refused = await start(page, fake)
  await expect(page.getByRole('heading', { name: 'Meine Kurse' })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Sperren' })).toBeVisible()

  // Any data answer 423 `locked` (the app locked itself): the PIN screen.
  fake.coursesAnswer = 'locked'
  await page.reload()
  await expect(page.getByRole('heading', { name: 'Pult ist gesperrt' })).toBeVisible()
  fake.coursesAnswer = 'ok'
  await page.getByLabel('PIN', { exact: true }).fill(PIN)
  await page.getByLabel('PIN', { exact: true }).press('Enter')
  await expect(page.getByRole('heading', { name: 'Meine Kurse' })).toBeVisible()

  // Idle: no input for the app's idle timeout locks it.
  fake.device.idleTimeoutSeconds = 2
  await page.reload()
  await expect(page.getByRole('heading', { name: 'Meine Kurse' })).toBeVisible()
  const before = fake.count('POST /device/lock')
  await expect(page.getByRole('heading', { name: 'Pult ist gesperrt' })).toBeVisible({ timeout: 10_000 })
  expect(fake.count('POST /device/lock')).toBe(before + 1)

  // Wrong PINs: the warning from two left on, and the last one wipes: back to the start, with the notice.
  const pin = page.getByLabel('PIN', { exact: true })
  for (const left of [4, 3, 2]) {
    await pin.fill('111111')
    await pin.press('Enter')
    await expect(page.getByText(`Die PIN ist falsch. Noch ${left} Versuche.`)).toBeVisible()
  }
  await expect(page.getByText('Achtung: Nach 2 weiteren falschen PINs löscht Pult alle Daten auf diesem Gerät.')).toBeVisible()
  await pin.fill('111111')
  await pin.press('Enter')
  await expect(page.getByText('Achtung: Ist auch die nächste PIN falsch')).toBeVisible()
  await pin.fill('111111')
  await pin.press('Enter')
  await expect(page.getByText('Pult hat alle Daten auf diesem Gerät gelöscht.')).toBeVisible()
  await expect(page.getByRole('heading', { name: /Willkommen bei Pult/ })).toBeVisible()

  expect(refused).toEqual([])
})

test('desktop: typing server and license code, and the camera when the page may not use it', async ({ page }) => {
  const fake = new FakeDesktop()
  fake.device = { ...fake.device, phase: 'connect' }
  await start(page, fake)
  await expect(page.getByRole('heading', { name: 'Mit Ihrer Schule verbinden' })).toBeVisible()

  // The backend's pages may not use the camera (Permissions-Policy): the scan says so and offers the rest.
  const scan = page.getByRole('button', { name: 'QR-Code mit der Kamera scannen' })
  await expect(scan).toBeFocused()
  await scan.click()
  await expect(page.getByTestId('qr-message')).toHaveText(/nicht benutzen|nicht einschalten|keine Kamera/)
  await expect(page.locator('video')).toHaveCount(0)

  // Typed: checked here first, a bare host name becomes https://.
  await page.getByRole('button', { name: 'Verbinden' }).click()
  await expect(page.getByText('Bitte ausfüllen.')).toHaveCount(2)
  expect(fake.count('POST /device/enroll')).toBe(0)
  await page.locator('#connect-server').fill('pult.example-school.ch')
  await page.getByLabel('Lizenzcode').fill('abcd efgh jkmn pqrs')
  await page.getByRole('button', { name: 'Verbinden' }).click()
  await expect(page.getByText('Bitte prüfen Sie die markierten Eingaben.')).toBeVisible()
  expect(fake.bodies[fake.calls.indexOf('POST /device/enroll')]).toEqual({
    server: 'https://pult.example-school.ch',
    licenseCode: 'abcd efgh jkmn pqrs',
  })
})
