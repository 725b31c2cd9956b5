/**
 * Sync conflicts in the file browser: the same file changed on two computers, and the sync client
 * (here Dropbox's naming) kept the other record as a conflicted copy. The window shows both
 * versions side by side, and "Keep both" turns them into two entries, nothing lost.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVault } from '../../main/core/vault';
import { requireChromium, tempDir, type AppUnderTest } from './harness';
import { startBrowserApp } from './browser-harness';
import { createFirstVault } from './journeys';

const PASS = 'conflict test passphrase';

describe('sync conflicts in the file browser', () => {
  let app: AppUnderTest;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('conflicts');
    app = await startBrowserApp({ name: 'conflicts' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('shows both versions and keeps both', async () => {
    const { page } = app;
    const vaultDir = path.join(work, 'Dropbox', 'Plans');
    const mine = path.join(work, 'mine');
    const theirs = path.join(work, 'theirs');
    mkdirSync(mine, { recursive: true });
    mkdirSync(theirs, { recursive: true });
    writeFileSync(path.join(mine, 'plan.txt'), 'version 1');

    await createFirstVault(app, { pickIn: path.dirname(vaultDir), dir: vaultDir, name: 'Plans', passphrase: PASS });
    await app.drop([path.join(mine, 'plan.txt')]);
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'plan.txt' }).waitFor();

    // The laptop has a synced copy of the vault and changes plan.txt there.
    const laptop = path.join(work, 'laptop-copy');
    cpSync(vaultDir, laptop, { recursive: true });
    writeFileSync(path.join(theirs, 'plan.txt'), 'version 2 from the laptop, longer');
    const other = await openVault(laptop, { stateDir: path.join(work, 'laptop-state'), credentials: { passphrase: PASS } });
    await other.add([path.join(theirs, 'plan.txt')], '');
    other.lock();

    // Meanwhile this computer changes it too.
    writeFileSync(path.join(mine, 'plan.txt'), 'version 2 from here');
    await app.drop([path.join(mine, 'plan.txt')]);
    await expect.poll(() => app.services.jobs.list().filter((j) => j.state === 'done').length).toBe(2);

    // Dropbox syncs: the laptop's record arrives as a conflicted copy, its blob as a new file.
    const recs = readdirSync(path.join(laptop, 'records'));
    const here = new Set(readdirSync(path.join(vaultDir, 'records')));
    for (const r of recs) {
      const theirsRec = readFileSync(path.join(laptop, 'records', r));
      if (here.has(r) && !theirsRec.equals(readFileSync(path.join(vaultDir, 'records', r)))) {
        writeFileSync(path.join(vaultDir, 'records', r.replace('.rec', " (Laptop's conflicted copy 2026-11-29).rec")), theirsRec);
      }
    }
    const blobsHere = new Set(readdirSync(path.join(vaultDir, 'blobs')));
    for (const b of readdirSync(path.join(laptop, 'blobs'))) if (!blobsHere.has(b)) cpSync(path.join(laptop, 'blobs', b), path.join(vaultDir, 'blobs', b));

    // The app notices (it re-reads unlocked vaults) and shows both versions.
    const box = page.getByRole('region', { name: /1 sync conflict/ });
    await box.waitFor({ timeout: 20_000 });
    const conflict = box.getByLabel('Conflict /plan.txt');
    await expect(conflict.textContent()).resolves.toContain('This copy');
    await expect(conflict.textContent()).resolves.toContain('Dropbox conflicted copy');
    await expect(conflict.textContent()).resolves.toContain('19 B'); // "version 2 from here"
    await expect(conflict.textContent()).resolves.toContain('33 B'); // the laptop's version
    await app.screenshot('14-sync-conflict', 'sync-conflict.png');

    await box.getByRole('button', { name: 'Keep both' }).click();
    await box.waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Files' });
    await table.getByRole('row', { name: 'plan.txt', exact: true }).waitFor();
    await table.getByRole('row', { name: 'plan (conflict 1).txt' }).waitFor();
    // Both contents survive.
    const a = path.join(work, 'a.txt');
    const b = path.join(work, 'b.txt');
    await app.exportTo(a, () => page.getByRole('button', { name: 'Export plan.txt' }).click());
    await app.exportTo(b, () => page.getByRole('button', { name: 'Export plan (conflict 1).txt' }).click());
    expect([readFileSync(a, 'utf8'), readFileSync(b, 'utf8')].sort()).toEqual(['version 2 from here', 'version 2 from the laptop, longer']);
    expect(app.pageErrors).toEqual([]);
  });
});
