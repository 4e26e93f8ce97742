// Reading a license QR code from camera frames or an image file, with jsQR loaded only when needed.

type JsQR = typeof import('jsqr').default

let loading: Promise<JsQR> | null = null

/**
 * jsQR, loaded on first use so the UI's first load stays small. The package is CommonJS: bundlers hand over its
 * function as the default export, Node hands over the module object whose `default` it is.
 */
export function loadJsQR(): Promise<JsQR> {
  loading ??= import('jsqr').then((mod) => {
    const d = mod.default as unknown
    if (typeof d === 'function') return d as JsQR
    const inner = (d as { default?: unknown } | undefined)?.default
    if (typeof inner === 'function') return inner as JsQR
    throw new Error('jsqr: no decoder function')
  })
  // A failed load (e.g. the chunk could not be fetched) may be tried again.
  loading.catch(() => (loading = null))
  return loading
}

/** The longest side an image is scaled down to before decoding: enough for a code on a photo, and quick. */
export const MAX_DECODE_SIDE = 1600

/** The size to draw a width × height image at, no side longer than `max`. */
export function fitWithin(width: number, height: number, max = MAX_DECODE_SIDE): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height, 1))
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}

/** The text of the QR code in the pixels, or null when there is none. */
export async function decodePixels(image: Pick<ImageData, 'data' | 'width' | 'height'>, thorough = false): Promise<string | null> {
  const jsQR = await loadJsQR()
  const found = jsQR(image.data, image.width, image.height, { inversionAttempts: thorough ? 'attemptBoth' : 'dontInvert' })
  return found ? found.data : null
}

/** Draws a picture on a canvas at most MAX_DECODE_SIDE wide or high and gives its pixels. */
function pixelsOf(source: CanvasImageSource, width: number, height: number, canvas: HTMLCanvasElement): ImageData | null {
  const size = fitWithin(width, height)
  canvas.width = size.width
  canvas.height = size.height
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (!ctx) return null
  ctx.drawImage(source, 0, 0, size.width, size.height)
  return ctx.getImageData(0, 0, size.width, size.height)
}

/** The current frame of a playing video, or null before it has one. */
export function videoFrame(video: HTMLVideoElement, canvas: HTMLCanvasElement): ImageData | null {
  if (video.readyState < video.HAVE_CURRENT_DATA || video.videoWidth === 0) return null
  return pixelsOf(video, video.videoWidth, video.videoHeight, canvas)
}

/**
 * Decodes an image file into a bitmap. createImageBitmap needs no address for the file (the UI's content security
 * policy allows images only from itself and data: URLs); where it is missing, a data: URL and an <img> do it.
 */
async function fileImage(file: Blob): Promise<{ source: CanvasImageSource; width: number; height: number; close: () => void }> {
  if (typeof createImageBitmap === 'function') {
    const bitmap = await createImageBitmap(file)
    return { source: bitmap, width: bitmap.width, height: bitmap.height, close: () => bitmap.close() }
  }
  const url = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error ?? new Error('unreadable'))
    reader.readAsDataURL(file)
  })
  const img = new Image()
  img.src = url
  await img.decode()
  return { source: img, width: img.naturalWidth, height: img.naturalHeight, close: () => {} }
}

export type FileDecodeResult = { kind: 'found'; text: string } | { kind: 'none' } | { kind: 'unreadable' }

/** Looks for a QR code in an image file: its text, none found, or a file that is no image that can be read. */
export async function decodeImageFile(file: Blob): Promise<FileDecodeResult> {
  let image: Awaited<ReturnType<typeof fileImage>>
  try {
    image = await fileImage(file)
  } catch {
    return { kind: 'unreadable' }
  }
  try {
    const pixels = pixelsOf(image.source, image.width, image.height, document.createElement('canvas'))
    if (!pixels) return { kind: 'unreadable' }
    const text = await decodePixels(pixels, true)
    return text === null ? { kind: 'none' } : { kind: 'found', text }
  } finally {
    image.close()
  }
}

/** Whether this window can ask for a camera at all. */
export function cameraAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getUserMedia === 'function'
}

/** Stops every track of a camera stream, so the camera's light goes out. */
export function stopStream(stream: MediaStream | null | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop()
}
