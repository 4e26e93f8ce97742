import { expect, test, type Browser, type Page } from '@playwright/test'
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { port } from '../playwright.config'
import { cli, startBackend } from './backend'
import { SmtpSink, subjectOf, textOf, type ReceivedMail } from './smtp-sink'

// Parents and students (issue 6) against a backend of their own that sends real mail over SMTP to a server in
// this process: a parent registers, cannot log in before confirming, opens the link from the mail, logs in; the
// school prints letters for a course; the parent adds the code from a letter and sees the child's attendance and
// homework but no internal note; shares with a second account, which sees the same; revokes, and the second sees
// nothing. Then a password reset by mail.

const sink = new SmtpSink('pult-mailer', 'smtp-secret-e2e')
const backendPort = port + 2
const base = `http://127.0.0.1:${backendPort}`
let backend: (ChildProcess & { pid?: number }) | null = null
let dataDir = ''

const adminPassword = 'Admin-Eltern-2026'
const parentPassword = 'Eltern-Passwort-2026'
const kidPassword = 'Kinder-Passwort-2026'
const parentEmail = 'eltern.sonnenschein@example.org'
const kidEmail = 'mia.sonnenschein@example.org'

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  const smtpPort = await sink.start()
  const started = await startBackend(backendPort, {
    PULT_SMTP_URL: `smtp://${sink.username}:${sink.password}@127.0.0.1:${smtpPort}`,
    PULT_MAIL_FROM: 'Pult <pult@localhost>',
  })
  backend = started.child
  dataDir = started.dataDir
  cli(dataDir, ['admin', 'create', '--school', 'Musikschule Elternhaus', '--username', 'e.admin', '--name', 'Eva Admin'], adminPassword + '\n')
})

test.afterAll(async () => {
  if (backend?.pid) {
    try {
      process.kill(-backend.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  await sink.stop()
  if (dataDir && !process.env.PULT_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true })
})

/** The next mail to `to` whose subject contains `subject`, waiting for it. */
async function mailTo(to: string, subject: string): Promise<ReceivedMail> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const m = sink.mails.find((x) => x.to === to && subjectOf(x.raw).includes(subject))
    if (m) return m
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with ${subject}: ${sink.mails.map((x) => `${x.to}: ${subjectOf(x.raw)}`)}`)
    await sink.waitFor(sink.mails.length + 1, 1000).catch(() => {})
  }
}

function linkIn(mail: ReceivedMail, kind: 'confirm' | 'reset'): string {
  const m = textOf(mail.raw).match(new RegExp(`${base.replace(/\./g, '\\.')}/#/parent/${kind}/[A-Za-z0-9_-]{43}`))
  if (!m) throw new Error(`no ${kind} link in: ${textOf(mail.raw)}`)
  return m[0]
}

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: base, locale: 'de-DE' })
  return context.newPage()
}

async function registerAndConfirm(page: Page, email: string, password: string) {
  await page.goto('/#/login')
  await page.getByRole('link', { name: 'Eltern und Schüler:innen: hier anmelden' }).click()
  await page.getByRole('link', { name: 'Neu hier? Registrieren' }).click()
  await page.getByLabel('E-Mail-Adresse').fill(email)
  await page.getByLabel('Passwort', { exact: true }).fill(password)
  await page.getByLabel('Passwort wiederholen').fill(password)
  await page.getByRole('button', { name: 'Registrieren' }).click()
  await expect(page.getByText(`Fast geschafft: Wir haben eine E-Mail an ${email} geschickt.`)).toBeVisible()

  // Before the link is opened, the account does not work.
  await page.getByRole('link', { name: 'Zur Anmeldung' }).click()
  await parentLogin(page, email, password, false)
  await expect(page.getByText('E-Mail-Adresse oder Passwort ist falsch – oder die Adresse ist noch nicht bestätigt')).toBeVisible()

  const mail = await mailTo(email, 'Bitte bestätigen Sie Ihre Adresse')
  expect(mail.user).toBe(sink.username)
  const link = linkIn(mail, 'confirm')
  await page.goto(link)
  await expect(page.getByText('Ihre Adresse ist bestätigt. Melden Sie sich jetzt an.')).toBeVisible()
  // The one-time token leaves the address bar as soon as it was read.
  expect(page.url()).not.toContain(link.split('/confirm/')[1])
  await parentLogin(page, email, password)
  // The link works once.
  await page.goto(link)
  await expect(page.getByText('Dieser Link gilt nicht mehr')).toBeVisible()
  await page.goto('/#/parent')
}

