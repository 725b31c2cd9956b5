/**
 * Issue 11 item 9: the catalogs and the mechanism. English and German have the same keys (a key in
 * one and not the other fails, both ways), the same placeholders and markup per key, plural pairs,
 * and no German string left in English (except an explicit list of words that are the same in both).
 * Language choice, plurals, and sizes, rates and dates formatted with Intl in the locale.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatDateIn, formatRateIn, formatShortDateIn, formatSize, initI18n, localeFor, pickLanguage, resolveLanguage } from '../../renderer/i18n';
import { de } from '../../renderer/locales/de';
import { en } from '../../renderer/locales/en';
import { errorText, formatEta, inLanguage, jobTitle, noticeText, slotLabel, slotTypeLabel } from '../../renderer/util';

type Tree = { readonly [k: string]: string | Tree };

function flat(o: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out.set(`${prefix}${k}`, v);
    else for (const [kk, vv] of flat(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

/** Keys whose German text is rightly the same as the English (names, technical terms, formats). */
const SAME_IN_GERMAN = new Set([
  'common.name', 'common.ok', 'nav.app', 'slotType.passphrase', 'slotType.vault-transit', 'create.passphrase', 'create.transit',
  'create.sumTransit', 'create.stepN', 'unlock.passphrase', 'unlock.transit', 'unlock.pin', 'hw.token', 'hw.pin', 'hw.tokenLabel', 'transit.addressPlaceholder',
  'transit.keyPlaceholder', 'transit.namespace', 'transit.tls', 'transit.token', 'transit.approle', 'activity.details', 'errors.detail', 'files.sort.name',
  'vaults.cardLabel', 'request.keyOption', 'unsaved.where', 'files.sizeDate', 'duration.s', 'duration.ms', 'duration.hm',
]);

const placeholders = (s: string): string[] => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] as string).sort();
const tags = (s: string): string[] => [...s.matchAll(/<\/?(\w+)>/g)].map((m) => m[0]).sort();

describe('renderer i18n catalogs', () => {
  const E = flat(en as unknown as Tree);
  const D = flat(de as unknown as Tree);

  const missing = (from: Map<string, string>, to: Map<string, string>): string[] => [...from.keys()].filter((k) => !to.has(k));

  it('a key in English is in German and a key in German is in English', () => {
    expect(missing(E, D), 'in en.ts, missing from de.ts').toEqual([]);
    expect(missing(D, E), 'in de.ts, missing from en.ts').toEqual([]);
  });

  it('the parity check catches a key missing on either side (positive control)', () => {
    const broken = new Map(D);
    broken.delete('files.addFiles');
    broken.set('files.onlyGerman', 'Nur deutsch');
    expect(missing(E, broken)).toEqual(['files.addFiles']);
    expect(missing(broken, E)).toEqual(['files.onlyGerman']);
  });

  it('each key has the same placeholders and markup in both languages, and plurals come in pairs', () => {
    const bad: string[] = [];
    for (const [k, v] of E) {
      const g = D.get(k) ?? '';
      if (placeholders(v).join() !== placeholders(g).join()) bad.push(`${k}: {{${placeholders(v)}}} vs {{${placeholders(g)}}}`);
      if (tags(v).join() !== tags(g).join()) bad.push(`${k}: ${tags(v)} vs ${tags(g)}`);
      if (k.endsWith('_one') && !E.has(k.replace(/_one$/, '_other'))) bad.push(`${k} has no _other`);
    }
    expect(bad).toEqual([]);
  });

  it('no German string is left in English, except the listed words that are the same', () => {
    const same = [...E].filter(([k, v]) => D.get(k) === v && /\p{L}{2,}/u.test(v.replace(/\{\{\w+\}\}/g, '')) && !SAME_IN_GERMAN.has(k)).map(([k]) => k);
    expect(same).toEqual([]);
    // The list holds only keys that exist and are in fact the same.
    expect([...SAME_IN_GERMAN].filter((k) => !E.has(k) || E.get(k) !== D.get(k))).toEqual([]);
  });
});

