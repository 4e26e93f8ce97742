import { port } from '../playwright.config'
import { saveState, startBackend } from './backend'

export default async function globalSetup() {
  const { child, ...state } = await startBackend(port)
  child.unref()
  saveState(state)
}
