// Mail texts in the outbox carry the links people need (a confirmation, a password reset); the outbox shows them
// as links so that whoever reads it can open or pass them on.

/** A piece of a text: plain, or a web address. */
export type TextPart = { text: string } | { href: string }

const URL_PATTERN = /https?:\/\/[^\s<>"]+/g

/** Splits text into plain parts and http(s) addresses; a trailing full stop or bracket stays text. */
export function linkParts(text: string): TextPart[] {
  const parts: TextPart[] = []
  let last = 0
  for (const m of text.matchAll(URL_PATTERN)) {
    const href = m[0].replace(/[.,;:!?)\]]+$/, '')
    const start = m.index ?? 0
    if (start > last) parts.push({ text: text.slice(last, start) })
    parts.push({ href })
    last = start + href.length
  }
  if (last < text.length) parts.push({ text: text.slice(last) })
  return parts
}
