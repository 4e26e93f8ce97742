import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { expect, test, type Page } from '@playwright/test'
import { cli, restartBackend, startBackend } from './backend'
import { enrollByLogin, freePort, newPage, startFreshDesktop, stop } from './desktop'
import { login } from './ui'

// Live updates (issue 5): a teacher marks attendance in one browser; a second browser of the same teacher, showing
// the same attendance list, shows the mark without a reload (its own sync websocket), and so does the desktop app
// (its real in-process handler, served by pult-desktop-dev) once it synced. A lesson added on the desktop shows in
// the browser without a reload. With the server gone, the desktop's header says that a change waits; once the
// server is back, the change reaches the browser, still without a reload. The backend is this test's own, as it
// is stopped and started again.

const adminPassword = 'Live-Admin-2026'
const teacherPassword = 'Live-Lehrer-2026'
const PIN = '593817'
const courseName = 'Violine Mittelstufe'
const anna = 'Amselfeld, Annegret'
const bruno = 'Buchfinkler, Brunhold'
const firstTopic = 'Bogenführung'
const desktopTopic = 'Kadenzen vom Laptop'

let backend: ChildProcess | null = null
let desktop: ChildProcess | null = null
const dirs: string[] = []

test.afterAll(async () => {
  await stop(desktop)
  await stop(backend)
  if (!process.env.PULT_E2E_KEEP) for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Marks the page, so that a later check can tell that it was not loaded again. */
async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { pultNotReloaded: boolean }).pultNotReloaded = true))
}

/** Collects what the page's content security policy refused (the sync websocket must not be among it). */
function watchCsp(page: Page): string[] {
  const refused: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) refused.push(m.text())
  })
  return refused
}

async function expectNotReloaded(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { pultNotReloaded?: boolean }).pultNotReloaded)).toBe(true)
}

function attendanceRow(page: Page, name: string) {
  return page.getByRole('grid', { name: 'Anwesenheit' }).getByRole('row', { name })
}

