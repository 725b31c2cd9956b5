/**
 * Issue 11 item 9: every string through a catalog with i18next + react-i18next, English and German
 * complete. The language is the person's choice in Settings (persisted by main), by default the
 * system's (navigator.languages). Numbers, sizes and dates go through Intl in that locale; plurals
 * through i18next's plural rules (Intl.PluralRules).
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { de } from './locales/de';
import { en } from './locales/en';

/** t() keys are checked against the English catalog at compile time. */
declare module 'i18next' {
  interface CustomTypeOptions {
    resources: { translation: typeof en };
  }
}

export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];
/** What Settings stores: a language, or "system". */
export type LanguageChoice = 'system' | Language;
/** Each language's name in itself (shown in the language menu whatever the current language). */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', de: 'Deutsch' };

const systemPreferred = (): readonly string[] => (typeof navigator === 'undefined' ? [] : navigator.languages ?? [navigator.language]);

export function pickLanguage(preferred: readonly string[]): Language {
  for (const p of preferred) {
    const base = p.toLowerCase().split('-')[0];
    const hit = LANGUAGES.find((l) => l === base);
    if (hit) return hit;
  }
  return 'en';
}

export function resolveLanguage(choice: LanguageChoice | undefined, preferred: readonly string[] = systemPreferred()): Language {
  return choice && choice !== 'system' ? choice : pickLanguage(preferred);
}

/**
 * The locale for Intl: the system's own regional variant when it speaks the chosen language
 * (en-GB keeps day/month order), else the language itself.
 */
export function localeFor(lng: string, preferred: readonly string[] = systemPreferred()): string {
  return preferred.find((p) => p.toLowerCase().split('-')[0] === lng) ?? lng;
}

function currentLocale(): string {
  return localeFor(i18next.language || 'en');
}

export function initI18n(lng: string = pickLanguage(systemPreferred())): typeof i18next {
  void i18next.use(initReactI18next).init({
    lng,
    fallbackLng: 'en',
    supportedLngs: [...LANGUAGES],
    resources: { en: { translation: en }, de: { translation: de } },
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
    initAsync: false,
  });
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
  return i18next;
}

/** Switches the language of the whole window (components re-render through react-i18next). */
export async function setLanguage(choice: LanguageChoice | undefined): Promise<void> {
  const lng = resolveLanguage(choice);
  if (i18next.language !== lng) await i18next.changeLanguage(lng);
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
}

/**
 * Intl formatters, made once per locale and options: building one costs far more than formatting
 * with it (the file list formats a size and two dates per row, on every render of every row).
 */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function numberFormat(locale: string, digits: number): Intl.NumberFormat {
  const key = `n ${digits} ${locale}`;
  let f = formatters.get(key) as Intl.NumberFormat | undefined;
  if (!f) formatters.set(key, (f = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits })));
  return f;
}
function dateFormat(locale: string, short: boolean): Intl.DateTimeFormat {
  const key = `d ${short ? 'short' : 'long'} ${locale}`;
  let f = formatters.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    f = short
      ? new Intl.DateTimeFormat(locale, { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' })
      : new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    formatters.set(key, f);
  }
  return f;
}

/** Sizes in the current locale: 1,5 MB in German, 1.5 MB in English (SI units, as the rest of the app). */
export function formatSize(n: number | null | undefined, locale: string = currentLocale()): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 || v >= 10 ? 0 : 1;
  return `${numberFormat(locale, digits).format(v)} ${units[i]}`;
}

/** A transfer rate: "1,5 MB/s" in German. */
export function formatRateIn(bytesPerSecond: number, locale: string = currentLocale()): string {
  return `${numberFormat(locale, 1).format(bytesPerSecond / 1e6)} MB/s`;
}

function toDate(when: string | number | null | undefined): Date | null {
  if (when === null || when === undefined || when === '') return null;
  const d = new Date(when);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Date and time, day-month-year in German (01.12.2026, 14:05). */
export function formatDateIn(when: string | number | null | undefined, locale: string = currentLocale()): string {
  const d = toDate(when);
  return d ? dateFormat(locale, false).format(d) : '—';
}

/** The short form for lists (the full one on hover): numeric date with a four-digit year, and the time. */
export function formatShortDateIn(when: string | number | null | undefined, locale: string = currentLocale()): string {
  const d = toDate(when);
  return d ? dateFormat(locale, true).format(d) : '—';
}
