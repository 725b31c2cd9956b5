/**
 * Issue 11, the app (items 1–4, 6–8) in Chromium through the real preload, IPC handlers and services:
 * the create wizard checks the folder at step 1 and weighs the passphrase; entries appear while a long
 * add runs; the jobs panel folds and lets failures go; long names truncate at 820×560; file
 * operations (rename refuses "/", folder picker, drag within the list, multi-select, sort, search,
 * recent files, delete confirmed with a count); a vault folder that disappears is shown unavailable
 * and recovers. Screenshots: test-artifacts/e2e/ (docs/screenshots/ with COFFER_UPDATE_SCREENSHOTS=1).
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';

const PASS = 'usability journey passphrase';
const LONG = `${'quarterly-financial-statement-'.repeat(6)}final.pdf`;

function sparse(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

describe('issue 11: everyday use of the app', () => {
  let app: AppUnderTest;
  let work: string;
  let vaultDir: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('usability');
    app = await startApp({ name: 'usability' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('item 8: the wizard refuses a non-empty folder at step 1 and a weak passphrase unless insisted on', async () => {
    const { page } = app;
    const taken = path.join(work, 'taken');
    mkdirSync(taken);
    writeFileSync(path.join(taken, 'holiday.jpg'), 'x');
    await page.getByRole('button', { name: 'Create your first vault' }).click();
    await app.pick('folder', taken, () => page.getByRole('button', { name: 'Choose…' }).click());
    await page.getByLabel('Vault name').fill('Everyday');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('already has files in it');
    await expect(page.getByRole('heading', { name: 'New vault' }).isVisible()).resolves.toBe(true);
    expect(await page.getByLabel('Vault name').isVisible()).toBe(true); // still on step 1
    await app.screenshot('u01-folder-not-empty');

    // A new sub-folder typed after the picked one is fine.
    vaultDir = path.join(taken, 'Everyday vault');
    await page.getByLabel('Folder', { exact: true }).fill(vaultDir);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill('password');
    const meter = page.getByRole('meter', { name: 'Passphrase strength' });
    await expect.poll(() => meter.getAttribute('aria-valuetext')).toBe('Very weak');
    await page.getByLabel('Passphrase again').fill('password');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('easy to guess');
    await app.screenshot('u02-weak-passphrase', 'passphrase-strength.png');
    // Insisting works (the person's choice), but a strong one needs no insisting.
    await page.getByRole('checkbox', { name: /Use it anyway/ }).check();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await expect.poll(() => meter.getAttribute('aria-valuenow')).toMatch(/^[34]$/);
    expect(await page.getByRole('checkbox', { name: /Use it anyway/ }).count()).toBe(0);
    await page.getByLabel('Passphrase again').fill(PASS);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    expect(app.pageErrors).toEqual([]);
  });

  it('item 2 and 1: entries appear while a long add runs; the jobs panel folds and lets finished jobs go', async () => {
    const { page } = app;
    const src = path.join(work, 'batch');
    mkdirSync(src);
    for (let i = 0; i < 30; i++) writeFileSync(path.join(src, `note-${String(i).padStart(2, '0')}.txt`), `note ${i}\n`);
    // Large enough that the add is still running when its first batch commits (about 5 s), even on an idle machine.
    for (let i = 0; i < 100; i++) sparse(path.join(src, `scan-${String(i).padStart(2, "0")}.tif`), 48 * 1024 * 1024);
    await app.drop([src]);
    const table = page.getByRole('table', { name: 'Files' });
    await table.getByRole('row', { name: 'batch' }).waitFor({ timeout: 60_000 });
    await table.getByRole('button', { name: 'batch', exact: true }).click();
    // Entries committed so far are listed while the job is still running.
    const running = page.getByRole('button', { name: /^Cancel Add/ });
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'note-00.txt' }).waitFor({ timeout: 120_000 });
    expect(await running.count()).toBe(1);
    await app.screenshot('u03-entries-during-add');
    // The panel folds to one line and unfolds.
    const toggle = page.getByRole('button', { name: 'Jobs', exact: true });
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('#jobs-list').count()).toBe(0);
    const folded = await page.getByRole('region', { name: 'Jobs' }).boundingBox();
    expect(folded?.height ?? 999).toBeLessThan(48);
    await app.screenshot('u04-jobs-folded', 'jobs-folded.png');
    await toggle.click();
    await running.click();
    const cancelled = page.getByRole('button', { name: /^Dismiss Add/ });
    await cancelled.waitFor({ timeout: 60_000 });
    await cancelled.click();
    await expect.poll(() => page.getByRole('region', { name: 'Jobs' }).count()).toBe(0);
    // What was committed stays; nothing half-written.
    expect(readdirSync(path.join(vaultDir, 'tmp')).filter((n) => !n.startsWith('lock'))).toEqual([]);
    await page.getByRole('navigation', { name: 'Folder' }).getByRole('button', { name: 'Vault' }).click();
  });

  it('items 4, 6, 7: long names truncate at 820×560; file operations; errors where the action was taken', async () => {
    const { page } = app;
    const src = path.join(work, 'files');
    mkdirSync(path.join(src, 'Reports'), { recursive: true });
    writeFileSync(path.join(src, LONG), 'long name\n');
    writeFileSync(path.join(src, 'budget.csv'), 'item,amount\nrent,1200\n');
    writeFileSync(path.join(src, 'a-small.txt'), 'a');
    writeFileSync(path.join(src, 'zz-big.bin'), Buffer.alloc(50_000, 1));
    writeFileSync(path.join(src, 'Reports', 'q1.txt'), 'q1');
    await app.drop(['budget.csv', 'a-small.txt', 'zz-big.bin', 'Reports', LONG].map((n) => path.join(src, n)));
    const table = page.getByRole('table', { name: 'Files' });
    await table.getByRole('row', { name: LONG }).waitFor({ timeout: 60_000 });
    await table.getByRole('row', { name: 'budget.csv' }).waitFor();

    // Item 4: at 820×560 the table fits its pane; the long name is cut with its full text on hover.
    await page.setViewportSize({ width: 820, height: 560 });
    const fits = await page.evaluate(() => {
      const t = document.querySelector('table[aria-label="Files"]') as HTMLElement;
      const pane = document.querySelector('main') as HTMLElement;
      return { table: t.scrollWidth, pane: pane.clientWidth, page: document.documentElement.scrollWidth };
    });
    expect(fits.table).toBeLessThanOrEqual(fits.pane);
    expect(fits.page).toBeLessThanOrEqual(820);
    const nameButton = table.getByRole('row', { name: LONG }).getByRole('button', { name: LONG, exact: true });
    expect(await nameButton.getAttribute('title')).toBe(LONG);
    const exportBox = await table.getByRole('button', { name: `Export ${LONG}` }).boundingBox();
    expect((exportBox?.x ?? 9999) + (exportBox?.width ?? 0)).toBeLessThanOrEqual(820);
    await app.screenshot('u05-narrow-long-name', 'narrow-window.png');

    // Item 7: a name with "/" is refused in the form (not a silent move); the error is in the form.
    await table.getByRole('button', { name: 'More actions for budget.csv' }).click();
    await page.getByRole('button', { name: 'Rename budget.csv' }).click();
    const form = page.getByRole('form', { name: 'Edit' });
    await form.getByLabel('New name').fill('Reports/budget.csv');
    await form.getByRole('button', { name: 'Rename' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('cannot contain “/”');
    expect(await page.locator('.toolbar + .alert.error, .files > .alert.error').count()).toBe(0); // not at the top
    await app.screenshot('u06-rename-slash-refused');
    await form.getByLabel('New name').fill('budget 2026.csv');
    await form.getByRole('button', { name: 'Rename' }).click();
    await table.getByRole('row', { name: 'budget 2026.csv' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0); // cleared on success

    // Sort by size (descending) and search by name.
    await table.getByRole('button', { name: /^Size/ }).click();
    await table.getByRole('button', { name: /^Size/ }).click();
    const rows = async (): Promise<string[]> => table.locator('tbody tr[aria-label]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    const sorted = await rows();
    expect(sorted.slice(0, 2).sort()).toEqual(['Reports', 'batch']); // folders first
    expect(sorted[2]).toBe('zz-big.bin'); // then the largest file
    await page.getByLabel('Search names in this folder').fill('BUDGET');
    await expect.poll(rows).toEqual(['budget 2026.csv']);
    await page.getByLabel('Search names in this folder').fill('');

    // Move with the folder picker.
    await table.getByRole('button', { name: 'More actions for a-small.txt' }).click();
    await page.getByRole('button', { name: 'Move a-small.txt' }).click();
    await form.getByLabel('Destination folder').selectOption('/Reports');
    await form.getByRole('button', { name: 'Move' }).click();
    await page.getByRole('status').filter({ hasText: 'Moved a-small.txt to /Reports' }).waitFor();
    await expect.poll(rows).not.toContain('a-small.txt');

    // Drag a file onto a folder of the list: it moves (no copy, no add).
    await table.getByRole('row', { name: 'budget 2026.csv' }).dispatchEvent('dragstart');
    await table.getByRole('row', { name: 'Reports' }).dispatchEvent('drop');
    await expect.poll(rows).not.toContain('budget 2026.csv');
    await table.getByRole('button', { name: 'Reports', exact: true }).click();
    await expect.poll(async () => (await rows()).sort()).toEqual(['a-small.txt', 'budget 2026.csv', 'q1.txt']);

    // Multi-select and delete, confirmed with the count.
    await table.getByRole('checkbox', { name: 'Select a-small.txt' }).check();
    await table.getByRole('checkbox', { name: 'Select q1.txt' }).check();
    await page.getByRole('group', { name: 'Selection' }).getByRole('button', { name: 'Delete…' }).click();
    await expect.poll(() => form.textContent()).toContain('Move 2 items to the trash?');
    await app.screenshot('u07-delete-two-confirm');
    await form.getByRole('button', { name: 'Delete 2 items' }).click();
    await expect.poll(rows).toEqual(['budget 2026.csv']);

    // Recent files: opened in this session, listed on the vault's top folder.
    await table.getByRole('button', { name: 'Open budget 2026.csv' }).click();
    await expect.poll(() => app.opened.length).toBe(1);
    await page.getByRole('navigation', { name: 'Folder' }).getByRole('button', { name: 'Vault' }).click();
    await page.getByRole('navigation', { name: 'Recent files' }).getByRole('button', { name: 'budget 2026.csv' }).waitFor();
    await page.setViewportSize({ width: 1180, height: 780 });
    expect(app.pageErrors).toEqual([]);
  });

  it('item 3: a vault folder that disappears while unlocked is unavailable, and recovers when it is back', async () => {
    const { page } = app;
    const table = page.getByRole('table', { name: 'Files' });
    await table.getByRole('row', { name: 'zz-big.bin' }).waitFor();
    const away = `${vaultDir}.unplugged`;
    renameSync(vaultDir, away);
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toContain('This vault is unavailable');
    expect(await page.getByText('unavailable', { exact: true }).count()).toBeGreaterThan(0);
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toMatch(/tmp\/lock|no such file|may not have synced/);
    await app.screenshot('u08-vault-unavailable', 'vault-unavailable.png');
    renameSync(away, vaultDir);
    await table.getByRole('row', { name: 'zz-big.bin' }).waitFor({ timeout: 20_000 });
    expect(existsSync(path.join(vaultDir, 'coffer-vault.json'))).toBe(true);
    await app.screenshot('u09-vault-back');
    expect(app.pageErrors).toEqual([]);
  });
});
