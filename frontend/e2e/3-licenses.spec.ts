import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { expect, test, type APIRequestContext, type Page } from '@playwright/test'
import { cli, readState } from './backend'

// Licenses (LE1, LE2) in a real browser: an admin adds licenses, gives them to a teacher and a location, detaches
// one and prints the sheet of QR codes; then a desktop app (played here by signed requests) enrolls with a
// license, the admin approves it by its code, blocks it, and sees the wipe receipt (LE3, LE4). A school of its own,
// created on the server's command line, keeps this apart from the other tests.

const adminPassword = 'Lizenz-Admin-2026'
const teacherPassword = 'Lizenz-Lehrer-2026'
const codeShape = /^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}$/

async function login(page: Page, username: string, password: string) {
  await page.goto('/#/login')
  await page.getByLabel('Benutzername').fill(username)
  await page.getByLabel('Passwort', { exact: true }).fill(password)
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST')
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click()
  expect((await answer).status()).toBe(200)
  await expect(page.getByRole('button', { name: 'Abmelden' })).toBeVisible()
}

/** A desktop app's device: an Ed25519 key pair and the hash of its hardware token. */
class Desktop {
  readonly key: KeyObject
  readonly publicKey: string
  readonly tokenHash = createHash('sha256').update('machine-id|lehrer').digest('hex')
  id = ''

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    this.key = privateKey
    // The raw key is the end of its DER form.
    this.publicKey = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('base64')
  }

  /** Its answer to a fresh challenge, signed for a purpose ("status", "wiped"). */
  async signed(request: APIRequestContext, purpose: string) {
    const res = await request.post('/api/v1/devices/desktop/challenge', { data: { deviceId: this.id } })
    expect(res.status()).toBe(200)
    const { challenge } = await res.json()
    const signature = sign(null, Buffer.from(`pult device v1\0${purpose}\0${challenge}`), this.key).toString('base64')
    return { deviceId: this.id, challenge, signature, tokenHash: this.tokenHash }
  }

  async status(request: APIRequestContext): Promise<string> {
    const res = await request.post('/api/v1/devices/desktop/status', { data: await this.signed(request, 'status') })
    expect(res.status()).toBe(200)
    return (await res.json()).state
  }
}

