/**
 * Save-back of opened files (issue 10 part 1), on the real core and the real services:
 * debounce (in-place writes wait for stable size/mtime; an atomic rename is saved at once), idle
 * lock postponed while an edit is unsaved, lock keeping copies it cannot save, recovery after a
 * crash, the startup sweep sparing edited copies, and two devices editing the same file.
 *
 * How these would have caught the old code: before save-back, "Open" wrote a 0400 copy (the
 * in-place write below fails with EACCES), nothing ever reached the vault (the version stays 1),
 * and lock and the startup sweep wiped the edited copy (the `existsSync` after lock fails).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openVault, type Vault } from '../../main/core/vault';
import { createServices, type AppServices } from '../../main/services';
import { editConflictName, hasUnsavedEdits, parseEditConflict } from '../../main/services/saveback';
import { PrivateTemp } from '../../main/services/tempfiles';
import type { EventChannel } from '../../preload/contract';
import { fakeSafeStorage } from '../e2e/harness';

const PASS = 'save back passphrase';

interface Setup {
  s: AppServices;
  events: [EventChannel, unknown][];
  opened: string[];
  /** What the next folder dialogs return (then the test folder). */
  folders: string[];
}

async function start(base: string, dataName: string, opts: { debounceMs?: number; hostName?: string } = {}): Promise<Setup> {
  const events: [EventChannel, unknown][] = [];
  const opened: string[] = [];
  const folders: string[] = [];
  mkdirSync(path.join(base, `tmp-${dataName}`), { recursive: true });
  const s = await createServices({
    dataDir: path.join(base, dataName),
    safeStorage: fakeSafeStorage(),
    platform: 'linux',
    version: '0',
    emit: (c, p) => void events.push([c, p]),
    openPath: async (p) => {
      opened.push(p);
      return '';
    },
    dialogs: { pickFolder: async () => folders.shift() ?? base, pickFiles: async () => [], saveFile: async () => null },
    tempBase: path.join(base, `tmp-${dataName}`),
    pollMs: 60 * 60_000,
    saveback: { debounceMs: opts.debounceMs ?? 200, pollMs: 60 * 60_000, hostName: opts.hostName ?? 'desk' },
  });
  return { s, events, opened, folders };
}

async function vaultWithFile(t: Setup, base: string, content = 'version 1'): Promise<{ vaultId: string; dir: string }> {
  await t.s.dialogs.pickFolder('Folder for the new vault');
  const dir = path.join(base, 'vault');
  const { vault } = await t.s.vaults.create({ dir, name: 'Notes', passphrase: PASS, identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });
  const src = path.join(base, 'notes.txt');
  writeFileSync(src, content);
  t.s.dialogs.approveDropped(src);
  await t.s.jobs.wait(t.s.vaults.addFiles(vault.id, [src], '/'));
  return { vaultId: vault.id, dir };
}

async function openCopy(t: Setup, vaultId: string, vpath: string): Promise<string> {
  const before = t.opened.length;
  const id = t.s.vaults.openFile(vaultId, vpath);
  await t.s.jobs.wait(id);
  expect(t.s.jobs.get(id)?.state).toBe('done');
  expect(t.opened).toHaveLength(before + 1);
  return t.opened[before] as string;
}

/** What the vault folder holds, read by a separate core instance: content and version of `vpath`. */
const readers = new Map<string, Vault>();
async function inVault(dir: string, vpath: string, base: string): Promise<{ text: string; version: number } | null> {
  let v = readers.get(dir);
  if (!v) {
    v = await openVault(dir, { stateDir: path.join(base, 'reader-state'), credentials: { passphrase: PASS } });
    readers.set(dir, v);
  }
  await v.load();
  const e = v.stat(vpath);
  if (!e) return null;
  const out = path.join(mkdtempSync(path.join(base, 'read-')), 'f');
  await v.get(vpath, out);
  return { text: readFileSync(out, 'utf8'), version: e.version };
}

