/**
 * The app's vault service on the real core: auto-lock after idle (keys wiped, "Open" copies wiped,
 * event sent), no idle lock under a running transfer, and settings changes re-arming the timer.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServices, type AppServices } from '../../main/services';
import type { EventChannel } from '../../preload/contract';
import { fakeSafeStorage } from '../e2e/harness';

const saves: string[] = [];

async function setup(): Promise<{ s: AppServices; events: [EventChannel, unknown][]; dir: string; opened: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-svc-'));
  const events: [EventChannel, unknown][] = [];
  const opened: string[] = [];
  const s = await createServices({
    dataDir: path.join(dir, 'data'),
    safeStorage: fakeSafeStorage(),
    platform: 'linux',
    version: '0.0.0',
    emit: (c, p) => void events.push([c, p]),
    openPath: async (p) => {
      opened.push(p);
      return '';
    },
    dialogs: { pickFolder: async () => dir, // the person picks the test folder; vaults go right inside it
      pickFiles: async () => [], saveFile: async () => saves.shift() ?? null },
    tempBase: dir,
    pollMs: 60 * 60_000,
  });
  return { s, events, dir, opened };
}

describe('VaultService', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('locks after the idle time: keys wiped, opened files wiped, event sent', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { s, events, dir, opened } = await setup();
    await s.settings.set({ autoLockMinutes: 5 });
    const me = await s.identities.create('me');
    await s.dialogs.pickFolder('Folder for the new vault');
    const { vault } = await s.vaults.create({ dir: path.join(dir, 'v'), name: 'V', passphrase: null, identityIds: [me.id], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });
    expect(vault.state).toBe('unlocked');
    expect(vault.autoLockAt).toBeGreaterThan(Date.now() + 4 * 60_000);
    writeFileSync(path.join(dir, 'doc.txt'), 'hello');
    expect(() => s.vaults.addFiles(vault.id, [path.join(dir, 'doc.txt')], '/')).toThrow(/dropping them on the window/);
    s.dialogs.approveDropped(path.join(dir, 'doc.txt')); // what the preload reports for a real drop
    await s.jobs.wait(s.vaults.addFiles(vault.id, [path.join(dir, 'doc.txt')], '/'));
    await s.jobs.wait(s.vaults.openFile(vault.id, '/doc.txt'));
    expect(opened).toHaveLength(1);
    expect(existsSync(opened[0] as string)).toBe(true);

    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(s.vaults.isUnlocked(vault.id)).toBe(true);
    s.vaults.touch(vault.id); // activity re-arms the timer
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(s.vaults.isUnlocked(vault.id)).toBe(true);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    await vi.waitFor(() => expect(events).toContainEqual(['event:vaultLocked', { vaultId: vault.id, reason: 'idle' }]));
    expect(s.vaults.isUnlocked(vault.id)).toBe(false);
    expect(existsSync(opened[0] as string)).toBe(false);
    await expect(s.vaults.listFiles(vault.id, '/')).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    expect(s.activity.list().some((a) => a.action === 'lock' && a.detail.includes('idle') && a.detail.includes('1 opened file wiped'))).toBe(true);
    await s.shutdown();
  });

  it('does not lock for idleness under a running transfer, and "never" means never', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { s, dir } = await setup();
    await s.settings.set({ autoLockMinutes: 1 });
    const me = await s.identities.create('me');
    await s.dialogs.pickFolder('Folder for the new vault');
    const { vault } = await s.vaults.create({ dir: path.join(dir, 'v'), name: 'V', passphrase: null, identityIds: [me.id], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });
    let release!: () => void;
    const job = s.jobs.start({ kind: 'add', title: 'slow', vaultId: vault.id }, () => new Promise<void>((r) => (release = r)));
    await vi.advanceTimersByTimeAsync(90_000);
    expect(s.vaults.isUnlocked(vault.id)).toBe(true);
    release();
    await s.jobs.wait(job);
    await s.settings.set({ autoLockMinutes: 0 }); // settings change re-arms: never
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(s.vaults.isUnlocked(vault.id)).toBe(true);
    await s.vaults.lockAll('manual');
    expect(s.vaults.isUnlocked(vault.id)).toBe(false);
    await s.shutdown();
  });

  it('writes the recovery key only to the file chosen in the Save dialog, never into the reply', async () => {
    const { s, dir } = await setup();
    const file = path.join(dir, 'rk.txt');
    // A path the person did not choose in the Save dialog is refused (a compromised window cannot pick one).
    await s.dialogs.pickFolder('Folder for the new vault');
    await expect(s.vaults.create({ dir: path.join(dir, 'v1'), name: 'R', passphrase: 'a long passphrase here', identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: file })).rejects.toMatchObject({ code: 'USAGE' });
    expect(existsSync(file)).toBe(false);
    saves.push(file);
    expect(await s.dialogs.saveFile('Save', 'rk.txt')).toBe(file);
    const r = await s.vaults.create({ dir: path.join(dir, 'v2'), name: 'R', passphrase: 'a long passphrase here', identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: file });
    expect(r.recoveryKeySaved).toBe(true);
    expect(JSON.stringify(r)).not.toMatch(/recovery key for/);
    expect(existsSync(file)).toBe(true);
    saves.push(file);
    await s.dialogs.saveFile('Save', 'rk.txt');
    await s.dialogs.pickFolder('Folder for the new vault');
    await expect(s.vaults.create({ dir: path.join(dir, 'v3'), name: 'R', passphrase: 'a long passphrase here', identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: file })).rejects.toMatchObject({ code: 'EXISTS' });
    // Export is held to the same rule.
    expect(() => s.vaults.exportFile(r.vault.id, '/x', path.join(dir, 'autostart.desktop'))).toThrow(/Save dialog/);
    await s.shutdown();
  });
});