test('licenses: add, assign, detach, print the sheet; enroll, approve, block and wipe a desktop', async ({ browser, baseURL }) => {
  const { dataDir } = readState()
  cli(dataDir, ['admin', 'create', '--school', 'Lizenzschule', '--username', 'l.admin', '--name', 'Lea Admin'], adminPassword + '\n')
  const admin = await (await browser.newContext()).newPage()
  const cspErrors: string[] = []
  admin.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text())
  })
  await login(admin, 'l.admin', adminPassword)
  const created = await admin.request.post('/api/v1/users', {
    data: { username: 'l.lehrer', displayName: 'Lukas Lehrer', email: '', role: 'teacher', password: teacherPassword },
  })
  expect(created.status()).toBe(201)
  const lukas = (await created.json()).id

  // Add three licenses.
  await admin.getByRole('link', { name: 'Lizenzen' }).click()
  await expect(admin.getByRole('heading', { level: 1, name: 'Lizenzen' })).toBeVisible()
  await expect(admin.getByText('Die Schule hat noch keine Lizenzen.')).toBeVisible()
  await admin.getByLabel('Anzahl').fill('3')
  await admin.getByRole('button', { name: 'Hinzufügen' }).click()
  await expect(admin.getByText('Lizenzen hinzugefügt: 3.')).toBeVisible()
  const codeCells = admin.locator('tbody th[scope="row"]')
  await expect(codeCells).toHaveCount(3)
  const codes = (await codeCells.allTextContents()).map((c) => c.trim())
  for (const code of codes) expect(code).toMatch(codeShape)
  const row = (code: string) => admin.getByRole('row').filter({ hasText: code })
  await expect(admin.getByRole('button', { name: 'Blatt drucken' })).toBeDisabled()

  // The first goes to the teacher, the second to a location, the third to another location and back.
  await admin.getByRole('button', { name: `Zuweisen: ${codes[0]}` }).click()
  await admin.getByLabel('Lehrperson', { exact: true }).selectOption({ label: 'Lukas Lehrer' })
  await admin.getByRole('button', { name: 'Zuweisen', exact: true }).click()
  await expect(admin.getByText(`Die Lizenz ${codes[0]} ist zugewiesen an: Lukas Lehrer.`)).toBeVisible()
  await expect(row(codes[0])).toContainText('Lukas Lehrer')

  for (const [code, location] of [[codes[1], 'Zimmer 12'], [codes[2], 'Bibliothek']]) {
    await admin.getByRole('button', { name: `Zuweisen: ${code}` }).click()
    await admin.getByLabel('einen Standort (gemeinsam genutzter Computer)').check()
    await admin.getByLabel('Standort', { exact: true }).fill(location)
    await admin.getByRole('button', { name: 'Zuweisen', exact: true }).click()
    await expect(admin.getByText(`Die Lizenz ${code} ist zugewiesen an: ${location}.`)).toBeVisible()
    await expect(row(code)).toContainText(location)
  }

  await admin.getByRole('button', { name: `Lösen: ${codes[2]}` }).click()
  await admin.getByRole('button', { name: 'Ja, lösen' }).click()
  await expect(admin.getByText(`Die Lizenz ${codes[2]} wurde gelöst.`)).toBeVisible()
  await expect(row(codes[2])).toContainText('Niemandem')
  await expect(row(codes[2])).not.toContainText('Bibliothek')

  // Select two and print their sheet.
  await admin.getByLabel(`Auswählen: ${codes[0]}`).check()
  await admin.getByLabel(`Auswählen: ${codes[1]}`).check()
  await admin.getByRole('button', { name: 'Blatt drucken' }).click()
  await expect(admin.getByRole('heading', { level: 1, name: 'Lizenzblatt' })).toBeVisible()
  const cards = admin.getByTestId('license-card')
  await expect(cards).toHaveCount(2)
  for (const [i, code] of [codes[0], codes[1]].entries()) {
    const card = cards.nth(i)
    await expect(card.getByTestId('license-code')).toHaveText(code)
    await expect(card.getByTestId('license-server')).toHaveText(baseURL!)
    await expect(card.getByRole('img', { name: `QR-Code der Lizenz ${code}` })).toBeVisible()
    const svg = card.locator('svg')
    await expect(svg).toHaveCount(1)
    expect(await svg.getAttribute('viewBox')).toMatch(/^0 0 \d+ \d+$/)
    expect((await svg.boundingBox())!.width).toBeGreaterThan(100)
    await expect(card).toContainText(codes[0] === code ? 'Für: Lukas Lehrer' : 'Für: Zimmer 12')
    await expect(card).toContainText('Lizenzschule')
  }
  await admin.getByLabel('Sprache der Karten').selectOption('en')
  await expect(cards.first()).toContainText('For: Lukas Lehrer')
  await expect(cards.first()).toContainText('Scan the QR code')
  await admin.getByLabel('Sprache der Karten').selectOption('de')

  // "Drucken" opens the print dialog (stubbed here); printed, only the cards show.
  await admin.evaluate(() => {
    const w = window as unknown as { printed: number }
    w.printed = 0
    window.print = () => {
      w.printed++
    }
  })
  await admin.getByRole('button', { name: 'Drucken' }).click()
  expect(await admin.evaluate(() => (window as unknown as { printed: number }).printed)).toBe(1)
  await admin.emulateMedia({ media: 'print' })
  await expect(admin.getByRole('button', { name: 'Drucken' })).toBeHidden()
  await expect(admin.getByRole('heading', { level: 1, name: 'Lizenzblatt' })).toBeHidden()
  await expect(cards.nth(1)).toBeVisible()
  await admin.emulateMedia({ media: 'screen' })
  expect(cspErrors).toEqual([])

  // A desktop app enrolls with the teacher's license and waits; the admin types the code it shows.
  const app = new Desktop()
  const request = (await browser.newContext()).request
  const wrong = await request.post('/api/v1/devices/desktop/enroll', {
    data: { licenseCode: 'ABCD-EFGH-JKMN-PQRS', publicKey: app.publicKey, tokenHash: app.tokenHash, name: 'Laptop', platform: 'Windows 11', osUser: 'lehrer' },
  })
  expect(wrong.status()).toBe(404)
  expect((await wrong.json()).error.code).toBe('license_invalid')
  const enrolled = await request.post('/api/v1/devices/desktop/enroll', {
    data: { licenseCode: codes[0].toLowerCase(), publicKey: app.publicKey, tokenHash: app.tokenHash, name: 'Laptop', platform: 'Windows 11', osUser: 'lehrer' },
  })
  expect(enrolled.status()).toBe(201)
  const enrollment = await enrolled.json()
  expect(enrollment.schoolName).toBe('Lizenzschule')
  app.id = enrollment.deviceId
  expect(await app.status(request)).toBe('pending')

  await admin.goto('/#/admin/licenses')
  await expect(row(codes[0])).toContainText('Wartet auf Freigabe')
  await admin.getByRole('button', { name: `Gerät freigeben: ${codes[0]}` }).click()
  await admin.getByLabel('Sicherheitscode').fill(enrollment.securityCode)
  await admin.getByRole('button', { name: 'Freigeben', exact: true }).click()
  await expect(admin.getByText(`Das Gerät der Lizenz ${codes[0]} ist freigegeben.`)).toBeVisible()
  await expect(row(codes[0])).toContainText('Vertrauenswürdig')
  expect(await app.status(request)).toBe('trusted')

  // Lost laptop: the admin blocks it, the app learns it, wipes itself and sends its receipt.
  await admin.goto(`/#/admin/users/${lukas}/devices`)
  const laptop = admin.getByRole('row').filter({ hasText: 'Laptop' })
  await laptop.getByRole('button', { name: /^Sperren/ }).click()
  await admin.getByRole('button', { name: 'Ja, sperren' }).click()
  await expect(laptop).toContainText('Löschung angefordert ·')
  expect(await app.status(request)).toBe('blocked')
  const receipt = await request.post('/api/v1/devices/desktop/wiped', { data: await app.signed(request, 'wiped') })
  expect(receipt.status()).toBe(204)
  await admin.reload()
  await expect(admin.getByRole('row').filter({ hasText: 'Laptop' })).toContainText('Gelöscht ·')
  await admin.goto('/#/admin/devices')
  await expect(admin.getByRole('row').filter({ hasText: 'Laptop' })).toContainText('Gelöscht ·')

  // A shared terminal in Zimmer 12 enrolls with the location's license; stolen, it is blocked on the licenses page.
  const terminal = new Desktop()
  const terminalEnrolled = await request.post('/api/v1/devices/desktop/enroll', {
    data: { licenseCode: codes[1], publicKey: terminal.publicKey, tokenHash: terminal.tokenHash, name: 'PC Zimmer 12', platform: 'Windows 11', osUser: 'schule' },
  })
  expect(terminalEnrolled.status()).toBe(201)
  const terminalEnrollment = await terminalEnrolled.json()
  terminal.id = terminalEnrollment.deviceId
  await admin.goto('/#/admin/licenses')
  await admin.getByRole('button', { name: `Gerät freigeben: ${codes[1]}` }).click()
  await admin.getByLabel('Sicherheitscode').fill(terminalEnrollment.securityCode)
  await admin.getByRole('button', { name: 'Freigeben', exact: true }).click()
  await expect(row(codes[1])).toContainText('Vertrauenswürdig')
  expect(await terminal.status(request)).toBe('trusted')
  await admin.getByRole('button', { name: `Sperren und löschen: ${codes[1]}` }).click()
  await admin.getByRole('button', { name: 'Ja, sperren und löschen' }).click()
  await expect(admin.getByText(`Das Gerät der Lizenz ${codes[1]} ist gesperrt`)).toBeVisible()
  await expect(row(codes[1])).toContainText('Löschung angefordert ·')
  expect(await terminal.status(request)).toBe('blocked')

  const audit = await (await admin.request.get('/api/v1/audit.csv')).text()
  for (const line of ['licenses_created,done', 'license_assigned,done', 'license_detached,done', 'device_enrolled,done,teacher_license',
    'device_approved,done,teacher_license', 'device_wipe_requested,done', 'device_wiped,done', 'device_blocked,done,location_license',
    'device_wipe_requested,done,location_license']) {
    expect(audit).toContain(line)
  }
})
