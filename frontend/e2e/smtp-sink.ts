import { createServer, type Server, type Socket } from 'node:net'

// A real SMTP server in the test's own process: it speaks enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT) for Pult's client, over plain TCP on loopback (Pult allows that only to a loopback address),
// and keeps every mail it receives.

export interface ReceivedMail {
  from: string
  to: string
  user: string
  raw: string
}

export class SmtpSink {
  readonly mails: ReceivedMail[] = []
  private server: Server | null = null
  private waiters: (() => void)[] = []

  readonly username: string
  readonly password: string

  constructor(username: string, password: string) {
    this.username = username
    this.password = password
  }

  /** Listens on a free loopback port and resolves with it. */
  async start(): Promise<number> {
    this.server = createServer((socket) => this.session(socket))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const addr = this.server.address()
    if (addr === null || typeof addr === 'string') throw new Error('smtp sink has no port')
    return addr.port
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  /** Waits until `n` mails arrived. */
  async waitFor(n: number, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs
    while (this.mails.length < n) {
      if (Date.now() > deadline) throw new Error(`${this.mails.length} mails arrived, want ${n}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 200)
      })
    }
    return this.mails
  }

  private session(socket: Socket) {
    let buffer = ''
    let inData = false
    let data = ''
    let from = ''
    let to = ''
    let user = ''
    const reply = (line: string) => socket.write(line + '\r\n')
    reply('220 127.0.0.1 pult-e2e-sink')
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n')
          if (end < 0) return
          data = buffer.slice(0, end).replace(/\r\n\.\./g, '\r\n.')
          buffer = buffer.slice(end + 5)
          this.mails.push({ from, to, user, raw: Buffer.from(data, 'latin1').toString('utf8') })
          for (const w of this.waiters.splice(0)) w()
          inData = false
          data = ''
          reply('250 2.0.0 queued')
          continue
        }
        const nl = buffer.indexOf('\r\n')
        if (nl < 0) return
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 2)
        const verb = line.split(' ')[0].toUpperCase()
        if (verb === 'EHLO' || verb === 'HELO') {
          socket.write('250-127.0.0.1\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n')
        } else if (verb === 'AUTH') {
          const [, mech, initial] = line.split(' ')
          const parts = Buffer.from(initial ?? '', 'base64').toString('utf8').split('\0')
          if (mech?.toUpperCase() === 'PLAIN' && parts[1] === this.username && parts[2] === this.password) {
            user = parts[1]
            reply('235 2.7.0 authenticated')
          } else {
            reply('535 5.7.8 authentication failed')
          }
        } else if (verb === 'MAIL') {
          if (user === '') {
            reply('530 5.7.0 authentication required')
            continue
          }
          from = line.replace(/^MAIL FROM:\s*<([^>]*)>.*$/i, '$1')
          reply('250 2.1.0 ok')
        } else if (verb === 'RCPT') {
          to = line.replace(/^RCPT TO:\s*<([^>]*)>.*$/i, '$1')
          reply('250 2.1.5 ok')
        } else if (verb === 'DATA') {
          inData = true
          reply('354 end with <CRLF>.<CRLF>')
        } else if (verb === 'RSET' || verb === 'NOOP') {
          reply('250 2.0.0 ok')
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye')
          socket.end()
          return
        } else {
          reply('502 5.5.2 not implemented')
        }
      }
    })
    socket.on('error', () => {})
  }
}

/** The text part of a mail, quoted-printable decoded. */
export function textOf(raw: string): string {
  const part = raw.split(/Content-Type: text\/plain; charset=utf-8\r?\n/i)[1] ?? ''
  const body = part.split(/\r?\n\r?\n/).slice(1).join('\n\n').split(/\r?\n--/)[0]
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

/** The subject of a mail, RFC 2047 decoded. */
export function subjectOf(raw: string): string {
  const line = (raw.match(/^Subject: (.*)$/m)?.[1]?.trim() ?? '').replace(/\?=\s+=\?/g, '?==?')
  return line.replace(/=\?utf-8\?q\?([^?]*)\?=/gi, (_, q: string) => {
    const bytes = q.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (__, h) => String.fromCharCode(parseInt(h, 16)))
    return Buffer.from(bytes, 'latin1').toString('utf8')
  })
}