/** A process that exits at once: its pid is then free (a crashed Coffer). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid as number;
  await new Promise((r) => child.on('exit', r));
  return pid;
}

describe('conflict copy names', () => {
  it('round-trips: the original name and host come back from any conflict copy name', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((n) => !n.includes('/') && parseEditConflict(n) === null),
        fc.string({ minLength: 1, maxLength: 20 }).filter((h) => !/[()]/.test(h)),
        fc.integer({ min: 1, max: 999 }),
        (name, host, n) => {
          const made = editConflictName(name, host, n);
          expect(parseEditConflict(made)).toEqual({ original: name, host, n });
          expect(made.endsWith(name.lastIndexOf('.') > 0 ? name.slice(name.lastIndexOf('.')) : '')).toBe(true);
        },
      ),
    );
    expect(editConflictName('report.final.pdf', 'laptop')).toBe('report.final (edited on laptop, conflict).pdf');
    expect(parseEditConflict('notes.txt')).toBeNull();
  });
});

describe('save-back of opened files', () => {
  const running: AppServices[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const s of running.splice(0)) await s.shutdown().catch(() => undefined);
    for (const v of readers.values()) v.lock();
    readers.clear();
  });

  it('opens a private writable copy and saves in-place edits and atomic renames as new versions', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const t = await start(base, 'data');
    running.push(t.s);
    const { vaultId, dir } = await vaultWithFile(t, base);
    const copy = await openCopy(t, vaultId, '/notes.txt');
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(copy)).mode & 0o777).toBe(0o700);

    // An editor saving in place (same file, new content).
    writeFileSync(copy, 'version 2, edited in place');
    await vi.waitFor(async () => expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'version 2, edited in place', version: 2 }), { timeout: 10_000, interval: 100 });
    // An editor saving atomically: write a temp file beside it, then rename it over the copy.
    const tmp = path.join(path.dirname(copy), '.notes.txt.swp');
    writeFileSync(tmp, 'version 3, written then renamed');
    renameSync(tmp, copy);
    await vi.waitFor(async () => expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'version 3, written then renamed', version: 3 }), { timeout: 10_000, interval: 100 });
    // The activity entry follows the commit (the manifest is written in between).
    await vi.waitFor(() => expect(t.s.activity.list().filter((a) => a.action === 'saved to vault' && a.ok).map((a) => a.detail)).toEqual(['/notes.txt (version 3)', '/notes.txt (version 2)']));
    // Touching the file without changing it makes no new version.
    writeFileSync(copy, 'version 3, written then renamed');
    await t.s.vaults.lock(vaultId, 'manual');
    expect((await inVault(dir, 'notes.txt', base))?.version).toBe(3);
    expect(existsSync(copy)).toBe(false); // saved, so wiped on lock as before
    expect(t.s.saveback.list()).toEqual([]);
  });

  it('debounces in-place writes until size and mtime are stable; saves a landed rename at once', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const t = await start(base, 'data', { debounceMs: 60 * 60_000 });
    running.push(t.s);
    await t.s.settings.set({ autoLockMinutes: 0 });
    const { vaultId, dir } = await vaultWithFile(t, base);
    const copy = await openCopy(t, vaultId, '/notes.txt');

    writeFileSync(copy, 'half written');
    await vi.waitFor(() => expect(t.s.saveback.hasUnsaved(vaultId)).toBe(true), { timeout: 10_000, interval: 50 });
    // Seen, but not yet stable for the debounce period: nothing is saved.
    expect((await inVault(dir, 'notes.txt', base))?.version).toBe(1);
    writeFileSync(copy, 'fully written now'); // the watcher looks again: changed, so the wait starts over
    expect((await inVault(dir, 'notes.txt', base))?.version).toBe(1);
    // Stable for the debounce period: saved. (Twice: if the watcher's look at the second write comes
    // only after the first advance, the period starts then, and the second advance completes it.)
    await vi.advanceTimersByTimeAsync(60 * 60_000 + 1000);
    await vi.advanceTimersByTimeAsync(60 * 60_000 + 1000);
    await vi.waitFor(async () => expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'fully written now', version: 2 }), { timeout: 10_000, interval: 100 });
    expect(t.s.saveback.hasUnsaved(vaultId)).toBe(false);

    // A rename lands a complete new file: saved without waiting for the (hour-long) debounce.
    const tmp = path.join(path.dirname(copy), 'notes.txt.tmp~');
    writeFileSync(tmp, 'renamed into place');
    renameSync(tmp, copy);
    await vi.waitFor(async () => expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'renamed into place', version: 3 }), { timeout: 10_000, interval: 100 });
  });

  it('postpones the idle lock while an edit cannot be saved, and keeps the copy when locked anyway', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const t = await start(base, 'data');
    running.push(t.s);
    await t.s.settings.set({ autoLockMinutes: 5 });
    const { vaultId, dir } = await vaultWithFile(t, base);
    const copy = await openCopy(t, vaultId, '/notes.txt');

    // The vault folder becomes unreachable (a network share gone, a sync folder moved), then the person saves.
    const away = `${dir}-away`;
    renameSync(dir, away);
    writeFileSync(copy, 'precious edit');
    await vi.waitFor(() => expect(t.s.saveback.list()).toHaveLength(1), { timeout: 10_000, interval: 50 });
    expect(t.events.some(([c]) => c === 'event:unsavedEdits')).toBe(true);

    await vi.advanceTimersByTimeAsync(6 * 60_000);
    await vi.waitFor(() => expect(t.s.activity.list().some((a) => a.action === 'idle lock postponed')).toBe(true));
    expect(t.s.vaults.isUnlocked(vaultId)).toBe(true);

    // A manual lock cannot save either: the copy stays, the person is told which file.
    await t.s.vaults.lock(vaultId, 'manual');
    expect(readFileSync(copy, 'utf8')).toBe('precious edit');
    const kept = t.s.saveback.list();
    expect(kept).toEqual([expect.objectContaining({ path: '/notes.txt', vaultName: 'Notes', vaultUnlocked: false, reason: expect.stringMatching(/^could not save: the vault folder is not reachable/) })]);
    expect(t.s.activity.list().find((a) => a.action === 'unsaved edits kept')?.detail).toMatch(/could not save 1 opened file to the vault \(\/notes\.txt\)/);
    await expect(t.s.saveback.saveNow(kept[0]?.id as string)).rejects.toMatchObject({ code: 'VAULT_LOCKED' });

    // The folder is back: unlock, then Save (an explicit action) puts the edit into the vault.
    renameSync(away, dir);
    await t.s.vaults.unlock(vaultId, { kind: 'passphrase', passphrase: PASS });
    expect(readFileSync(copy, 'utf8')).toBe('precious edit');
    await expect(t.s.saveback.saveNow(kept[0]?.id as string)).resolves.toEqual({ path: '/notes.txt', version: 2 });
    expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'precious edit', version: 2 });
    expect(t.s.saveback.list()).toEqual([]);
  });

  it('quit keeps an unsaved copy; the next start offers it, the sweep spares it, and Discard wipes it', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const t = await start(base, 'data');
    const { vaultId, dir } = await vaultWithFile(t, base);
    const copy = await openCopy(t, vaultId, '/notes.txt');
    const clean = await openCopy(t, vaultId, '/notes.txt'); // a second copy, never edited
    const away = `${dir}-away`;
    renameSync(dir, away);
    writeFileSync(copy, 'edit before quitting');
    await t.s.shutdown(); // quit: save-back fails, the copy is kept
    expect(readFileSync(copy, 'utf8')).toBe('edit before quitting');
    expect(existsSync(clean)).toBe(false);
    // The run is gone (its pid is dead, as after any exit).
    const root = path.dirname(path.dirname(path.dirname(copy)));
    writeFileSync(path.join(root, 'owner'), `${await deadPid()}\n`);

    renameSync(away, dir);
    const t2 = await start(base, 'data');
    running.push(t2.s);
    expect(readFileSync(copy, 'utf8')).toBe('edit before quitting');
    const offered = t2.s.saveback.list();
    expect(offered).toEqual([expect.objectContaining({ path: '/notes.txt', vaultUnlocked: false })]);
    expect(t2.s.activity.list().some((a) => a.action === 'unsaved edits found')).toBe(true);
    await t2.s.saveback.discard(offered[0]?.id as string);
    expect(existsSync(copy)).toBe(false);
    expect(existsSync(`${path.dirname(copy)}.open.json`)).toBe(false);
    expect((await inVault(dir, 'notes.txt', base))?.version).toBe(1);
  });

  it('the startup sweep spares copies edited after they were last saved and wipes the rest', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const t = await start(base, 'data');
    const { vaultId } = await vaultWithFile(t, base);
    const edited = await openCopy(t, vaultId, '/notes.txt');
    const untouched = await openCopy(t, vaultId, '/notes.txt');
    const touched = await openCopy(t, vaultId, '/notes.txt');
    t.s.saveback.stop(); // a crash: nothing saved, nothing wiped
    writeFileSync(edited, 'edited after the crash');
    writeFileSync(touched, 'version 1'); // mtime changed, content the same
    const root = path.dirname(path.dirname(path.dirname(edited)));
    writeFileSync(path.join(root, 'owner'), `${await deadPid()}\n`);
    // Positive control for the spare predicate itself.
    expect(await hasUnsavedEdits(path.dirname(edited))).toBe(true);
    expect(await hasUnsavedEdits(path.dirname(touched))).toBe(false);
    expect(await hasUnsavedEdits(path.dirname(untouched))).toBe(false);

    const swept = await PrivateTemp.sweepStale(path.dirname(root), Date.now, hasUnsavedEdits);
    expect(swept.files).toBe(2);
    expect(readFileSync(edited, 'utf8')).toBe('edited after the crash');
    expect(existsSync(untouched)).toBe(false);
    expect(existsSync(touched)).toBe(false);
    // Without the predicate (the old sweep), the edit would have been wiped too.
    await PrivateTemp.sweepStale(path.dirname(root));
    expect(existsSync(edited)).toBe(false);
  });

  it('recovers after a crash: the next start offers the edit and saves it once unlocked', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const t = await start(base, 'data');
    const { vaultId, dir } = await vaultWithFile(t, base);
    const copy = await openCopy(t, vaultId, '/notes.txt');
    t.s.saveback.stop(); // the process dies: no lock, no save, no wipe
    writeFileSync(copy, 'saved by the editor after Coffer crashed');
    writeFileSync(path.join(path.dirname(path.dirname(path.dirname(copy))), 'owner'), `${await deadPid()}\n`);

    const t2 = await start(base, 'data');
    running.push(t2.s);
    const offered = t2.s.saveback.list();
    expect(offered).toEqual([expect.objectContaining({ path: '/notes.txt', reason: expect.stringMatching(/stopped before saving/) })]);
    expect(t2.events).toContainEqual(['event:unsavedEdits', { edits: offered }]);
    await t2.s.vaults.unlock(vaultId, { kind: 'passphrase', passphrase: PASS });
    await t2.s.saveback.saveNow(offered[0]?.id as string);
    expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'saved by the editor after Coffer crashed', version: 2 });
  });

  it('two devices edit the same file at once: both versions are kept as a conflict', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sb-'));
    const a = await start(base, 'desk', { hostName: 'desk' });
    running.push(a.s);
    const { vaultId, dir } = await vaultWithFile(a, base);
    const b = await start(base, 'laptop', { hostName: 'laptop' });
    running.push(b.s);
    b.folders.push(dir);
    await b.s.dialogs.pickFolder('Vault folder');
    await b.s.vaults.open(dir);
    await b.s.vaults.unlock(vaultId, { kind: 'passphrase', passphrase: PASS });
    const copyA = await openCopy(a, vaultId, '/notes.txt');
    const copyB = await openCopy(b, vaultId, '/notes.txt');

    writeFileSync(copyA, 'the desk version');
    await vi.waitFor(async () => expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'the desk version', version: 2 }), { timeout: 10_000, interval: 100 });
    writeFileSync(copyB, 'the laptop version');
    const sibling = 'notes (edited on laptop, conflict).txt';
    await vi.waitFor(async () => expect(await inVault(dir, sibling, base)).toEqual({ text: 'the laptop version', version: 1 }), { timeout: 10_000, interval: 100 });
    expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'the desk version', version: 2 });
    expect(b.s.activity.list().find((x) => x.action === 'saved to vault')?.detail).toBe(`/${sibling} (version 1): /notes.txt changed in the vault meanwhile; both versions kept`);

    // The laptop keeps editing its copy: that goes to its conflict copy, never over the desk's version.
    writeFileSync(copyB, 'the laptop version, edited again');
    await vi.waitFor(async () => expect(await inVault(dir, sibling, base)).toEqual({ text: 'the laptop version, edited again', version: 2 }), { timeout: 10_000, interval: 100 });
    expect(await inVault(dir, 'notes.txt', base)).toEqual({ text: 'the desk version', version: 2 });
  });
});
