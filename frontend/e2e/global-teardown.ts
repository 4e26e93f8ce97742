import { rmSync } from 'node:fs'
import { readState } from './backend'

export default async function globalTeardown() {
  const { pid, dataDir } = readState()
  try {
    process.kill(-pid, 'SIGTERM') // the whole process group: nothing keeps listening after the run
  } catch {
    // already gone
  }
  if (!process.env.PULT_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true })
}
