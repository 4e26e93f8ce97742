import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

// The backend binary that `go tool task build` makes.
export const backendBin = resolve(here, '../../build/bin/pult-backend')
export const stateFile = resolve(here, '../test-results/e2e-state.json')

export interface E2EState {
  pid: number
  dataDir: string
  setupUrl: string
}

export function readState(): E2EState {
  return JSON.parse(readFileSync(stateFile, 'utf8'))
}

// startBackend runs the real server on a fresh data folder. Its output goes to a log file inside that folder, so
// the plaintext check covers the logs too. It resolves with the one-time setup link the server prints.
export async function startBackend(port: number, env: Record<string, string> = {}): Promise<E2EState & { child: ChildProcess }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pult-e2e-'))
  const log = openSync(join(dataDir, 'server.log'), 'a')
  const child = spawn(backendBin, ['serve'], {
    env: { ...process.env, PULT_DATA: dataDir, PULT_ADDR: `127.0.0.1:${port}`, PULT_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', log],
    detached: true,
  })
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
