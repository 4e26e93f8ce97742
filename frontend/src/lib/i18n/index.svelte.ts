import { formatIsoDate } from '../dates'
import { de, type MessageKey } from './de'
import { en } from './en'
import type { Message } from './errors'
import { DEFAULT_LOCALE, formatTag, isLocale, LOCALE_STORAGE_KEY, translate, type Locale, type Params } from './translate'

export type { Locale, MessageKey }

const messages: Record<Locale, Readonly<Record<MessageKey, string>>> = { de, en }

function storedLocale(): Locale {
  try {
    const v = localStorage.getItem(LOCALE_STORAGE_KEY)
    if (isLocale(v)) return v
  } catch {
    // Storage may be blocked; the default is fine.
  }
  return DEFAULT_LOCALE
}

/** The current language; reading it in a component makes the component follow changes. */
export const i18n = $state<{ locale: Locale }>({ locale: storedLocale() })

export function setLocale(locale: Locale): void {
  i18n.locale = locale
  try {
    localStorage.setItem(LOCALE_STORAGE_KEY, locale)
  } catch {
    // Not persisted; the choice still holds for this page.
  }
}

export function t(key: MessageKey, params?: Params): string {
  return translate(messages[i18n.locale], key, params)
}

/** Translates a Message (see errors.ts). */
export function tm(message: Message): string {
  return t(message.key, message.params)
}

/** "Mo., 03.11.2025" — a calendar date (YYYY-MM-DD) in the current language. */
export function formatDate(iso: string, opts: { weekday?: boolean } = {}): string {
  return formatIsoDate(iso, formatTag(i18n.locale), opts)
}

/** A moment (RFC 3339) in local time, or "" for none; `seconds` adds the seconds (for the audit log). */
export function formatTimestamp(value: string | null | undefined, opts: { seconds?: boolean } = {}): string {
  if (!value) return ''
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return value
  return new Intl.DateTimeFormat(formatTag(i18n.locale), {
    dateStyle: 'medium',
    timeStyle: opts.seconds ? 'medium' : 'short',
  }).format(d)
}
