import type { AttendanceStatus } from '../api/types'

export interface AttendanceCounts {
  present: number
  late: number
  excused: number
  unexcused: number
  unmarked: number
  total: number
}

/** Counts the marks of a lesson's rows; `null` is a student without a mark. */
export function countMarks(marks: readonly ({ status: AttendanceStatus } | null)[]): AttendanceCounts {
  const counts: AttendanceCounts = { present: 0, late: 0, excused: 0, unexcused: 0, unmarked: 0, total: marks.length }
  for (const mark of marks) {
    if (mark === null) counts.unmarked++
    else counts[mark.status]++
  }
  return counts
}
