/** Today's date (YYYY-MM-DD) in the local time zone, not UTC. */
export function todayIso(now: Date = new Date()): string {
  const y = now.getFullYear()
  const m = String(now.getMonth() + 1).padStart(2, '0')
  const d = String(now.getDate()).padStart(2, '0')
  return `${y}-${m}-${d}`
}

/** The local calendar date `days` days after `now` (YYYY-MM-DD); safe across daylight saving changes. */
export function daysFromTodayIso(days: number, now: Date = new Date()): string {
  return todayIso(new Date(now.getFullYear(), now.getMonth(), now.getDate() + days))
}

/**
 * The calendar date (YYYY-MM-DD) of a date or an RFC 3339 timestamp, taken in UTC: the server ends a learning
 * mode at the end of its last day in UTC, so the UTC date is the day the admin chose. "" when unreadable.
 */
export function utcDateOf(value: string | null | undefined): string {
  if (!value) return ''
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return ''
  const y = d.getUTCFullYear()
  const m = String(d.getUTCMonth() + 1).padStart(2, '0')
  const day = String(d.getUTCDate()).padStart(2, '0')
  return `${y}-${m}-${day}`
}

/** A calendar date (YYYY-MM-DD) as the locale writes it (de: 12.01.2027, en-GB: 12/01/2027); unreadable stays. */
export function formatIsoDate(iso: string, tag: string, opts: { weekday?: boolean } = {}): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso)
  if (!m) return iso
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return new Intl.DateTimeFormat(tag, {
    weekday: opts.weekday ? 'short' : undefined,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(d)
}