async function parentLogin(page: Page, email: string, password: string, succeed = true) {
  // The login form shows on the login page and, after the link did its work, on the confirmation and reset pages.
  if (!(await page.getByRole('heading', { name: 'Anmeldung für Eltern' }).isVisible())) await page.goto('/#/parent/login')
  await page.getByLabel('E-Mail-Adresse').fill(email)
  await page.getByLabel('Passwort', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Anmelden' }).click()
  if (succeed) await expect(page.getByRole('heading', { name: 'Meine Kinder' })).toBeVisible()
}

let parent: Page
let kid: Page
let code = ''

test('a parent registers, cannot log in before confirming, confirms by the mailed link and logs in', async ({ browser }) => {
  parent = await newPage(browser)
  await registerAndConfirm(parent, parentEmail, parentPassword)
  await expect(parent.getByText('Noch kein Kind hinzugefügt.')).toBeVisible()
})

test('the school writes a template, previews it and prints the letters of a course, one per page', async ({ browser }) => {
  const admin = await newPage(browser)
  await admin.goto('/#/login')
  await admin.getByLabel('Benutzername').fill('e.admin')
  await admin.getByLabel('Passwort', { exact: true }).fill(adminPassword)
  await admin.getByRole('button', { name: 'Anmelden' }).click()
  await expect(admin.getByRole('button', { name: 'Abmelden' })).toBeVisible()

  // A course with two children, a lesson with homework, a note for parents and an internal note.
  const me = (await (await admin.request.get('/api/v1/env')).json()).user
  const post = async (path: string, data: unknown) => {
    const res = await admin.request.post(path, { data })
    expect(res.ok(), `${path}: ${await res.text()}`).toBe(true)
    return res.json()
  }
  const course = await post('/api/v1/courses', { name: 'Klavier Elternhaus', subject: 'Klavier', teacherId: me.id })
  const mia = await post('/api/v1/students', { firstName: 'Mia', lastName: 'Sonnenschein', class: '3b', guardianEmail: parentEmail })
  const paul = await post('/api/v1/students', { firstName: 'Paul', lastName: 'Regenbogen', class: '3b' })
  for (const s of [mia, paul]) expect((await admin.request.put(`/api/v1/courses/${course.id}/students/${s.id}`)).status()).toBe(204)
  const lesson = await post(`/api/v1/courses/${course.id}/lessons`, {
    date: '2026-03-02', startTime: '08:00', endTime: '08:45', topic: 'Tonleitern', homework: 'Seite 12 üben',
    note: 'Intern: Gespräch mit der Lehrerin', parentNote: 'Bitte Noten mitbringen',
  })
  for (const [s, mark] of [[mia, { status: 'late', lateMinutes: 7, comment: 'Intern: Bus verpasst' }], [paul, { status: 'unexcused' }]] as const) {
    expect((await admin.request.put(`/api/v1/lessons/${lesson.id}/attendance/${s.id}`, { data: mark })).ok()).toBe(true)
  }

  await admin.getByRole('link', { name: 'Briefe' }).click()
  await expect(admin.getByRole('heading', { name: 'Briefe', level: 1 })).toBeVisible()
  await admin.getByLabel('Name der Vorlage').fill('Zugangsbrief')
  await admin.getByLabel('Betreff').fill('Zugang für {{name}}')
  await admin.getByLabel('Text', { exact: true }).fill('Liebe Eltern von {{vorname}}\n\nIhr Zugangscode: {{code}}')
  await admin.getByRole('button', { name: 'Speichern' }).click()
  await expect(admin.getByText('Unbekannter Platzhalter.')).toBeVisible()
  await admin.getByLabel('Text', { exact: true }).fill('Liebe Eltern von {{firstName}} ({{course}}, {{school}})\n\nIhr Zugangscode: {{code}}\nRegistrieren: {{link}}')
  await admin.getByRole('button', { name: 'Vorschau' }).click()
  await expect(admin.getByText('Zugang für Anna Beispiel')).toBeVisible()
  await admin.getByRole('button', { name: 'Speichern' }).click()
  await expect(admin.getByText('Vorlage «Zugangsbrief» gespeichert.')).toBeVisible()

  await admin.getByLabel('Vorlage', { exact: true }).selectOption({ label: 'Zugangsbrief' })
  await admin.getByLabel('Kurs', { exact: true }).selectOption({ label: 'Klavier Elternhaus' })
  await admin.getByRole('button', { name: 'Briefe zum Drucken' }).click()
  await expect(admin.getByText('Briefe bereit: 2, je einer pro Seite.')).toBeVisible()
  const letters = admin.getByTestId('letter')
  await expect(letters).toHaveCount(2)
  const letter = letters.filter({ hasText: 'Zugang für Mia Sonnenschein' })
  await expect(letter).toContainText('Liebe Eltern von Mia (Klavier Elternhaus, Musikschule Elternhaus)')
  code = ((await letter.textContent()) ?? '').match(/[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}/)?.[0] ?? ''
  expect(code).not.toBe('')

  // Printed, only the letters show, each on its own page.
  await admin.emulateMedia({ media: 'print' })
  await expect(admin.getByRole('heading', { name: 'Briefe', level: 1 })).toBeHidden()
  await expect(letters.first()).toBeVisible()
  expect(await letters.first().evaluate((el) => getComputedStyle(el).breakAfter)).toBe('page')
  await admin.emulateMedia({ media: 'screen' })

  // The same letters by e-mail: Mia's guardian has an address, Paul's has none.
  await admin.getByRole('button', { name: 'Per E-Mail senden' }).click()
  await expect(admin.getByText('E-Mails unterwegs: 1; ohne E-Mail-Adresse: 1 (bitte drucken).')).toBeVisible()
  const mailed = await mailTo(parentEmail, 'Zugang für Mia Sonnenschein')
  expect(textOf(mailed.raw)).toContain(code)

  // Letters for picked students only: Mia's, with the same code (a live code is kept).
  await admin.getByLabel('Brief für Sonnenschein, Mia').check()
  await expect(admin.getByText('Für die 1 unten ausgewählten Schüler:innen.')).toBeVisible()
  await admin.getByRole('button', { name: 'Briefe zum Drucken' }).click()
  await expect(admin.getByText('Briefe bereit: 1, je einer pro Seite.')).toBeVisible()
  await expect(letters).toHaveCount(1)
  await expect(letters.first()).toContainText(code)
  await admin.context().close()
})

test('the parent adds the code and sees attendance and homework, but no internal note', async () => {
  await parent.getByRole('link', { name: 'Einstellungen' }).click()
  await expect(parent.getByRole('heading', { name: 'Kennungen verwalten' })).toBeVisible()
  await parent.getByLabel('Zugangscode').fill(code.toLowerCase().replace(/-/g, ' '))
  await parent.getByRole('button', { name: 'Hinzufügen' }).click()
  await expect(parent.getByText('Mia Sonnenschein (Musikschule Elternhaus) ist hinzugefügt.')).toBeVisible()
  await parent.getByRole('link', { name: 'Meine Kinder', exact: true }).click()
  await parent.getByRole('link', { name: 'Mia Sonnenschein' }).click()
  await expect(parent.getByRole('heading', { name: 'Mia Sonnenschein' })).toBeVisible()
  const row = parent.getByRole('row', { name: /02\.03\.2026/ })
  await expect(row).toContainText('Tonleitern')
  await expect(row).toContainText('Seite 12 üben')
  await expect(row).toContainText('Bitte Noten mitbringen')
  await expect(row).toContainText('Verspätet (7 Min.)')
  await expect(parent.getByText('Intern')).toHaveCount(0)
  await expect(parent.getByText('Paul')).toHaveCount(0)
})

test('the parent shares with a second account, which sees the same; after the revoke it sees nothing', async ({ browser }) => {
  kid = await newPage(browser)
  await registerAndConfirm(kid, kidEmail, kidPassword)
  await expect(kid.getByText('Noch kein Kind hinzugefügt.')).toBeVisible()

  await parent.getByRole('link', { name: 'Einstellungen' }).click()
  await parent.getByLabel('Zugang zu Mia teilen mit (E-Mail-Adresse)').fill(kidEmail)
  await parent.getByRole('button', { name: 'Teilen' }).click()
  await expect(parent.getByText(`Der Zugang zu Mia Sonnenschein ist mit ${kidEmail} geteilt.`)).toBeVisible()

  await kid.reload()
  await kid.getByRole('link', { name: 'Mia Sonnenschein' }).click()
  const row = kid.getByRole('row', { name: /02\.03\.2026/ })
  await expect(row).toContainText('Seite 12 üben')
  await expect(row).toContainText('Verspätet (7 Min.)')
  await expect(kid.getByText('Intern')).toHaveCount(0)

  await parent.getByRole('button', { name: `Widerrufen: ${kidEmail}` }).click()
  await expect(parent.getByText(`${kidEmail} sieht Mia Sonnenschein nicht mehr.`)).toBeVisible()
  await kid.reload()
  await expect(kid.getByText('Dieses Kind ist nicht (mehr) mit Ihrem Konto verbunden.')).toBeVisible()
  await expect(kid.getByText('Seite 12 üben')).toHaveCount(0)
  await kid.getByRole('link', { name: 'Meine Kinder', exact: true }).click()
  await expect(kid.getByText('Noch kein Kind hinzugefügt.')).toBeVisible()
})

test('password reset by mail: the same answer for an unknown address, the link sets a new password and ends every session', async ({ browser }) => {
  const anyone = await newPage(browser)
  const answers: string[] = []
  for (const email of ['niemand@example.org', parentEmail]) {
    await anyone.goto('/#/parent/login')
    await anyone.getByRole('link', { name: 'Passwort vergessen?' }).click()
    await anyone.getByLabel('E-Mail-Adresse').fill(email)
    await anyone.getByRole('button', { name: 'Link senden' }).click()
    const answer = anyone.getByRole('status').filter({ hasText: 'ist ein Link unterwegs' })
    await expect(answer).toBeVisible()
    answers.push(((await answer.textContent()) ?? '').replace(email, 'ADDRESS'))
  }
  expect(answers[0]).toBe(answers[1])
  const link = linkIn(await mailTo(parentEmail, 'Passwort neu setzen'), 'reset')
  expect(sink.mails.some((m) => m.to === 'niemand@example.org')).toBe(false)

  await anyone.goto(link)
  await anyone.getByLabel('Neues Passwort', { exact: true }).fill('Neues-Eltern-Passwort-2026')
  await anyone.getByLabel('Passwort wiederholen').fill('Neues-Eltern-Passwort-2026')
  await expect(anyone.getByLabel('Überall abmelden (alle anderen Geräte)')).toBeChecked()
  await anyone.getByRole('button', { name: 'Passwort setzen' }).click()
  await expect(anyone.getByText('Ihr neues Passwort ist gesetzt. Melden Sie sich damit an.')).toBeVisible()

  // The parent's other browser is logged out; the old password no longer works, the new one does.
  await parent.reload()
  await expect(parent.getByRole('heading', { name: 'Anmeldung für Eltern' })).toBeVisible()
  await parentLogin(parent, parentEmail, parentPassword, false)
  await expect(parent.getByText('E-Mail-Adresse oder Passwort ist falsch')).toBeVisible()
  await parentLogin(parent, parentEmail, 'Neues-Eltern-Passwort-2026')
  await expect(parent.getByRole('link', { name: 'Mia Sonnenschein' })).toBeVisible()
})

test('the school sees the registrations: from its letter\'s link before confirming, and the accounts with its children', async ({ browser }) => {
  // Someone opens the link of the printed letter and registers, but does not confirm yet.
  const letterLink = `${base}/#/parent/register?school=`
  const admin = await newPage(browser)
  await admin.goto('/#/login')
  await admin.getByLabel('Benutzername').fill('e.admin')
  await admin.getByLabel('Passwort', { exact: true }).fill(adminPassword)
  await admin.getByRole('button', { name: 'Anmelden' }).click()
  await expect(admin.getByRole('button', { name: 'Abmelden' })).toBeVisible()
  const school = (await (await admin.request.get('/api/v1/env')).json()).user.schoolId
  const visitor = await newPage(browser)
  await visitor.goto(letterLink + school)
  await visitor.getByLabel('E-Mail-Adresse').fill('grosseltern@example.org')
  await visitor.getByLabel('Passwort', { exact: true }).fill(kidPassword)
  await visitor.getByLabel('Passwort wiederholen').fill(kidPassword)
  await visitor.getByRole('button', { name: 'Registrieren' }).click()
  await expect(visitor.getByText('Fast geschafft')).toBeVisible()

  await admin.getByRole('link', { name: 'Eltern', exact: true }).click()
  await expect(admin.getByRole('row', { name: new RegExp(parentEmail) })).toContainText('Mia Sonnenschein')
  await expect(admin.getByRole('row', { name: new RegExp(parentEmail) })).toContainText('ja')
  await expect(admin.getByRole('row', { name: /grosseltern@example\.org/ })).toContainText('nein')
  await expect(admin.getByText(kidEmail)).toHaveCount(0) // the share was revoked
})

test('the child’s own account sets English mails, changes its password, and deletes itself', async () => {
  await kid.getByRole('link', { name: 'Mein Konto' }).click()
  await expect(kid.getByRole('heading', { name: 'Mein Konto' })).toBeVisible()
  await kid.getByLabel('Sprache der E-Mails').selectOption('en')
  await kid.getByRole('button', { name: 'Speichern' }).click()
  await expect(kid.getByText('Die Sprache der E-Mails ist gespeichert.')).toBeVisible()

  await kid.getByLabel('Aktuelles Passwort').fill('not the password')
  await kid.getByLabel('Neues Passwort', { exact: true }).fill('Neues-Kinder-Passwort-2026')
  await kid.getByLabel('Neues Passwort wiederholen').fill('Neues-Kinder-Passwort-2026')
  await kid.getByRole('button', { name: 'Passwort ändern' }).click()
  await expect(kid.getByText('Das Passwort wurde geändert.')).toHaveCount(0)
  await kid.getByLabel('Aktuelles Passwort').fill(kidPassword)
  await kid.getByRole('button', { name: 'Passwort ändern' }).click()
  await expect(kid.getByText('Das Passwort wurde geändert.')).toBeVisible()

  // The account's mails now come in English.
  const res = await kid.request.post('/api/v1/parent/password-reset', { data: { email: kidEmail } })
  expect(res.status()).toBe(202)
  await mailTo(kidEmail, 'Set a new password')

  await kid.getByLabel('Ihr Passwort zur Bestätigung').fill('Neues-Kinder-Passwort-2026')
  await kid.getByRole('button', { name: 'Konto löschen …' }).click()
  await kid.getByRole('button', { name: 'Endgültig löschen' }).click()
  await expect(kid.getByText('Ihr Konto ist gelöscht.')).toBeVisible()
  await parentLogin(kid, kidEmail, 'Neues-Kinder-Passwort-2026', false)
  await expect(kid.getByText('E-Mail-Adresse oder Passwort ist falsch')).toBeVisible()
})

test('no parent address, child name or access code is in plaintext in any file under the data folder', async () => {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else files.push(path)
    }
  }
  walk(dataDir)
  const needles = [parentEmail, kidEmail, 'grosseltern@', 'sonnenschein', 'regenbogen', code, code.replace(/-/g, ''), sink.password].map((n) => n.toLowerCase())
  for (const file of files) {
    const text = readFileSync(file).toString('latin1').toLowerCase()
    for (const n of needles) expect(text.includes(n), `${n} in ${file}`).toBe(false)
  }
})
