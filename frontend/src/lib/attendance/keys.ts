import type { AttendanceStatus } from '../api/types'

/** The parts of a KeyboardEvent the attendance list looks at. */
export interface KeyLike {
  key: string
  shiftKey?: boolean
  ctrlKey?: boolean
  altKey?: boolean
  metaKey?: boolean
}

export type GridCommand =
  | { kind: 'move'; delta: number }
  | { kind: 'first' }
  | { kind: 'last' }
  | { kind: 'mark'; status: AttendanceStatus }
  | { kind: 'clear' }
  | { kind: 'digit'; digit: number }
  | { kind: 'allPresent' }
  | { kind: 'retry' }
  | { kind: 'enter' }
  | { kind: 'editComment' }
  | { kind: 'escape' }

/** Rows that PageUp/PageDown move. */
export const PAGE_ROWS = 10

/**
 * Status letters. Both sets work in both languages: German A(nwesend), V(erspätet), E(ntschuldigt),
 * U(nentschuldigt) and English P(resent), L(ate), E(xcused), U(nexcused).
 */
export const STATUS_BY_LETTER: Readonly<Record<string, AttendanceStatus>> = {
  a: 'present',
  p: 'present',
  v: 'late',
  l: 'late',
  e: 'excused',
  u: 'unexcused',
}

/** The letters a legend shows, per language. */
export const STATUS_LETTERS: Readonly<Record<'de' | 'en', Readonly<Record<AttendanceStatus, string>>>> = {
  de: { present: 'A', late: 'V', excused: 'E', unexcused: 'U' },
  en: { present: 'P', late: 'L', excused: 'E', unexcused: 'U' },
}

/** Maps a key press on the attendance list to what it does; null when the list leaves the key alone. */
export function commandForKey(e: KeyLike): GridCommand | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null
  switch (e.key) {
    case 'ArrowDown':
      return { kind: 'move', delta: 1 }
    case 'ArrowUp':
      return { kind: 'move', delta: -1 }
    case 'PageDown':
      return { kind: 'move', delta: PAGE_ROWS }
    case 'PageUp':
      return { kind: 'move', delta: -PAGE_ROWS }
    case 'Home':
      return { kind: 'first' }
    case 'End':
      return { kind: 'last' }
    case 'Delete':
    case 'Backspace':
      return { kind: 'clear' }
    case 'Enter':
      return { kind: 'enter' }
    case 'F2':
      return { kind: 'editComment' }
    case 'Escape':
      return { kind: 'escape' }
  }
  if (/^[0-9]$/.test(e.key)) return { kind: 'digit', digit: Number(e.key) }
  if (e.key.length !== 1) return null
  const letter = e.key.toLowerCase()
  if (e.shiftKey && letter === 'a') return { kind: 'allPresent' }
  if (letter === 'j') return { kind: 'move', delta: 1 }
  if (letter === 'k') return { kind: 'move', delta: -1 }
  if (letter === 'r') return { kind: 'retry' }
  const status = STATUS_BY_LETTER[letter]
  return status ? { kind: 'mark', status } : null
}
