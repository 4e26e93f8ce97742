import { expect, test, type Browser, type Page } from '@playwright/test'
import { cli, readState } from './backend'

// Trusted devices in a real browser: every browser context is a separate device with its own HttpOnly device
// credential. A school of its own, created on the server's command line, keeps this apart from the journey.

const adminPassword = 'Geraete-Admin-2026'
const teacherPassword = 'Geraete-Lehrer-2026'

async function device(browser: Browser): Promise<Page> {
  const context = await browser.newContext()
  return context.newPage()
}

// login submits the login form and waits for the server's answer, whose status it returns.
async function login(page: Page, username: string, password: string): Promise<number> {
  await page.goto('/#/login')
  await page.getByLabel('Benutzername').fill(username)
  await page.getByLabel('Passwort', { exact: true }).fill(password)
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST')
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click()
  return (await answer).status()
}

async function loggedIn(page: Page) {
  await expect(page.getByRole('button', { name: 'Abmelden' })).toBeVisible()
}

async function refusedWithCode(page: Page): Promise<string> {
  const code = page.getByTestId('security-code')
  await expect(code).toBeVisible()
  await expect(page.getByRole('status').filter({ hasText: 'noch nicht freigegeben' })).toBeVisible()
  const text = (await code.textContent())!.trim()
  expect(text).toMatch(/^\d{3}-\d{3}-\d{3}$/)
  return text
}

async function userId(admin: Page, username: string): Promise<string> {
  const users = await (await admin.request.get('/api/v1/users')).json()
  return users.items.find((u: { username: string }) => u.username === username).id
}

async function statusOf(admin: Page, displayName: string) {
  await admin.goto('/#/admin/users')
  await admin.reload() // the same hash again would not load the list anew
  return admin.getByRole('row', { name: new RegExp(displayName) })
}

test.describe.configure({ mode: 'serial' })

test('learning mode, approval by typed code, removal and blocking', async ({ browser }) => {
  const { dataDir } = readState()
  cli(dataDir, ['admin', 'create', '--school', 'Gerätschule', '--username', 'g.admin', '--name', 'Gerda Admin'], adminPassword + '\n')

  const admin = await device(browser)
  await login(admin, 'g.admin', adminPassword)
  await loggedIn(admin)
  for (const [username, name] of [['g.lehrer', 'Gustav Lehrer'], ['g.zweit', 'Greta Zweit']]) {
    const res = await admin.request.post('/api/v1/users', {
      data: { username, displayName: name, email: '', role: 'teacher', password: teacherPassword },
    })
    expect(res.status()).toBe(201)
  }
  const gustav = await userId(admin, 'g.lehrer')
  const greta = await userId(admin, 'g.zweit')

  // A new teacher's first login trusts that browser (learning mode).
  const first = await device(browser)
  await login(first, 'g.lehrer', teacherPassword)
  await loggedIn(first)
  await first.getByRole('link', { name: 'Meine Geräte' }).click()
  await expect(first.getByText(/Lernmodus aktiv bis .*beliebig viele Geräte/)).toBeVisible()
  await expect(first.getByText('Dieses Gerät')).toBeVisible()

  // The admin ends learning mode; a second browser is refused and shows a code.
  await admin.goto(`/#/admin/users/${gustav}/devices`)
  await admin.getByRole('button', { name: 'Lernmodus beenden' }).click()
  await admin.getByRole('button', { name: 'Ja, beenden' }).click()
  await expect(admin.getByRole('button', { name: 'Lernmodus beenden' })).toHaveCount(0)
  const second = await device(browser)
  await login(second, 'g.lehrer', teacherPassword)
  const secondCode = await refusedWithCode(second)
  await expect(await statusOf(admin, 'Gustav Lehrer')).toContainText('Unbekanntes Gerät – wartet auf Freigabe')

  // A third browser, of another teacher: its code typed for the wrong user approves nothing.
  expect((await admin.request.delete(`/api/v1/users/${greta}/learning-mode`)).status()).toBe(204)
  const third = await device(browser)
  await login(third, 'g.zweit', teacherPassword)
  const thirdCode = await refusedWithCode(third)
  await admin.goto(`/#/admin/users/${gustav}/devices`)
  await admin.getByLabel('Sicherheitscode').fill(thirdCode)
  await admin.getByRole('button', { name: 'Freigeben' }).click()
  await expect(admin.getByText('Kein wartendes Gerät dieser Person hat diesen Code. Es wurde nichts freigegeben.')).toBeVisible()
  expect(await login(third, 'g.zweit', teacherPassword)).toBe(403)
  await refusedWithCode(third)

  // The admin types the code the teacher reads out: the second browser gets in.
  await admin.getByLabel('Sicherheitscode').fill(secondCode)
  await admin.getByRole('button', { name: 'Freigeben' }).click()
  await expect(admin.getByText('Gerät freigegeben.')).toBeVisible()
  await login(second, 'g.lehrer', teacherPassword)
  await loggedIn(second)
  await expect(await statusOf(admin, 'Gustav Lehrer')).toContainText('OK')

  // The teacher removes the device they sit at: logged out, and refused again.
  await second.getByRole('link', { name: 'Meine Geräte' }).click()
  const current = second.getByRole('row').filter({ hasText: 'Dieses Gerät' })
  await current.getByRole('button', { name: /^Entfernen/ }).click()
  await second.getByRole('button', { name: 'Ja, entfernen' }).click()
  await expect(second.getByText('Sie haben dieses Gerät entfernt und wurden abgemeldet.')).toBeVisible()
  expect(await login(second, 'g.lehrer', teacherPassword)).toBe(403)
  await refusedWithCode(second)
  await expect(await statusOf(admin, 'Gustav Lehrer')).toContainText('Unbekanntes Gerät – wartet auf Freigabe')

  // A wrong password, and a blocked device, each show their reason in the status column.
  const guesser = await device(browser)
  await login(guesser, 'g.lehrer', 'falsches-passwort')
  await expect(guesser.getByText('Benutzername oder Passwort ist falsch.')).toBeVisible()
  await expect(await statusOf(admin, 'Gustav Lehrer')).toContainText('Falsches Passwort')
  await admin.goto(`/#/admin/users/${gustav}/devices`)
  const trusted = admin.getByRole('row').filter({ hasText: 'Vertrauenswürdig' })
  await expect(trusted).toHaveCount(1)
  await trusted.getByRole('button', { name: /^Sperren/ }).click()
  await admin.getByRole('button', { name: 'Ja, sperren' }).click()
  await expect(admin.getByRole('row').filter({ hasText: 'Gesperrt' })).toHaveCount(1)
  await first.reload()
  await expect(first.getByRole('button', { name: 'Anmelden' })).toBeVisible() // its session ended
  expect(await login(first, 'g.lehrer', teacherPassword)).toBe(403)
  await expect(first.getByRole('alert').filter({ hasText: 'Dieses Gerät ist gesperrt.' })).toBeVisible()
  await expect(await statusOf(admin, 'Gustav Lehrer')).toContainText('Gerät gesperrt')

  // The admin's audit log holds the decisions.
  const audit = await (await admin.request.get('/api/v1/audit.csv')).text()
  expect(audit.charCodeAt(0)).toBe(0xfeff)
  for (const line of ['login,allowed,learning_mode', 'login,refused,device_pending', 'device_approved,refused,wrong_code', 'device_approved,done', 'device_removed,done', 'login,refused,device_blocked']) {
    expect(audit).toContain(line)
  }
})

