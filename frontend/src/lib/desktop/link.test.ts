import { describe, expect, it } from 'vitest'
import { isServerUrl, normalizeServerUrl, parseEnrollLink } from './link'

const fp = 'ab'.repeat(32)

describe('parseEnrollLink', () => {
  it('reads server, code and fingerprint', () => {
    expect(
      parseEnrollLink(`pult://enroll?server=${encodeURIComponent('https://pult.example-school.ch')}&code=ABCD-EFGH-JKMN-PQRS&fp=${fp}`),
    ).toEqual({ server: 'https://pult.example-school.ch', code: 'ABCD-EFGH-JKMN-PQRS', fingerprint: fp })
  })

  it('takes a link without fingerprint, with a port and a path, and white space around', () => {
    expect(parseEnrollLink('  pult://enroll?server=http%3A%2F%2F127.0.0.1%3A8080%2Fpult&code=abcd\n')).toEqual({
      server: 'http://127.0.0.1:8080/pult',
      code: 'abcd',
      fingerprint: '',
    })
  })

  it('takes an unescaped server and a fingerprint with colons', () => {
    const colons = fp.match(/../g)!.join(':').toUpperCase()
    expect(parseEnrollLink(`pult://enroll?server=https://s.ch&code=X&fp=${colons}`)).toEqual({
      server: 'https://s.ch',
      code: 'X',
      fingerprint: colons,
    })
  })

  it.each([
    ['', 'empty'],
    ['https://pult.example-school.ch', 'a web address'],
    ['WIFI:S:Schule;T:WPA;P:secret;;', 'another QR code'],
    ['pult://login?server=https://s.ch&code=X', 'another pult link'],
    ['pult://ENROLL?server=https://s.ch&code=X', 'another host than the app takes'],
    ['pult:enroll?server=https://s.ch&code=X', 'no //'],
    ['pult://enroll?code=X', 'no server'],
    ['pult://enroll?server=https://s.ch', 'no code'],
    ['pult://enroll?server=https://s.ch&code=%20', 'a blank code'],
    ['pult://enroll?server=ftp://s.ch&code=X', 'a server that is not http(s)'],
    ['pult://enroll?server=s.ch&code=X', 'a server without scheme'],
    ['pult://enroll?server=https://s.ch&code=X&fp=1234', 'a short fingerprint'],
    [`pult://enroll?server=https://s.ch&code=X&fp=${'zz'.repeat(32)}`, 'a fingerprint that is not hex'],
  ])('refuses %j (%s)', (text) => {
    expect(parseEnrollLink(text)).toBeNull()
  })
})

describe('normalizeServerUrl', () => {
  it('adds https:// to a bare host name', () => {
    expect(normalizeServerUrl(' pult.example-school.ch ')).toBe('https://pult.example-school.ch')
    expect(normalizeServerUrl('pult.schule.ch:8443/pult')).toBe('https://pult.schule.ch:8443/pult')
  })

  it('leaves a URL with a scheme and an empty field as they are', () => {
    expect(normalizeServerUrl('http://10.0.0.5:8080')).toBe('http://10.0.0.5:8080')
    expect(normalizeServerUrl('HTTPS://S.CH')).toBe('HTTPS://S.CH')
    expect(normalizeServerUrl('   ')).toBe('')
  })
})

describe('isServerUrl', () => {
  it('takes http(s) addresses only', () => {
    expect(isServerUrl('https://pult.example-school.ch')).toBe(true)
    expect(isServerUrl('http://127.0.0.1:8080/')).toBe(true)
    expect(isServerUrl('ftp://s.ch')).toBe(false)
    expect(isServerUrl('https://user:pw@s.ch')).toBe(false)
    expect(isServerUrl('https://s.ch/?a=1')).toBe(false)
    expect(isServerUrl('https://s.ch/#x')).toBe(false)
    expect(isServerUrl('not a url')).toBe(false)
  })
})
