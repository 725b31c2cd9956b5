/**
 * Issue 11 item 9 (started): strings through a catalog with i18next + react-i18next, English and
 * German, the language from the system (navigator.languages); numbers, sizes and dates through Intl
 * in that locale. Screens move to `t()` one by one; so far the sidebar and the jobs panel.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { de } from './locales/de';
import { en } from './locales/en';

export const LANGUAGES = ['en', 'de'] as const;

export function pickLanguage(preferred: readonly string[]): (typeof LANGUAGES)[number] {
  for (const p of preferred) {
    const base = p.toLowerCase().split('-')[0];
    const hit = LANGUAGES.find((l) => l === base);
    if (hit) return hit;
  }
  return 'en';
}

export function initI18n(lng: string = pickLanguage(typeof navigator === 'undefined' ? [] : navigator.languages)): typeof i18next {
  void i18next.use(initReactI18next).init({
    lng,
    fallbackLng: 'en',
    resources: { en: { translation: en }, de: { translation: de } },
    interpolation: { escapeValue: false }, // React escapes
    initAsync: false,
  });
  return i18next;
}

/** Sizes in the current locale: 1,5 MB in German, 1.5 MB in English (SI units, as the rest of the app). */
export function formatSize(n: number | null | undefined, locale: string = i18next.language || 'en'): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 || v >= 10 ? 0 : 1;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v)} ${units[i]}`;
}
