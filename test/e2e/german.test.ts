/**
 * Issue 11 item 9 in Chromium through the real preload, handlers and services: the person switches
 * the language to German in Settings; it is saved (and still German after a reload), and every main
 * screen is then German: no English sentence from the catalog is left in the page's text, nor in
 * its labels, titles and placeholders; sizes and dates follow the German locale (1,5 MB,
 * dd.mm.yyyy); nothing overflows, also at 820×560. Screenshots: test-artifacts/e2e/de-*.png
 * (docs/screenshots/*-de.png with COFFER_UPDATE_SCREENSHOTS=1).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { de } from '../../renderer/locales/de';
import { en } from '../../renderer/locales/en';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';

const PASS = 'deutsche Passphrase mit vielen Wörtern';

type Tree = { readonly [k: string]: string | Tree };
function flat(o: Tree, prefix = ''): [string, string][] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[`${prefix}${k}`, v] as [string, string]] : flat(v, `${prefix}${k}.`)));
}
/**
 * English phrases that must not appear once the window is German: from every catalog entry whose
 * German differs, the pieces between placeholders and markup that are long enough to be a phrase.
 */
const germanOf = new Map(flat(de as unknown as Tree));
const ENGLISH = [...new Set(flat(en as unknown as Tree)
  .filter(([k, v]) => germanOf.get(k) !== v)
  .flatMap(([k, v]) => v.split(/\{\{\w+\}\}|<\/?\w+>/).map((s) => s.trim()).filter((s) => !(germanOf.get(k) ?? '').includes(s)))
  .filter((s) => s.length >= 12 && /\p{L}{3,}\s\p{L}{2,}/u.test(s)))];

