import { describe, expect, it } from 'vitest'
import { commandForKey, STATUS_BY_LETTER, STATUS_LETTERS } from './keys'

describe('commandForKey', () => {
  it.each([
    ['a', 'present'],
    ['A', 'present'],
    ['p', 'present'],
    ['P', 'present'],
    ['v', 'late'],
    ['V', 'late'],
    ['l', 'late'],
    ['L', 'late'],
    ['e', 'excused'],
    ['E', 'excused'],
    ['u', 'unexcused'],
    ['U', 'unexcused'],
  ] as const)('%s marks %s', (key, status) => {
    expect(commandForKey({ key })).toEqual({ kind: 'mark', status })
  })

  it('Shift+A is "all present", not a single mark', () => {
    expect(commandForKey({ key: 'A', shiftKey: true })).toEqual({ kind: 'allPresent' })
    expect(commandForKey({ key: 'a', shiftKey: true })).toEqual({ kind: 'allPresent' })
  })

  it('moves with arrows and j/k', () => {
    expect(commandForKey({ key: 'ArrowDown' })).toEqual({ kind: 'move', delta: 1 })
    expect(commandForKey({ key: 'j' })).toEqual({ kind: 'move', delta: 1 })
    expect(commandForKey({ key: 'ArrowUp' })).toEqual({ kind: 'move', delta: -1 })
    expect(commandForKey({ key: 'k' })).toEqual({ kind: 'move', delta: -1 })
    expect(commandForKey({ key: 'Home' })).toEqual({ kind: 'first' })
    expect(commandForKey({ key: 'End' })).toEqual({ kind: 'last' })
  })

  it('clears with Delete and Backspace', () => {
    expect(commandForKey({ key: 'Delete' })).toEqual({ kind: 'clear' })
    expect(commandForKey({ key: 'Backspace' })).toEqual({ kind: 'clear' })
  })

  it('reads digits, retry, Enter and F2', () => {
    expect(commandForKey({ key: '7' })).toEqual({ kind: 'digit', digit: 7 })
    expect(commandForKey({ key: 'r' })).toEqual({ kind: 'retry' })
    expect(commandForKey({ key: 'R' })).toEqual({ kind: 'retry' })
    expect(commandForKey({ key: 'Enter' })).toEqual({ kind: 'enter' })
    expect(commandForKey({ key: 'F2' })).toEqual({ kind: 'editComment' })
  })

  it('leaves browser shortcuts and other keys alone', () => {
    expect(commandForKey({ key: 'a', ctrlKey: true })).toBeNull()
    expect(commandForKey({ key: 'r', metaKey: true })).toBeNull()
    expect(commandForKey({ key: 'e', altKey: true })).toBeNull()
    expect(commandForKey({ key: 'Tab' })).toBeNull()
    expect(commandForKey({ key: 'x' })).toBeNull()
    expect(commandForKey({ key: ' ' })).toBeNull()
  })

  it('the legend letters of both languages set the status they name', () => {
    for (const letters of Object.values(STATUS_LETTERS)) {
      for (const [status, letter] of Object.entries(letters)) {
        expect(STATUS_BY_LETTER[letter.toLowerCase()]).toBe(status)
      }
    }
  })
})
