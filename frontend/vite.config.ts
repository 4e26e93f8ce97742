/// <reference types="vitest/config" />
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig, type Plugin } from 'vite'

// The Go packages embed dist/ (frontend/embed.go), and `go build ./...` fails when the folder is empty.
// Vite empties dist/ before every build, so this puts the committed placeholder back afterwards.
function keepDistPlaceholder(): Plugin {
  let outDir = 'dist'
  return {
    name: 'pult:keep-dist-gitkeep',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir)
    },
    closeBundle() {
      mkdirSync(outDir, { recursive: true })
      writeFileSync(join(outDir, '.gitkeep'), '')
    },
  }
}

export default defineConfig({
  plugins: [svelte(), keepDistPlaceholder()],
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
  build: {
    outDir: 'dist',
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