describe('issue 11 item 9: the app in German', () => {
  let app: AppUnderTest;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('german');
    app = await startApp({ name: 'german' });
  });
  afterAll(async () => {
    await app?.close();
  });

  /** What a person can read or hear on the screen now: text, labels, titles, placeholders, option texts. */
  const readable = async (): Promise<string> =>
    app.page.evaluate(() => {
      const attrs = [...document.querySelectorAll('[aria-label],[title],[placeholder],[aria-valuetext]')].flatMap((el) =>
        ['aria-label', 'title', 'placeholder', 'aria-valuetext'].map((a) => el.getAttribute(a) ?? ''));
      const options = [...document.querySelectorAll('option')].map((o) => o.textContent ?? '');
      return [document.body.innerText, ...attrs, ...options].join('\n');
    });

  /** No English phrase left, and nothing wider than its box (text cut off or pushed out). */
  const checkScreen = async (name: string): Promise<void> => {
    const text = await readable();
    expect(ENGLISH.filter((p) => text.includes(p)), `English left on ${name}`).toEqual([]);
    const overflow = await app.page.evaluate(() => {
      const out: string[] = [];
      if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push(`page ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
      const main = document.querySelector('main');
      if (main && main.scrollWidth > main.clientWidth + 1) out.push(`main ${main.scrollWidth} > ${main.clientWidth}`);
      for (const el of document.querySelectorAll<HTMLElement>('button, .tab, .nav-button, label > span, legend, th, h1, h2')) {
        if (el.closest('.truncate') || el.classList.contains('truncate') || el.offsetParent === null) continue;
        if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()} “${(el.textContent ?? '').trim().slice(0, 40)}” ${el.scrollWidth} > ${el.clientWidth}`);
      }
      return out;
    });
    if (overflow.length > 0) await app.screenshot(`de-overflow-${name.replace(/\W+/g, '-')}`);
    expect(overflow, `overflow on ${name}`).toEqual([]);
  };

  it('switches to German in Settings, keeps it, and shows every main screen in German', async () => {
    const { page } = app;
    expect(ENGLISH.length).toBeGreaterThan(200);
    // The check would catch English: the window as it started (in English) has several of these phrases.
    expect(ENGLISH.filter((p) => englishStart.includes(p)).length).toBeGreaterThan(2);

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('heading', { name: 'Einstellungen' }).waitFor();
    expect(app.services.settings.get().language).toBe('de');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('de');
    await page.reload();
    await page.getByRole('navigation', { name: 'Hauptmenü' }).waitFor();
    await page.getByRole('button', { name: 'Einstellungen' }).click();
    await page.getByRole('heading', { name: 'Einstellungen' }).waitFor();
    await checkScreen('settings');
    await app.screenshot('de-01-settings', 'settings-de.png');

    await page.getByRole('button', { name: 'Tresore', exact: true }).click();
    await page.getByRole('heading', { name: 'Noch keine Tresore' }).waitFor();
    await checkScreen('vault list');
    await app.screenshot('de-02-vaults', 'vaults-de.png');

    // The create wizard, with the strength meter.
    const vaultDir = path.join(work, 'Team-Tresor');
    await page.getByRole('button', { name: 'Ersten Tresor anlegen' }).click();
    await app.pick('folder', work, () => page.getByRole('button', { name: 'Auswählen…' }).click());
    await page.getByLabel('Ordner', { exact: true }).fill(vaultDir);
    await page.getByLabel('Name des Tresors').fill('Team');
    await checkScreen('wizard step 1');
    await page.getByRole('button', { name: 'Weiter' }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill('password');
    await expect.poll(() => page.getByRole('meter', { name: 'Stärke der Passphrase' }).getAttribute('aria-valuetext')).toBe('Sehr schwach');
    await page.getByLabel('Passphrase wiederholen').fill('password');
    await page.getByRole('button', { name: 'Weiter' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('leicht zu erraten');
    await checkScreen('wizard step 2');
    await app.screenshot('de-03-wizard', 'wizard-de.png');
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Passphrase wiederholen').fill(PASS);
    await page.getByRole('button', { name: 'Weiter' }).click();
    await page.getByRole('button', { name: 'Weiter' }).click();
    await page.getByText('1 Schlüsselplatz: Passphrase.').waitFor();
    await checkScreen('wizard summary');
    await page.getByRole('button', { name: 'Tresor anlegen' }).click();
    await page.getByRole('heading', { name: 'Dieser Tresor ist leer' }).waitFor();
    await checkScreen('empty vault');

    // Files: German sizes and dates.
    const report = path.join(work, 'Bericht.pdf');
    writeFileSync(report, Buffer.alloc(1_500_000, 7));
    writeFileSync(path.join(work, 'Notizen.txt'), 'Hallo\n');
    await app.drop([report, path.join(work, 'Notizen.txt')]);
    const table = page.getByRole('table', { name: 'Dateien' });
    const row = table.getByRole('row', { name: 'Bericht.pdf' });
    await row.waitFor({ timeout: 60_000 });
    await table.getByRole('row', { name: 'Notizen.txt' }).waitFor();
    await expect.poll(() => row.locator('td.c-size').textContent()).toBe('1,5 MB');
    expect(await row.locator('td.c-date').textContent()).toMatch(/^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/);
    await page.getByRole('region', { name: 'Aufträge' }).getByText('fertig', { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.getByRole('region', { name: 'Aufträge' }).getByText('2 Einträge zu Team hinzufügen').waitFor();
    await checkScreen('files');
    await app.screenshot('de-04-files', 'files-de.png');
    await row.getByRole('button', { name: 'Weitere Aktionen für Bericht.pdf' }).click();
    await row.getByRole('button', { name: 'Bericht.pdf löschen' }).click();
    await page.getByRole('form', { name: 'Bearbeiten' }).waitFor();
    await checkScreen('delete confirmation');
    await page.getByRole('form', { name: 'Bearbeiten' }).getByRole('button', { name: 'Abbrechen' }).click();
    await row.getByRole('button', { name: 'Weitere Aktionen für Bericht.pdf' }).click();
    await row.getByRole('button', { name: 'Versionen von Bericht.pdf' }).click();
    const versions = page.getByRole('dialog', { name: 'Versionen von Bericht.pdf' });
    await versions.waitFor();
    await checkScreen('versions');
    await versions.getByRole('button', { name: 'Schließen' }).click();
    await page.getByRole('tab', { name: 'Papierkorb' }).click();
    await page.getByText('Der Papierkorb ist leer.').waitFor();
    await checkScreen('trash');
    await page.getByRole('tab', { name: 'Dateien' }).click();
    await row.waitFor();

    // At 820×560 the German labels still fit.
    await page.setViewportSize({ width: 820, height: 560 });
    await checkScreen('files at 820×560');
    await app.screenshot('de-05-files-narrow', 'narrow-window-de.png');
    await page.setViewportSize({ width: 1180, height: 780 });

    await page.getByRole('tab', { name: 'Mitglieder & Freigabe' }).click();
    await page.getByRole('table', { name: 'Schlüsselplätze' }).waitFor();
    await checkScreen('members');
    await app.screenshot('de-06-members', 'members-de.png');

    await page.getByRole('tab', { name: 'Schlüssel & Prüfung' }).click();
    await page.getByRole('button', { name: 'Jetzt prüfen' }).click();
    await page.getByRole('status').filter({ hasText: 'Alles in Ordnung' }).waitFor({ timeout: 60_000 });
    await checkScreen('keys and health');
    await app.screenshot('de-07-keys-health', 'health-check-de.png');

    await page.getByRole('tab', { name: 'Laufwerk' }).click();
    await checkScreen('drive');

    // Unlock, with a wrong passphrase: the error by its code in German.
    await page.getByRole('button', { name: 'Sperren', exact: true }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill('falsch falsch falsch');
    await page.getByRole('button', { name: 'Entsperren' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 }).toContain('Falsche Passphrase.');
    await page.getByRole('button', { name: 'Zugang anfragen' }).click();
    await checkScreen('unlock');
    await app.screenshot('de-08-unlock', 'unlock-de.png');

    for (const [nav, heading, shot] of [
      ['Mitgliedsschlüssel', 'Mitgliedsschlüssel', 'member-keys'],
      ['Hardware-Schlüssel', 'Hardware-Schlüssel', 'hardware-keys'],
      ['Vault-Verbindung', 'Vault-Verbindung', 'vault-connection'],
      ['Aktivität', 'Aktivität', 'activity'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Hauptmenü' }).getByRole('button', { name: nav, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await checkScreen(shot);
      await app.screenshot(`de-${shot}`, `${shot}-de.png`);
    }
    expect(app.pageErrors).toEqual([]);
  });

  let englishStart = '';
  beforeAll(async () => {
    englishStart = await readable();
  });
});
