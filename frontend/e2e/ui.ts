import { expect, type Page } from '@playwright/test'

// Steps in the web UI that several browser tests take.

/** Logs in with the login form (German UI) and waits until the person is logged in. */
export async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/#/login')
  await page.getByLabel('Benutzername').fill(username)
  await page.getByLabel('Passwort', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click()
  await expect(page.getByRole('button', { name: 'Abmelden' })).toBeVisible()
}
