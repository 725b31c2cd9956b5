/**
 * Save-back in the window (issue 10 part 1), real Chromium on the real services: a file opened
 * from the vault is edited the way editors do (in place, and write-temp-then-rename) and each save
 * becomes a new version; a lock that cannot save keeps the copy and says so, with Save/Discard; a
 * crash is recovered on the next start; two devices editing at once keep both versions, shown in
 * the conflict panel like a sync conflict.
 *
 * Against the old code ("Open" made a 0400 copy, lock wiped it): the first in-place write throws
 * EACCES, the version never moves past 1, and after the failed lock the copy is gone.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openVault, type Vault } from '../../main/core/vault';
import { createServices, type AppServices } from '../../main/services';
import { fakeSafeStorage, requireChromium, startApp, tempDir, type AppUnderTest } from './harness';
import { createFirstVault } from './journeys';

const PASS = 'save back e2e passphrase';

async function createVaultWithFile(app: AppUnderTest, work: string, name: string, content: string): Promise<string> {
  const { page } = app;
  const vaultDir = path.join(work, 'Sync', name);
  const src = path.join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'notes.txt'), content);
  await createFirstVault(app, { pickIn: path.dirname(vaultDir), dir: vaultDir, name: name, passphrase: PASS });
  await app.drop([path.join(src, 'notes.txt')]);
  await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor();
  return vaultDir;
}

/** Clicks Open on notes.txt and returns the path of the copy the default app got. */
async function openInEditor(app: AppUnderTest, file = 'notes.txt'): Promise<string> {
  const before = app.opened.length;
  await app.page.getByRole('button', { name: `Open ${file}`, exact: true }).click();
  await expect.poll(() => app.opened.length, { timeout: 15_000 }).toBe(before + 1);
  return app.opened[before] as string;
}

const readers = new Map<string, Vault>();
/** The vault folder as another process reads it: text and version of one file. */
async function inVault(dir: string, vpath: string, work: string): Promise<{ text: string; version: number } | null> {
  let v = readers.get(dir);
  if (!v) {
    v = await openVault(dir, { stateDir: path.join(work, 'reader-state'), credentials: { passphrase: PASS } });
    readers.set(dir, v);
  }
  await v.load();
  const e = v.stat(vpath);
  if (!e) return null;
  const out = path.join(mkdtempSync(path.join(work, 'read-')), 'f');
  await v.get(vpath, out);
  return { text: readFileSync(out, 'utf8'), version: e.version };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid as number;
  await new Promise((r) => child.on('exit', r));
  return pid;
}

