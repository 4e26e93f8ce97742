export const LOCALES = ['de', 'en'] as const
export type Locale = (typeof LOCALES)[number]
export const DEFAULT_LOCALE: Locale = 'de'
export const LOCALE_STORAGE_KEY = 'pult.locale'

export type Params = Record<string, string | number>

export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (LOCALES as readonly string[]).includes(v)
}

/** Looks a key up and fills `{name}` placeholders; a missing key shows itself (never an empty string). */
export function translate(messages: Readonly<Record<string, string>>, key: string, params?: Params): string {
  const template = Object.hasOwn(messages, key) ? messages[key] : key
  if (!params) return template
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  )
}

/** The BCP 47 tag used for formatting dates in a locale (en-GB: day before month, as schools here expect). */
export function formatTag(locale: Locale): string {
  return locale === 'de' ? 'de' : 'en-GB'
}
