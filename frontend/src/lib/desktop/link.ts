// The license QR code: pult://enroll?server=<URL>&code=<license code>&fp=<hex SHA-256> (docs/desktop.md).

export interface EnrollLink {
  server: string
  code: string
  /** The server certificate's fingerprint (hex, maybe with colons); "" when the link has none. */
  fingerprint: string
}

/** Whether a text is an http(s) address with a host and nothing the app refuses (user, query, fragment). */
export function isServerUrl(text: string): boolean {
  let u: URL
  try {
    u = new URL(text.trim())
  } catch {
    return false
  }
  return (u.protocol === 'https:' || u.protocol === 'http:') && u.host !== '' && u.username === '' && u.password === '' && u.search === '' && u.hash === ''
}

/**
 * Reads the content of a license QR code, or null when it is not a Pult license link. It checks what the app
 * checks (the scheme, `enroll`, a server and a code) and a little more (an http(s) server, a SHA-256 fingerprint),
 * so that a wrong QR code is told apart before anything is sent. The link itself goes to the app unchanged.
 */
export function parseEnrollLink(text: string): EnrollLink | null {
  const raw = text.trim()
  if (!/^pult:\/\//i.test(raw)) return null
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return null
  }
  if (u.protocol !== 'pult:' || u.host !== 'enroll') return null
  const server = u.searchParams.get('server')?.trim() ?? ''
  const code = u.searchParams.get('code')?.trim() ?? ''
  const fingerprint = u.searchParams.get('fp')?.trim() ?? ''
  if (server === '' || code === '' || !isServerUrl(server)) return null
  if (fingerprint !== '' && !/^[0-9a-f]{64}$/i.test(fingerprint.replaceAll(':', ''))) return null
  return { server, code, fingerprint }
}

/**
 * The server address as a person typed it, made into a URL: "pult.schule.ch" becomes "https://pult.schule.ch".
 * Anything that already names a scheme is left as it is (the app says whether it is good).
 */
export function normalizeServerUrl(text: string): string {
  const s = text.trim()
  if (s === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return s
  return `https://${s}`
}
