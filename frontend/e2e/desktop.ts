import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, openSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, type Browser, type Page } from '@playwright/test'

// The desktop app for browser tests: pult-desktop-dev serves its UI and its real in-process handler on loopback,
// exactly as Wails' asset server hands the window's requests to it. Helpers shared by the desktop tests.

const here = dirname(fileURLToPath(import.meta.url))
export const devserverBin = resolve(here, '../../build/bin/pult-desktop-dev')

/** A TCP port on loopback that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolvePort(port))
    })
  })
}

/** Stops a process group we started and waits until its leader is gone. */
export async function stop(child: ChildProcess | null): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  try {
    process.kill(-child.pid, 'SIGTERM')
  } catch {
    return // already gone
  }
  await exited
}

/** Starts the desktop app's handler and UI on loopback with a profile folder of its own. */
export async function startDesktop(port: number, profileDir: string, logDir: string): Promise<ChildProcess> {
  // The log stays outside the profile folder, which must be empty after a wipe.
  const logFile = join(logDir, 'desktop.log')
  const child = spawn(devserverBin, [], {
    env: { ...process.env, PULT_PROFILE_DIR: profileDir, PULT_DESKTOP_ADDR: `127.0.0.1:${port}`, PULT_LOG_LEVEL: 'debug' },
    stdio: ['ignore', openSync(logFile, 'a'), 'pipe'],
    detached: true,
  })
  let out = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    appendFileSync(logFile, chunk)
    if (out.length < 100_000) out += chunk.toString()
  })
  await new Promise<void>((ready, reject) => {
    const timer = setTimeout(() => reject(new Error(`desktop devserver did not start: ${out}`)), 30_000)
    const listening = () => {
      if (!out.includes('desktop devserver listening')) return
      clearTimeout(timer)
      child.stderr!.off('data', listening)
      ready()
    }
    child.stderr!.on('data', listening)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`desktop devserver exited with ${code}: ${out}`))
    })
  })
  return child
}

/** A desktop app with a fresh profile folder on a free port; the folders are added to `dirs` for cleaning up. */
export async function startFreshDesktop(dirs: string[]): Promise<{ child: ChildProcess; url: string; profileDir: string }> {
  const port = await freePort()
  const profileDir = mkdtempSync(join(tmpdir(), 'pult-e2e-profile-'))
  const logDir = mkdtempSync(join(tmpdir(), 'pult-e2e-desktop-log-'))
  dirs.push(profileDir, logDir)
  const child = await startDesktop(port, profileDir, logDir)
  return { child, url: `http://127.0.0.1:${port}`, profileDir }
}

/** Every file in a folder and below it; none when the folder is gone. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

/** A page in a browser context of its own (its own cookies: another browser, or another person). */
export async function newPage(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL })
  return context.newPage()
}

/** The first run's welcome screen: German. */
export async function chooseGerman(app: Page): Promise<void> {
  await app.goto('/')
  await expect(app.getByRole('heading', { name: /Willkommen bei Pult/ })).toBeVisible()
  await app.locator('#main').getByRole('button', { name: 'Deutsch' }).click()
  await expect(app.getByRole('heading', { name: 'Mit Ihrer Schule verbinden' })).toBeVisible()
}

/** Sets the PIN after the first login; the app is ready and shows the teacher's courses. */
export async function setPin(app: Page, pin: string): Promise<void> {
  await expect(app.getByRole('heading', { name: 'PIN festlegen' })).toBeVisible()
  await app.getByLabel('PIN', { exact: true }).fill(pin)
  await app.getByLabel('PIN wiederholen').fill(pin)
  await app.getByRole('button', { name: 'PIN festlegen' }).click()
  await expect(app.getByRole('heading', { name: 'Meine Kurse' })).toBeVisible()
}

/**
 * Connects a new desktop app by logging in (no license card): in learning mode the device is trusted at once,
 * and after the PIN the app is ready.
 */
export async function enrollByLogin(app: Page, server: string, username: string, password: string, pin: string): Promise<void> {
  await chooseGerman(app)
  const form = app.locator('details').filter({ hasText: 'Ohne Lizenzkarte: mit Benutzername und Passwort anmelden' })
  await form.getByText('Ohne Lizenzkarte: mit Benutzername und Passwort anmelden').click()
  await form.getByLabel('Adresse des Servers').fill(server)
  await form.getByLabel('Benutzername').fill(username)
  await form.getByLabel('Passwort', { exact: true }).fill(password)
  await form.getByRole('button', { name: 'Anmelden und verbinden' }).click()
  await setPin(app, pin)
}
