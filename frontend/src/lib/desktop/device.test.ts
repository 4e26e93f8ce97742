import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/error'
import type { DesktopDevice } from '../api/types'
import { attemptsLeftOf, desktopReaction, updateDevice } from './device'

const base: DesktopDevice = {
  phase: 'pending',
  language: 'de',
  server: 'https://s.ch',
  securityCode: '123-456-789',
  online: true,
  pinAttemptsLeft: 5,
  idleTimeoutSeconds: 600,
  pinMinLength: 6,
}

describe('updateDevice', () => {
  it('copies the members and drops those the new answer lacks', () => {
    const target = { ...base }
    updateDevice(target, { ...base, phase: 'login', securityCode: undefined, online: false } as DesktopDevice)
    expect(target.phase).toBe('login')
    expect(target.online).toBe(false)
    const { securityCode: _, ...rest } = base
    updateDevice(target, { ...rest, phase: 'login' })
    expect(Object.hasOwn(target, 'securityCode')).toBe(false)
  })
})

describe('attemptsLeftOf', () => {
  it('reads attemptsLeft of a wrong_pin answer', () => {
    expect(attemptsLeftOf(new ApiError({ status: 403, code: 'wrong_pin', details: { code: 'wrong_pin', attemptsLeft: 2 } }))).toBe(2)
    expect(attemptsLeftOf(new ApiError({ status: 403, code: 'wrong_pin', details: { attemptsLeft: -1 } }))).toBe(0)
  })

  it('is null for anything else', () => {
    expect(attemptsLeftOf(new ApiError({ status: 403, code: 'wrong_pin' }))).toBeNull()
    expect(attemptsLeftOf(new ApiError({ status: 403, code: 'wrong_pin', details: { attemptsLeft: '2' } }))).toBeNull()
    expect(attemptsLeftOf(new ApiError({ status: 403, code: 'forbidden', details: { attemptsLeft: 2 } }))).toBeNull()
    expect(attemptsLeftOf(new Error('x'))).toBeNull()
  })
})

describe('desktopReaction', () => {
  const err = (code: string) => new ApiError({ status: 400, code })

  it('shows the PIN screen when a request finds the app locked', () => {
    expect(desktopReaction(err('locked'), 'ready')).toBe('reload')
    expect(desktopReaction(err('locked'), 'locked')).toBeNull()
  })

  it('catches up with the app after wrong_phase, and marks it offline after needs_connection', () => {
    expect(desktopReaction(err('wrong_phase'), 'pending')).toBe('reload')
    expect(desktopReaction(err('needs_connection'), 'ready')).toBe('offline')
    expect(desktopReaction(err('not_found'), 'ready')).toBeNull()
  })
})
