/** The i18n mechanism (issue 11 item 9, started): catalogs, language choice, plurals, Intl sizes. */
import { describe, expect, it } from 'vitest';
import { formatSize, initI18n, pickLanguage } from '../../renderer/i18n';
import { de } from '../../renderer/locales/de';
import { en } from '../../renderer/locales/en';

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [`${prefix}${k}`] : keys(v as object, `${prefix}${k}.`))).sort();
}

describe('renderer i18n', () => {
  it('English and German have exactly the same keys, and no German string is left in English', () => {
    expect(keys(de)).toEqual(keys(en));
    const flat = (o: object): string[] => Object.values(o).flatMap((v) => (typeof v === 'string' ? [v] : flat(v as object)));
    const same = flat(de).filter((v, i) => v === flat(en)[i] && /[a-z]{4}/i.test(v.replace(/\{\{\w+\}\}/g, '')));
    expect(same).toEqual([]);
  });

  it('picks the system language, falling back to English', () => {
    expect(pickLanguage(['de-AT', 'en-US'])).toBe('de');
    expect(pickLanguage(['fr-FR', 'en-GB'])).toBe('en');
    expect(pickLanguage([])).toBe('en');
  });

  it('translates with plurals, and formats sizes with the locale', () => {
    const i = initI18n('de');
    expect(i.t('jobs.files', { done: 1, count: 2 })).toBe('1 von 2 Dateien');
    expect(i.t('jobs.files', { done: 0, count: 1 })).toBe('0 von 1 Datei');
    expect(formatSize(1_500_000, 'de')).toBe('1,5 MB');
    expect(formatSize(1_500_000, 'en')).toBe('1.5 MB');
    expect(formatSize(512, 'de')).toBe('512 B');
    void i.changeLanguage('en');
    expect(i.t('jobs.running', { count: 3 })).toBe('3 running');
  });
});
