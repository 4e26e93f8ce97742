import { describe, expect, it } from 'vitest'
import { formatIpRanges, parseIpRanges } from './ipRanges'

describe('IP ranges text', () => {
  it('takes one range per line', () => {
    expect(parseIpRanges('10.0.0.0/8\n192.0.2.0/24')).toEqual(['10.0.0.0/8', '192.0.2.0/24'])
  })

  it('drops blank lines and surrounding spaces', () => {
    expect(parseIpRanges('  10.0.0.0/8  \n\n   \n\t192.0.2.0/24\t\n')).toEqual(['10.0.0.0/8', '192.0.2.0/24'])
  })

  it('understands Windows and old Mac line ends', () => {
    expect(parseIpRanges('10.0.0.0/8\r\n2001:db8::/32\r192.0.2.7')).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'])
  })

  it('gives an empty list for an empty text (every address allowed)', () => {
    expect(parseIpRanges('')).toEqual([])
    expect(parseIpRanges(' \n \r\n ')).toEqual([])
  })

  it('leaves checking to the server: a bad line is passed on as it is', () => {
    expect(parseIpRanges('10.0.0.0/8\nnot a range')).toEqual(['10.0.0.0/8', 'not a range'])
  })

  it('writes stored ranges one per line and reads them back', () => {
    const ranges = ['10.0.0.0/8', '192.0.2.0/24']
    expect(formatIpRanges(ranges)).toBe('10.0.0.0/8\n192.0.2.0/24')
    expect(parseIpRanges(formatIpRanges(ranges))).toEqual(ranges)
    expect(formatIpRanges([])).toBe('')
  })
})