describe('save-back of opened files in the window', () => {
  const apps: AppUnderTest[] = [];
  const others: AppServices[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    for (const s of others.splice(0)) await s.shutdown().catch(() => undefined);
    for (const v of readers.values()) v.lock();
    readers.clear();
  });

  it('saves edits made in place and by write-temp-then-rename as new versions, shown in the activity list', async () => {
    requireChromium();
    const work = tempDir('saveback-edit');
    const app = await startApp({ name: 'saveback-edit' });
    apps.push(app);
    const dir = await createVaultWithFile(app, work, 'Notes', 'version 1');
    const copy = await openInEditor(app);

    writeFileSync(copy, 'version 2: typed and saved in place');
    await expect.poll(() => inVault(dir, 'notes.txt', work), { timeout: 15_000, interval: 200 }).toEqual({ text: 'version 2: typed and saved in place', version: 2 });
    await app.page.getByRole('status').filter({ hasText: 'notes.txt saved to the vault (version 2)' }).waitFor();

    const tmp = path.join(path.dirname(copy), '.goutputstream-X1Y2Z3');
    writeFileSync(tmp, 'version 3: written to a temp file, then renamed over');
    renameSync(tmp, copy);
    await expect.poll(() => inVault(dir, 'notes.txt', work), { timeout: 15_000, interval: 200 }).toEqual({ text: 'version 3: written to a temp file, then renamed over', version: 3 });

    await app.page.getByRole('button', { name: 'Activity' }).click();
    await app.page.getByRole('cell', { name: '/notes.txt (version 3)' }).waitFor();
    await app.page.getByRole('cell', { name: '/notes.txt (version 2)' }).waitFor();
    expect(await app.page.getByRole('cell', { name: 'saved to vault' }).count()).toBe(2);
    await app.screenshot('saveback-activity');
    expect(app.pageErrors).toEqual([]);
  });

  it('lock with an edit it cannot save: nothing is lost, the person is told, then saves it', async () => {
    requireChromium();
    const work = tempDir('saveback-lock');
    const app = await startApp({ name: 'saveback-lock' });
    apps.push(app);
    const { page } = app;
    const dir = await createVaultWithFile(app, work, 'Notes', 'version 1');
    const copy = await openInEditor(app);

    // The vault folder goes away (a sync folder unmounted), the person saves in the editor, then locks.
    const away = `${dir}-unmounted`;
    renameSync(dir, away);
    writeFileSync(copy, 'an edit worth keeping');
    await page.getByRole('button', { name: 'Lock', exact: true }).click();

    const banner = page.getByRole('region', { name: '1 opened file has edits that are not in the vault' });
    await banner.waitFor();
    const item = banner.getByLabel('Unsaved edits to /notes.txt');
    await expect(item.textContent()).resolves.toMatch(/notes\.txt.*in Notes.*the vault folder is not reachable/);
    await item.getByRole('button', { name: 'Unlock Notes to save' }).waitFor();
    expect(readFileSync(copy, 'utf8')).toBe('an edit worth keeping');
    await app.screenshot('saveback-unsaved-edits', 'unsaved-edits.png');

    // Back online: unlock, then Save puts the edit in the vault.
    renameSync(away, dir);
    await item.getByRole('button', { name: 'Unlock Notes to save' }).click();
    await page.getByRole('heading', { name: 'Unlock “Notes”' }).waitFor();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor();
    await item.getByRole('button', { name: 'Save to vault' }).click();
    await page.getByRole('status').filter({ hasText: 'notes.txt was saved to the vault as /notes.txt (version 2).' }).waitFor();
    expect(await inVault(dir, 'notes.txt', work)).toEqual({ text: 'an edit worth keeping', version: 2 });
    await expect.poll(() => page.getByRole('region', { name: /opened file/ }).count()).toBe(0);
    expect(app.pageErrors).toEqual([]);
  });

  it('after a crash, the next start offers the edit; Discard needs a confirmation', async () => {
    requireChromium();
    const work = tempDir('saveback-crash');
    const first = await startApp({ name: 'saveback-crash' });
    const dir = await createVaultWithFile(first, work, 'Notes', 'version 1');
    const copy = await openInEditor(first);
    const other = await openInEditor(first);
    if (!first.crash) throw new Error('this harness cannot simulate a crash');
    await first.crash();
    // The editors outlive Coffer and save; the old run's pid is gone.
    writeFileSync(copy, 'saved while Coffer was down');
    writeFileSync(other, 'another unsaved edit');
    const root = path.dirname(path.dirname(path.dirname(copy)));
    writeFileSync(path.join(root, 'owner'), `${await deadPid()}\n`);

    const app = await startApp({ name: 'saveback-crash', dataDir: first.dataDir });
    apps.push(app);
    const { page } = app;
    const banner = page.getByRole('region', { name: '2 opened files have edits that are not in the vault' });
    await banner.waitFor();
    await expect(banner.textContent()).resolves.toMatch(/stopped before saving/);
    expect(readFileSync(copy, 'utf8')).toBe('saved while Coffer was down');

    await banner.getByRole('button', { name: 'Unlock Notes to save' }).first().click();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor();
    // Save the first; the second is discarded after a confirmation.
    const listed = app.services.saveback.list();
    const index = listed.findIndex((e) => e.id === path.basename(path.dirname(copy)));
    expect(index).toBeGreaterThanOrEqual(0);
    await banner.getByRole('listitem').nth(index).getByRole('button', { name: 'Save to vault' }).click();
    await expect.poll(() => inVault(dir, 'notes.txt', work), { timeout: 15_000 }).toEqual({ text: 'saved while Coffer was down', version: 2 });
    await page.getByRole('region', { name: '1 opened file has edits that are not in the vault' }).waitFor();
    await page.getByRole('button', { name: 'Discard…' }).click();
    await page.getByRole('group', { name: 'Discard notes.txt?' }).getByRole('button', { name: 'Discard edits' }).click();
    await page.getByRole('status').filter({ hasText: 'Your edits to notes.txt were discarded.' }).waitFor();
    expect(() => readFileSync(other)).toThrow(/ENOENT/);
    expect(await inVault(dir, 'notes.txt', work)).toEqual({ text: 'saved while Coffer was down', version: 2 });
    expect(app.pageErrors).toEqual([]);
  });

  it('two devices edit the same file at once: both versions are kept as a conflict', async () => {
    requireChromium();
    const work = tempDir('saveback-two');
    const app = await startApp({ name: 'saveback-two', saveback: { hostName: 'desk' } });
    apps.push(app);
    const { page } = app;
    const dir = await createVaultWithFile(app, work, 'Notes', 'version 1');

    // The laptop: another Coffer (its own services and temp folder) on the same vault folder.
    const laptopTemp = path.join(work, 'laptop-tmp');
    mkdirSync(laptopTemp, { recursive: true });
    const laptopOpened: string[] = [];
    const laptop = await createServices({
      dataDir: path.join(work, 'laptop-data'), safeStorage: fakeSafeStorage(), platform: 'linux', version: '0',
      emit: () => undefined, openPath: async (p) => {
        laptopOpened.push(p);
        return '';
      },
      dialogs: { pickFolder: async () => dir, pickFiles: async () => [], saveFile: async () => null },
      tempBase: laptopTemp, pollMs: 60 * 60_000, saveback: { debounceMs: 300, hostName: 'laptop' },
    });
    others.push(laptop);
    await laptop.dialogs.pickFolder('Vault folder');
    const v = await laptop.vaults.open(dir);
    await laptop.vaults.unlock(v.id, { kind: 'passphrase', passphrase: PASS });

    // Both open version 1.
    const deskCopy = await openInEditor(app);
    await laptop.jobs.wait(laptop.vaults.openFile(v.id, '/notes.txt'));
    const laptopCopy = laptopOpened[0] as string;

    // The laptop saves first: version 2. Then the desk saves its own edit of version 1.
    writeFileSync(laptopCopy, 'the laptop edit');
    await expect.poll(() => inVault(dir, 'notes.txt', work), { timeout: 15_000, interval: 200 }).toEqual({ text: 'the laptop edit', version: 2 });
    writeFileSync(deskCopy, 'the desk edit');
    const sibling = 'notes (edited on desk, conflict).txt';
    await expect.poll(() => inVault(dir, sibling, work), { timeout: 15_000, interval: 200 }).toEqual({ text: 'the desk edit', version: 1 });
    expect(await inVault(dir, 'notes.txt', work)).toEqual({ text: 'the laptop edit', version: 2 });

    // The window says so, and lists both.
    await page.getByRole('status').filter({ hasText: 'changed in the vault meanwhile' }).waitFor();
    await page.getByRole('button', { name: 'Vaults', exact: true }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Notes' }).click();
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: sibling }).waitFor({ timeout: 15_000 });
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor();
    // Shown as a conflict beside the entry, the same way as a sync client's conflicted copy.
    const box = page.getByRole('region', { name: /1 sync conflict/ });
    await box.waitFor({ timeout: 15_000 });
    const conflict = box.getByLabel('Conflict /notes.txt');
    await expect(conflict.textContent()).resolves.toContain('This copy');
    await expect(conflict.textContent()).resolves.toContain('Edited on desk while it changed in the vault');
    await app.screenshot('saveback-conflict');
    // Keep both: the edit becomes an ordinary entry, no longer marked as a conflict.
    await conflict.getByRole('button', { name: 'Keep both' }).click();
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes (edited on desk).txt' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => box.count()).toBe(0);
    expect(await inVault(dir, 'notes (edited on desk).txt', work)).toMatchObject({ text: 'the desk edit' });
    expect(await inVault(dir, 'notes.txt', work)).toEqual({ text: 'the laptop edit', version: 2 });
    expect(app.pageErrors).toEqual([]);
  });
});
