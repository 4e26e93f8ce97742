import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

// The backend binary that `go tool task build` makes.
export const backendBin = resolve(here, '../../build/bin/pult-backend')
// Global setup hands its backend to the tests and the teardown in this variable (Playwright's workers inherit the
// runner's environment). A file would be shared by two runs in the same folder, and one run's teardown would then
// stop the other run's backend.
const stateVar = 'PULT_E2E_STATE'

export interface E2EState {
  pid: number
  dataDir: string
  setupUrl: string
}

export function readState(): E2EState {
  const state = process.env[stateVar]
  if (!state) throw new Error(`${stateVar} is not set: the e2e global setup did not run`)
  return JSON.parse(state)
}

export function saveState(state: E2EState): void {
  process.env[stateVar] = JSON.stringify(state)
}

/** Runs the real server on a data folder, in a process group of its own; its log goes to server.log in the folder. */
function spawnBackend(port: number, dataDir: string, env: Record<string, string> = {}): ChildProcess {
  const log = openSync(join(dataDir, 'server.log'), 'a')
  return spawn(backendBin, ['serve'], {
    env: { ...process.env, PULT_DATA: dataDir, PULT_ADDR: `127.0.0.1:${port}`, PULT_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', log],
    detached: true,
  })
}

// startBackend runs the real server on a fresh data folder. Its output goes to a log file inside that folder, so
// the plaintext check covers the logs too. It resolves with the one-time setup link the server prints.
export async function startBackend(port: number, env: Record<string, string> = {}): Promise<E2EState & { child: ChildProcess }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pult-e2e-'))
  const child = spawnBackend(port, dataDir, env)
  let out = ''
  const setupUrl = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend printed no setup link: ${out}`)), 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      writeFileSync(join(dataDir, 'server.out'), out)
      const m = out.match(/(http:\/\/\S+\/#\/setup\/\S+)/)
      if (m) {
        clearTimeout(timer)
        resolveUrl(m[1])
      }
    })
    child.on('exit', (code) => reject(new Error(`backend exited with ${code}: ${out}`)))
  })
  child.stdout!.resume()
  return { child, pid: child.pid!, dataDir, setupUrl }
}

// cli runs a backend subcommand against the same data folder as the running server.
export function cli(dataDir: string, args: string[], stdin = ''): string {
  const r = spawnSync(backendBin, args, { env: { ...process.env, PULT_DATA: dataDir }, input: stdin, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`backend ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

// restartBackend runs the server again on the data folder of one that was stopped, at the same address (devices
// and browsers reconnect to it), and resolves once it answers.
export async function restartBackend(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawnBackend(port, dataDir)
  child.stdout!.resume()
  let exited: number | null | undefined
  child.once('exit', (code) => (exited = code))
  const deadline = Date.now() + 30_000
  for (;;) {
    if (exited !== undefined) throw new Error(`backend exited with ${exited} on restart`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (res.ok) return child
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the restarted backend did not answer')
    await new Promise((r) => setTimeout(r, 100))
  }
}
