import type { ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import { cli, startBackend } from './backend'
import { chooseGerman, filesUnder, freePort, newPage, setPin, startFreshDesktop, stop } from './desktop'
import { login } from './ui'

// The desktop app for real (LE1–LE6): its in-process handler, served to the browser by pult-desktop-dev exactly as
// Wails' asset server hands it the window's requests, against a real backend of its own. An admin gives a license
// to a teacher; the app enrolls with it, waits, is approved by the code it shows, and the teacher logs in and sets
// a PIN. Then the backend goes away: lessons and attendance still work from the encrypted local store. Five wrong
// PINs wipe the app back to its first run, and nothing of Pult is left in its profile folder.

const adminPassword = 'Desktop-Admin-2026'
const teacherPassword = 'Desktop-Lehrer-2026'
const PIN = '482915'
const course = 'Klavier Oberstufe'
// Names and a topic found nowhere else, so the profile's files can be searched for them.
const student = { firstName: 'Ermengild', lastName: 'Zwetschgenau' }
const topic = 'Tonleitern Fis-Dur offline'

let backend: ChildProcess | null = null
let desktop: ChildProcess | null = null
const dirs: string[] = []

test.afterAll(async () => {
  await stop(desktop)
  await stop(backend)
  if (!process.env.PULT_E2E_KEEP) for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

test('desktop app: license enrollment, approval by code, PIN, offline lessons, wipe after wrong PINs', async ({ browser }) => {
  // A backend of its own: this test stops it.
  const backendPort = await freePort()
  const started = await startBackend(backendPort)
  backend = started.child
  dirs.push(started.dataDir)
  const server = `http://127.0.0.1:${backendPort}`
  const { dataDir } = started
  cli(dataDir, ['admin', 'create', '--school', 'Desktopschule', '--username', 'd.admin', '--name', 'Dora Admin'], adminPassword + '\n')

  // 1. The admin logs in; a teacher, and a course of theirs with one student.
  const admin = await newPage(browser, server)
  await login(admin, 'd.admin', adminPassword)
  const created = await admin.request.post('/api/v1/users', {
    data: { username: 'd.lehrer', displayName: 'Dieter Lehrer', email: '', role: 'teacher', password: teacherPassword },
  })
  expect(created.status()).toBe(201)
  const teacherId = (await created.json()).id
  const courseRes = await admin.request.post('/api/v1/courses', { data: { name: course, subject: 'Musik', teacherId } })
  expect(courseRes.status()).toBe(201)
  const courseId = (await courseRes.json()).id
  const studentRes = await admin.request.post('/api/v1/students', {
    data: { ...student, birthDate: '2011-04-02', class: '9b', guardianEmail: '' },
  })
  expect(studentRes.status()).toBe(201)
  const studentId = (await studentRes.json()).id
  expect((await admin.request.put(`/api/v1/courses/${courseId}/students/${studentId}`)).ok()).toBe(true)

  // 2. The admin adds a license on the licenses page, gives it to the teacher and reads its code.
  await admin.getByRole('link', { name: 'Lizenzen' }).click()
  await expect(admin.getByText('Die Schule hat noch keine Lizenzen.')).toBeVisible()
  await admin.getByLabel('Anzahl').fill('1')
  await admin.getByRole('button', { name: 'Hinzufügen' }).click()
  await expect(admin.getByText('Lizenzen hinzugefügt: 1.')).toBeVisible()
  const codeCell = admin.locator('tbody th[scope="row"]')
  await expect(codeCell).toHaveCount(1)
  const licenseCode = (await codeCell.textContent())!.trim()
  expect(licenseCode).toMatch(/^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}$/)
  await admin.getByRole('button', { name: `Zuweisen: ${licenseCode}` }).click()
  await admin.getByLabel('Lehrperson', { exact: true }).selectOption({ label: 'Dieter Lehrer' })
  await admin.getByRole('button', { name: 'Zuweisen', exact: true }).click()
  await expect(admin.getByText(`Die Lizenz ${licenseCode} ist zugewiesen an: Dieter Lehrer.`)).toBeVisible()

  // 3. The desktop app, first run: language, then server and license code typed; it shows its security code.
  const fresh = await startFreshDesktop(dirs)
  desktop = fresh.child
  const { profileDir } = fresh
  const app = await newPage(browser, fresh.url)
  await chooseGerman(app)
  const typed = app.getByRole('form', { name: 'Code eintippen' })
  await typed.getByLabel('Adresse des Servers').fill(server)
  await typed.getByLabel('Lizenzcode').fill(licenseCode.toLowerCase())
  await typed.getByRole('button', { name: 'Verbinden' }).click()
  await expect(app.getByRole('heading', { name: 'Warten auf Freigabe' })).toBeVisible()
  const shown = app.getByTestId('security-code')
  await expect(shown).toHaveText(/^\d{9}$/)
  const digits = (await shown.textContent())!.trim()
  await expect(shown).toHaveAttribute('aria-label', `Sicherheitscode: ${digits.slice(0, 3).split('').join(' ')}, ${digits.slice(3, 6).split('').join(' ')}, ${digits.slice(6).split('').join(' ')}`)
  await expect(app.getByText('Pult wartet auf die Freigabe …')).toBeVisible()
  await expect(app.getByText(`Server: ${server}`)).toBeVisible()

  // The admin sees the waiting device at the license.
  await admin.reload()
  const licenseRow = admin.getByRole('row').filter({ hasText: licenseCode })
  await expect(licenseRow).toContainText('Wartet auf Freigabe')

  // 4. The teacher reads the code out, the admin types it; the app notices by itself and asks for the login.
  await admin.getByRole('button', { name: `Gerät freigeben: ${licenseCode}` }).click()
  await admin.getByLabel('Sicherheitscode').fill(`${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`)
  await admin.getByRole('button', { name: 'Freigeben', exact: true }).click()
  await expect(admin.getByText(`Das Gerät der Lizenz ${licenseCode} ist freigegeben.`)).toBeVisible()
  await expect(licenseRow).toContainText('Vertrauenswürdig')

  await expect(app.getByText('Ihre Schule hat dieses Gerät freigegeben.', { exact: false })).toBeVisible({ timeout: 15_000 })
  await app.getByLabel('Benutzername').fill('d.lehrer')
  await app.getByLabel('Passwort', { exact: true }).fill(teacherPassword)
  await app.getByRole('button', { name: 'Anmelden', exact: true }).click()
  await setPin(app, PIN)

  // Ready: the teacher's course, from the local store the app filled.
  await expect(app.getByRole('button', { name: 'Sperren' })).toBeVisible()
  await expect(app.locator('.connection')).toContainText('Online')
  await expect(app.getByRole('link', { name: new RegExp(course) })).toContainText('Schüler:innen: 1')
  const written = filesUnder(profileDir).map((f) => f.slice(profileDir.length + 1))
  expect(written).toEqual(expect.arrayContaining(['pult.db', 'vault', 'os.key']))

  // 5. The school's server goes away. The teacher keeps working: a lesson and its attendance, offline.
  await stop(backend)
  backend = null
  await app.getByRole('link', { name: new RegExp(course) }).click()
  await expect(app.getByRole('heading', { level: 1, name: course })).toBeVisible()
  await expect(app.getByText(`${student.lastName}, ${student.firstName}`)).toBeVisible()
  await app.getByLabel('Thema').fill(topic)
  await app.getByRole('button', { name: 'Stunde anlegen' }).click()
  const grid = app.getByRole('grid', { name: 'Anwesenheit' })
  await expect(grid).toBeVisible()
  const row = grid.getByRole('row', { name: `${student.lastName}, ${student.firstName}` })
  await expect(row).toHaveAttribute('data-status', 'unmarked')
  await grid.focus()
  for (const key of ['v', '1', '2']) await app.keyboard.press(key)
  await expect(row).toHaveAttribute('data-save-state', 'saved')
  await expect(row).toContainText('Verspätet (12 Min.)')

  // Still there after a reload: it was stored, not only shown.
  await app.reload()
  await expect(app.getByRole('heading', { level: 1, name: /^Stunde vom / })).toBeVisible()
  await expect(app.getByText(topic)).toBeVisible()
  const reloaded = app.getByRole('grid', { name: 'Anwesenheit' }).getByRole('row', { name: `${student.lastName}, ${student.firstName}` })
  await expect(reloaded).toHaveAttribute('data-status', 'late')
  await expect(reloaded).toContainText('Verspätet (12 Min.)')
  await app.getByRole('link', { name: course }).click()
  await expect(app.getByRole('heading', { level: 1, name: course })).toBeVisible()
  await expect(app.getByRole('link', { name: new RegExp(topic) })).toBeVisible()
  await app.reload()
  await expect(app.getByRole('link', { name: new RegExp(topic) })).toBeVisible()

  // What needs the server says so, and the header shows the app offline.
  await app.getByRole('link', { name: 'Meine Geräte' }).click()
  await expect(app.getByText('Dafür braucht Pult eine Verbindung zum Server Ihrer Schule', { exact: false })).toBeVisible()
  await expect(app.locator('.connection')).toContainText('Offline')

  // LE6: the local files hold none of it in plaintext.
  const needles = [student.firstName, student.lastName, topic, course].map((n) => n.toLowerCase())
  for (const file of filesUnder(profileDir)) {
    const text = readFileSync(file).toString('latin1').toLowerCase()
    for (const n of needles) expect(text.includes(n), `${n} in ${file}`).toBe(false)
  }

  // 6. Lock; five wrong PINs, the attempts left counting down, and the fifth wipes the app.
  await app.getByRole('button', { name: 'Sperren' }).click()
  await expect(app.getByRole('heading', { name: 'Pult ist gesperrt' })).toBeVisible()
  await expect(app.getByText('Noch 5 Versuche.')).toBeVisible()
  const pin = app.getByLabel('PIN', { exact: true })
  for (const left of ['Noch 4 Versuche.', 'Noch 3 Versuche.', 'Noch 2 Versuche.', 'Noch 1 Versuch.']) {
    await pin.fill('739104')
    await pin.press('Enter')
    await expect(app.getByRole('alert').filter({ hasText: `Die PIN ist falsch. ${left}` })).toBeVisible()
  }
  await expect(app.getByText('Achtung: Ist auch die nächste PIN falsch, löscht Pult alle Daten auf diesem Gerät.')).toBeVisible()
  await pin.fill('739104')
  await pin.press('Enter')
  await expect(app.getByText('Pult hat alle Daten auf diesem Gerät gelöscht.')).toBeVisible()
  await expect(app.getByRole('heading', { name: /Willkommen bei Pult/ })).toBeVisible()

  // Nothing of Pult is left in the profile folder (no database, no WAL, no vault, no key): it is empty or gone.
  const left = () => (existsSync(profileDir) ? readdirSync(profileDir, { recursive: true }) : [])
  expect(left()).toEqual([])
  // After a reload too, the app is at its first run.
  await app.reload()
  await expect(app.getByRole('heading', { name: /Willkommen bei Pult/ })).toBeVisible()
  expect(left()).toEqual([])
})
