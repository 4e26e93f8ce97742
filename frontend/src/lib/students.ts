import type { Student } from './api/types'

const collator = new Intl.Collator('de', { sensitivity: 'base', numeric: true })

/** Class-list order: last name, then first name, ignoring case and accents. */
export function compareStudents(a: Student, b: Student): number {
  return collator.compare(a.lastName, b.lastName) || collator.compare(a.firstName, b.firstName) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export function sortStudents(students: readonly Student[]): Student[] {
  return [...students].sort(compareStudents)
}

/** "Last, First" — how a class list names a student. */
export function studentName(s: Pick<Student, 'firstName' | 'lastName'>): string {
  return s.firstName ? `${s.lastName}, ${s.firstName}` : s.lastName
}

/** Whether a student matches a search text (name, class or guardian e-mail; every word must match). */
export function studentMatches(s: Student, query: string): boolean {
  const words = query.toLocaleLowerCase('de').split(/\s+/).filter(Boolean)
  if (words.length === 0) return true
  const hay = [s.firstName, s.lastName, s.class, s.guardianEmail].join(' ').toLocaleLowerCase('de')
  return words.every((w) => hay.includes(w))
}
