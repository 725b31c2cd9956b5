/**
 * Journey 5: a file of at least 200 MiB shows a moving progress bar (percent, bytes, MB/s, ETA);
 * cancelling a large add leaves nothing half-written in the vault folder. Runs on the browser shell:
 * dropped files are uploaded, encrypted as they arrive (no plaintext copy in any temp folder) and
 * committed one by one (a file that has arrived is listed while the next is still uploading).
 */
import { closeSync, openSync, ftruncateSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium, tempDir, type AppUnderTest } from './harness';
import { startBrowserApp } from './browser-harness';
import { createFirstVault } from './journeys';

const MiB = 1024 * 1024;

function sparseFile(file: string, size: number): void {
  const fd = openSync(file, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

declare global {
  interface Window {
    __bars: { value: number; text: string }[];
  }
}

describe('journey: large file progress and cancel', () => {
  let app: AppUnderTest;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('j5');
    app = await startBrowserApp({ name: 'j5' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('shows moving progress for a 300 MiB file, and cancel leaves nothing half-written', async () => {
    const { page } = app;
    const vaultDir = path.join(work, 'vault');
    await createFirstVault(app, { pickIn: path.dirname(vaultDir), dir: vaultDir, name: 'Media', passphrase: 'media passphrase 2026' });

    // Record every value the total progress bar shows, with the stats line beside it.
    await page.evaluate(() => {
      window.__bars = [];
      const seen = (): void => {
        const bar = document.querySelector('[role="progressbar"][aria-label$="total"]');
        if (!bar) return;
        const stats = bar.parentElement?.querySelector('.stats')?.textContent ?? '';
        const value = Number(bar.getAttribute('aria-valuenow'));
        const last = window.__bars[window.__bars.length - 1];
        if (!last || last.value !== value || last.text !== stats) window.__bars.push({ value, text: stats });
      };
      new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });

    const big = path.join(work, 'video.mov');
    sparseFile(big, 300 * MiB);
    await app.drop([big]);
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'video.mov' }).waitFor({ timeout: 120_000 });
    const bars = await page.evaluate(() => window.__bars);
    const values = bars.map((b) => b.value);
    const between = [...new Set(values.filter((v) => v > 0 && v < 100))];
    expect(between.length, `progress values seen: ${values.join(',')}`).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < values.length; i++) expect(values[i] as number).toBeGreaterThanOrEqual(values[i - 1] as number);
    expect(values[values.length - 1]).toBe(100);
    const running = bars.find((b) => b.value > 0 && b.value < 100)?.text ?? '';
    expect(running).toMatch(/MB\/s/);
    expect(running).toMatch(/ETA/);
    expect(running).toMatch(/of 315 MB/);

    // Cancel a larger add part-way: a small file, then a huge one. The small one is committed as soon as
    // it has arrived, so it is listed while the huge one is still uploading (issue 11 item 2).
    const blobsBefore = readdirSync(path.join(vaultDir, 'blobs')).length;
    const notes = path.join(work, 'notes.txt');
    writeFileSync(notes, 'read me first\n');
    const huge = path.join(work, 'archive.tar');
    sparseFile(huge, 4096 * MiB);
    await page.evaluate(() => (window.__bars = []));
    await app.drop([notes, huge]);
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor({ timeout: 60_000 });
    expect(app.services.jobs.list().find((j) => j.title.startsWith('Add 2 items'))?.state).toBe('running');
    await expect.poll(async () => page.evaluate(() => window.__bars.filter((b) => b.value >= 1 && b.value < 100).length), { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
    await app.screenshot('13-large-file-progress');
    // Encrypted as it arrives: mid-upload, no plaintext copy exists in the app's private temp folder;
    // the bytes so far sit in the vault's staging file (ciphertext, in the vault's own tmp/).
    expect(walk(app.services.temp.root).filter((f) => path.basename(f) !== 'owner')).toEqual([]);
    expect(readdirSync(path.join(vaultDir, 'tmp')).filter((n) => n.endsWith('.tmp')).length).toBeGreaterThan(0);
    await page.getByRole('button', { name: /Cancel Add 2 items/ }).click();
    await page.getByText('Cancelled; nothing half-written was left behind.').waitFor({ timeout: 60_000 });
    const job = app.services.jobs.list().find((j) => j.title.startsWith('Add 2 items'));
    expect(job?.state).toBe('cancelled');
    expect((job?.bytesDone ?? 0) < 4096 * MiB).toBe(true);

    // Nothing half-written: one new blob (notes.txt, committed before the cancel), no temp or partial
    // files, and the listing has notes.txt but not archive.tar.
    expect(readdirSync(path.join(vaultDir, 'blobs')).length).toBe(blobsBefore + 1);
    const leftovers = walk(vaultDir).filter((f) => /\.tmp$|\.intent$|coffer-/.test(path.basename(f)) && !f.endsWith('coffer-vault.json'));
    expect(leftovers).toEqual([]);
    const total = walk(vaultDir).reduce((a, f) => a + statSync(f).size, 0);
    expect(total).toBeLessThan(330 * MiB);
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'video.mov' }).waitFor();
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor();
    expect(await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'archive.tar' }).count()).toBe(0);
    // Nothing of the uploads is left in the private temp folder either.
    await expect.poll(() => walk(app.services.temp.root).filter((f) => path.basename(f) !== 'owner'), { timeout: 30_000 }).toEqual([]);
    expect(app.pageErrors).toEqual([]);
  });
});
