import { describe, expect, it } from 'vitest'
import { countMarks } from './counts'

describe('countMarks', () => {
  it('counts each status and the unmarked', () => {
    const counts = countMarks([
      { status: 'present' },
      { status: 'present' },
      { status: 'late' },
      { status: 'excused' },
      { status: 'unexcused' },
      { status: 'unexcused' },
      null,
      null,
      null,
    ])
    expect(counts).toEqual({ present: 2, late: 1, excused: 1, unexcused: 2, unmarked: 3, total: 9 })
  })

  it('is all zero for an empty list', () => {
    expect(countMarks([])).toEqual({ present: 0, late: 0, excused: 0, unexcused: 0, unmarked: 0, total: 0 })
  })
})
