import { describe, expect, it } from 'vitest'
import { linkParts } from './links'

describe('linkParts', () => {
  it('finds the confirmation link in a mail text', () => {
    const text = 'Hallo,\n\nbitte öffnen Sie\nhttp://127.0.0.1:8080/#/parent/confirm/AbC-12_x\n\nIhr Pult'
    expect(linkParts(text)).toEqual([
      { text: 'Hallo,\n\nbitte öffnen Sie\n' },
      { href: 'http://127.0.0.1:8080/#/parent/confirm/AbC-12_x' },
      { text: '\n\nIhr Pult' },
    ])
  })

  it('leaves a sentence’s full stop and brackets outside the link', () => {
    expect(linkParts('(siehe https://pult.example/#/parent/login).')).toEqual([
      { text: '(siehe ' },
      { href: 'https://pult.example/#/parent/login' },
      { text: ').' },
    ])
  })

  it('links only web addresses', () => {
    expect(linkParts('javascript:alert(1) ftp://x.example mailto:a@b.example')).toEqual([
      { text: 'javascript:alert(1) ftp://x.example mailto:a@b.example' },
    ])
    expect(linkParts('')).toEqual([])
  })
})
