import { describe, expect, it } from 'vitest'
import { parseEnrollLink } from './link'
import { decodePixels, fitWithin, loadJsQR } from './qr'
import { LICENSE_LINK, LICENSE_QR, OTHER_LINK, OTHER_QR, renderQr } from './qrFixtures'

describe('jsQR', () => {
  it('loads lazily as a function, in Node as in the bundle', async () => {
    const jsQR = await loadJsQR()
    expect(typeof jsQR).toBe('function')
    expect(await loadJsQR()).toBe(jsQR)
  })

  it('reads a license QR code', async () => {
    const text = await decodePixels(renderQr(LICENSE_QR))
    expect(text).toBe(LICENSE_LINK)
    expect(parseEnrollLink(text!)).toMatchObject({ server: 'https://pult.example-school.ch', code: 'ABCD-EFGH-JKMN-PQRS' })
  })

  it('reads another QR code, which is no license', async () => {
    const text = await decodePixels(renderQr(OTHER_QR, 3), true)
    expect(text).toBe(OTHER_LINK)
    expect(parseEnrollLink(text!)).toBeNull()
  })

  it('finds nothing in a blank picture', async () => {
    const width = 64
    const height = 48
    const data = new Uint8ClampedArray(width * height * 4).fill(255)
    expect(await decodePixels({ data, width, height } as ImageData, true)).toBeNull()
  })
})

describe('fitWithin', () => {
  it('scales large pictures down and leaves small ones', () => {
    expect(fitWithin(4000, 3000, 1600)).toEqual({ width: 1600, height: 1200 })
    expect(fitWithin(3000, 4000, 1600)).toEqual({ width: 1200, height: 1600 })
    expect(fitWithin(800, 600, 1600)).toEqual({ width: 800, height: 600 })
    expect(fitWithin(0, 0)).toEqual({ width: 1, height: 1 })
  })
})