test('an admin locked out of every device gets in with a printed recovery code', async ({ browser }) => {
  const admin = await device(browser)
  await login(admin, 'g.admin', adminPassword)
  await loggedIn(admin)
  await admin.goto('/#/admin/recovery-codes')
  await expect(admin.getByTestId('recovery-status')).toContainText('Noch keine Codes erstellt.')
  await admin.getByRole('button', { name: 'Neue Codes erstellen' }).click()
  const codes = admin.getByTestId('recovery-codes')
  await expect(codes.getByRole('listitem')).toHaveCount(10)
  const code = (await codes.getByRole('listitem').first().textContent())!.trim()
  expect(code).toMatch(/^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$/)

  // The admin ends their own learning mode: a new PC is now unknown.
  await admin.getByRole('link', { name: 'Meine Geräte' }).click()
  await admin.getByRole('button', { name: 'Lernmodus beenden' }).click()
  await admin.getByRole('button', { name: 'Ja, beenden' }).click()
  await expect(admin.getByText('Lernmodus ist aus.', { exact: false })).toBeVisible()

  const newPC = await device(browser)
  await login(newPC, 'g.admin', adminPassword)
  await refusedWithCode(newPC)
  await newPC.getByText('Als Administrator:in mit Wiederherstellungscode anmelden').click()
  await newPC.getByLabel('Wiederherstellungscode').fill('AAAA-BBBB-CCCC')
  await newPC.getByRole('button', { name: 'Mit Code anmelden' }).click()
  await expect(newPC.getByText('Der Wiederherstellungscode ist ungültig oder schon benutzt.')).toBeVisible()
  await newPC.getByLabel('Wiederherstellungscode').fill(code.toLowerCase())
  await newPC.getByRole('button', { name: 'Mit Code anmelden' }).click()
  await loggedIn(newPC)

  // The code works once: on yet another PC it is refused.
  const another = await device(browser)
  expect(await login(another, 'g.admin', adminPassword)).toBe(403)
  await refusedWithCode(another)
  await another.getByText('Als Administrator:in mit Wiederherstellungscode anmelden').click()
  await another.getByLabel('Wiederherstellungscode').fill(code)
  await another.getByRole('button', { name: 'Mit Code anmelden' }).click()
  await expect(another.getByText('Der Wiederherstellungscode ist ungültig oder schon benutzt.')).toBeVisible()

  // The audit log page shows the recovery, and filters by outcome.
  await newPC.goto('/#/admin/audit')
  await newPC.getByLabel('Ergebnis').selectOption({ label: 'abgelehnt' })
  const rows = newPC.getByRole('row')
  await expect(rows.filter({ hasText: 'erlaubt' })).toHaveCount(0)
  await expect(rows.filter({ hasText: 'abgelehnt' }).first()).toBeVisible()
  await newPC.getByLabel('Ergebnis').selectOption({ label: 'erlaubt' })
  await expect(rows.filter({ hasText: 'abgelehnt' })).toHaveCount(0)
  expect(await newPC.getByRole('link', { name: 'CSV für Excel (Semikolon)' }).getAttribute('href')).toContain('sep=semicolon')
})
