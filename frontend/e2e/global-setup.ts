import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { port } from '../playwright.config'
import { startBackend, stateFile } from './backend'

export default async function globalSetup() {
  const { child, ...state } = await startBackend(port)
  child.unref()
  mkdirSync(dirname(stateFile), { recursive: true })
  writeFileSync(stateFile, JSON.stringify(state))
}
