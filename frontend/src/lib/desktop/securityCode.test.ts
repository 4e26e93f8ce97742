import { describe, expect, it } from 'vitest'
import { securityCodeGroups, spokenSecurityCode } from './securityCode'

describe('security code', () => {
  it('groups the digits by three', () => {
    expect(securityCodeGroups('123-456-789')).toEqual(['123', '456', '789'])
    expect(securityCodeGroups('123456789')).toEqual(['123', '456', '789'])
    expect(securityCodeGroups('12 34')).toEqual(['123', '4'])
    expect(securityCodeGroups('')).toEqual([])
  })

  it('is read digit by digit', () => {
    expect(spokenSecurityCode('123-456-789')).toBe('1 2 3, 4 5 6, 7 8 9')
  })
})