describe('renderer i18n mechanism', () => {
  afterEach(() => {
    initI18n('en');
  });

  it('picks the system language unless the person chose one', () => {
    expect(pickLanguage(['de-AT', 'en-US'])).toBe('de');
    expect(pickLanguage(['fr-FR', 'en-GB'])).toBe('en');
    expect(pickLanguage([])).toBe('en');
    expect(resolveLanguage('system', ['de-DE'])).toBe('de');
    expect(resolveLanguage('en', ['de-DE'])).toBe('en');
    expect(resolveLanguage(undefined, ['fr'])).toBe('en');
    expect(localeFor('en', ['en-GB', 'de'])).toBe('en-GB');
    expect(localeFor('de', ['en-GB'])).toBe('de');
  });

  it('translates with plural rules', () => {
    const i = initI18n('de');
    expect(i.t('jobs.files', { done: 1, count: 2 })).toBe('1 von 2 Dateien');
    expect(i.t('jobs.files', { done: 0, count: 1 })).toBe('0 von 1 Datei');
    expect(i.t('vaults.slots', { count: 1 })).toBe('1 Schlüsselplatz');
    expect(i.t('vaults.slots', { count: 3 })).toBe('3 Schlüsselplätze');
    expect(i.t('settings.minutes', { count: 1 })).toBe('1 Minute');
    void i.changeLanguage('en');
    expect(i.t('jobs.running', { count: 3 })).toBe('3 running');
    expect(i.t('admin.removed', { count: 1 })).toBe('Removed 1 leftover.');
    expect(i.t('admin.removed', { count: 2 })).toBe('Removed 2 leftovers.');
  });

  it('formats sizes, rates and dates with the locale', () => {
    expect(formatSize(1_500_000, 'de')).toBe('1,5 MB');
    expect(formatSize(1_500_000, 'en')).toBe('1.5 MB');
    expect(formatSize(512, 'de')).toBe('512 B');
    expect(formatRateIn(2_345_678, 'de')).toBe('2,3 MB/s');
    const when = new Date(2026, 11, 1, 14, 5).getTime();
    expect(formatShortDateIn(when, 'de')).toBe('01.12.2026, 14:05');
    expect(formatShortDateIn(when, 'en-US')).toMatch(/^12\/01\/2026, 02:05\sPM$/);
    expect(formatDateIn(when, 'de')).toBe('01.12.2026, 14:05');
    expect(formatDateIn(null, 'de')).toBe('—');
  });

  it('shows errors by code in German with main’s message as the detail, and as they are in English', () => {
    initI18n('en');
    expect(errorText({ code: 'WRONG_PASSPHRASE', message: 'wrong passphrase for /v' })).toBe('wrong passphrase for /v');
    expect(slotTypeLabel('piv-p256')).toBe('Hardware key');
    expect(formatEta(75)).toBe('1 min 15 s');
    initI18n('de');
    expect(errorText({ code: 'WRONG_PASSPHRASE', message: 'wrong passphrase for /v' })).toBe('Falsche Passphrase. Details: wrong passphrase for /v');
    expect(errorText({ code: 'SOMETHING_NEW', message: 'as main said' })).toBe('as main said');
    expect(inLanguage('Mit Vault verbunden.', 'Connected')).toBe('Mit Vault verbunden. Details: Connected');
    expect(slotTypeLabel('piv-p256')).toBe('Hardware-Schlüssel');
    expect(slotTypeLabel('future-type')).toBe('future-type');
    expect(slotLabel({ type: 'recovery', label: 'recovery key' })).toBe('Wiederherstellungsschlüssel');
    expect(slotLabel({ type: 'x25519', label: 'Alex' })).toBe('Alex');
  });

  it('words job titles from their subject, in English as main wrote them', () => {
    const add = { kind: 'add' as const, title: 'Add 2 items to Team', subject: { name: 'a.txt', count: 2, vault: 'Team' } };
    initI18n('en');
    expect(jobTitle(add)).toBe('Add 2 items to Team');
    initI18n('de');
    expect(jobTitle(add)).toBe('2 Einträge zu Team hinzufügen');
    expect(jobTitle({ ...add, subject: { ...add.subject, count: 1 } })).toBe('a.txt zu Team hinzufügen');
    expect(jobTitle({ kind: 'export', title: 'Export a.txt', subject: { name: 'a.txt', count: 1, vault: 'Team' } })).toBe('a.txt exportieren');
    expect(jobTitle({ kind: 'open', title: 'Open a.txt', subject: null })).toBe('Open a.txt');
    expect(noticeText({ kind: 'contacting', message: 'Contacting Vault at https://v:8200…' })).toBe('Vault unter https://v:8200 wird kontaktiert…');
    expect(noticeText({ kind: 'touch', message: 'Touch your key Blue if it blinks' })).toBe('Berühren Sie Ihren Schlüssel Blue, wenn er blinkt');
    expect(noticeText({ kind: 'info', message: 'Vault X: something new.' })).toBe('Vault X: something new.');
  });
});
