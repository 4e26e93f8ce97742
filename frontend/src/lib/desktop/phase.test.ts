import { describe, expect, it } from 'vitest'
import { DESKTOP_PHASES, type DesktopDevice } from '../api/types'
import { desktopScreen } from './phase'

const device = (phase: string): DesktopDevice => ({
  phase,
  language: 'de',
  server: '',
  online: true,
  pinAttemptsLeft: 5,
  idleTimeoutSeconds: 600,
  pinMinLength: 6,
})

describe('desktopScreen', () => {
  it('leaves the browser as it is', () => {
    expect(desktopScreen({ host: 'server' })).toBeNull()
    expect(desktopScreen({ host: 'server', device: null })).toBeNull()
    // A device object on the backend's answer does not make a desktop.
    expect(desktopScreen({ host: 'server', device: device('locked') })).toBeNull()
    expect(desktopScreen({ host: 'desktop', device: null })).toBeNull()
  })

  it('shows each phase its screen, and the normal UI when ready', () => {
    expect(desktopScreen({ host: 'desktop', device: device('welcome') })).toBe('welcome')
    expect(desktopScreen({ host: 'desktop', device: device('connect') })).toBe('connect')
    expect(desktopScreen({ host: 'desktop', device: device('pending') })).toBe('pending')
    expect(desktopScreen({ host: 'desktop', device: device('login') })).toBe('login')
    expect(desktopScreen({ host: 'desktop', device: device('pin') })).toBe('pin')
    expect(desktopScreen({ host: 'desktop', device: device('locked') })).toBe('locked')
    expect(desktopScreen({ host: 'desktop', device: device('ready') })).toBe('app')
  })

  it('knows every phase of the contract', () => {
    for (const phase of DESKTOP_PHASES) {
      expect(desktopScreen({ host: 'desktop', device: device(phase) })).not.toBe('unknown')
    }
  })

  it('says so for a phase it does not know', () => {
    expect(desktopScreen({ host: 'desktop', device: device('upgrading') })).toBe('unknown')
    expect(desktopScreen({ host: 'desktop', device: device('') })).toBe('unknown')
  })
})