test('live: a mark shows in a second browser and on the desktop, a desktop lesson in the browser, offline changes wait', async ({
  browser,
}) => {
  test.setTimeout(300_000) // the reconnects after the server's restart may take their full backoff
  const backendPort = await freePort()
  const started = await startBackend(backendPort)
  backend = started.child
  dirs.push(started.dataDir)
  const { dataDir } = started
  const server = `http://127.0.0.1:${backendPort}`
  cli(dataDir, ['admin', 'create', '--school', 'Liveschule', '--username', 'v.admin', '--name', 'Vera Admin'], adminPassword + '\n')

  // The admin: a teacher (in learning mode, as every new account), a course of theirs with two students, a lesson.
  const admin = await newPage(browser, server)
  await login(admin, 'v.admin', adminPassword)
  const created = await admin.request.post('/api/v1/users', {
    data: { username: 'v.lehrer', displayName: 'Viktor Lehrer', email: '', role: 'teacher', password: teacherPassword },
  })
  expect(created.status()).toBe(201)
  const teacherId = (await created.json()).id
  const courseRes = await admin.request.post('/api/v1/courses', { data: { name: courseName, subject: 'Musik', teacherId } })
  expect(courseRes.status()).toBe(201)
  const courseId = (await courseRes.json()).id
  for (const [firstName, lastName] of [
    ['Annegret', 'Amselfeld'],
    ['Brunhold', 'Buchfinkler'],
  ]) {
    const res = await admin.request.post('/api/v1/students', { data: { firstName, lastName, birthDate: '', class: '7a', guardianEmail: '' } })
    expect(res.status()).toBe(201)
    expect((await admin.request.put(`/api/v1/courses/${courseId}/students/${(await res.json()).id}`)).ok()).toBe(true)
  }
  const lessonRes = await admin.request.post(`/api/v1/courses/${courseId}/lessons`, {
    data: { date: '2026-03-02', startTime: '08:00', endTime: '08:45', topic: firstTopic, homework: '', note: '' },
  })
  expect(lessonRes.status()).toBe(201)
  const lessonId = (await lessonRes.json()).id

  // The teacher's desktop app, connected by logging in (learning mode), then the same lesson there.
  const fresh = await startFreshDesktop(dirs)
  desktop = fresh.child
  const app = await newPage(browser, fresh.url)
  await enrollByLogin(app, server, 'v.lehrer', teacherPassword, PIN)
  await app.getByRole('link', { name: new RegExp(courseName) }).click()
  await app.getByRole('link', { name: new RegExp(firstTopic) }).click()
  await expect(attendanceRow(app, anna)).toHaveAttribute('data-status', 'unmarked')
  const sync = app.getByTestId('sync-state')
  await expect(sync).toContainText(/Abgeglichen \d\d:\d\d/)
  await expect(app.locator('.connection')).toContainText('Online')

  // The teacher in two browsers (say, two shared PCs), both at the lesson's attendance list.
  const first = await newPage(browser, server)
  const second = await newPage(browser, server)
  const refused = [first, second, app].map(watchCsp)
  for (const page of [first, second]) {
    await login(page, 'v.lehrer', teacherPassword)
    await page.goto(`/#/lessons/${lessonId}`)
    await expect(attendanceRow(page, anna)).toHaveAttribute('data-status', 'unmarked')
    await markPage(page)
  }
  await markPage(app)

  // 1. A mark in the first browser shows in the second and on the desktop.
  const row = attendanceRow(first, anna)
  await row.getByRole('button', { name: 'Anwesend' }).click()
  await expect(row).toHaveAttribute('data-save-state', 'saved')
  await expect(attendanceRow(second, anna)).toHaveAttribute('data-status', 'present')
  await expect(attendanceRow(second, anna)).toContainText('Anwesend')
  await expect(attendanceRow(app, anna)).toHaveAttribute('data-status', 'present', { timeout: 20_000 })
  await expect(attendanceRow(app, anna)).toContainText('Anwesend')
  await expect(attendanceRow(second, bruno)).toHaveAttribute('data-status', 'unmarked')

  // 2. A lesson added on the desktop shows in the browser's lesson list.
  await first.getByRole('navigation', { name: 'Brotkrumen' }).getByRole('link', { name: courseName }).click()
  await expect(first.getByRole('heading', { level: 1, name: courseName })).toBeVisible()
  await expect(first.getByRole('link', { name: new RegExp(firstTopic) })).toBeVisible()
  await app.getByRole('navigation', { name: 'Brotkrumen' }).getByRole('link', { name: courseName }).click()
  await app.getByLabel('Thema').fill(desktopTopic)
  await app.getByRole('button', { name: 'Stunde anlegen' }).click()
  await expect(app.getByRole('heading', { level: 1, name: /^Stunde vom / })).toBeVisible()
  await expect(first.getByRole('link', { name: new RegExp(desktopTopic) })).toBeVisible({ timeout: 20_000 })

  // 3. The server goes away. A mark on the desktop waits, and the header says so.
  await app.getByRole('navigation', { name: 'Brotkrumen' }).getByRole('link', { name: courseName }).click()
  await app.getByRole('link', { name: new RegExp(firstTopic) }).click()
  await expect(attendanceRow(app, anna)).toHaveAttribute('data-status', 'present')
  await stop(backend)
  backend = null
  await expect(app.locator('.connection')).toContainText('Offline', { timeout: 20_000 })
  const late = attendanceRow(app, bruno)
  await late.getByRole('button', { name: 'Verspätet' }).click()
  await expect(late).toHaveAttribute('data-save-state', 'saved')
  await expect(late).toContainText('Verspätet (5 Min.)')
  await expect(sync).toContainText('1 Änderung wartet')

  // 4. The server is back: the change leaves the desktop and shows in the second browser, which reconnected.
  // Both reconnect with backoff, which reaches 30 s (plus up to half of it as jitter) while the server was away.
  backend = await restartBackend(backendPort, dataDir)
  await expect(sync).not.toContainText('wartet', { timeout: 100_000 })
  await expect(app.locator('.connection')).toContainText('Online')
  await expect(attendanceRow(second, bruno)).toHaveAttribute('data-status', 'late', { timeout: 100_000 })
  await expect(attendanceRow(second, bruno)).toContainText('Verspätet (5 Min.)')
  await expect(attendanceRow(second, anna)).toHaveAttribute('data-status', 'present')

  // Nothing of it needed a reload, and nothing was refused.
  for (const page of [first, second, app]) await expectNotReloaded(page)
  expect(refused.flat()).toEqual([])
})
