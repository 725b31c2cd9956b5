/**
 * Issue 9, finding 14, app side (attacker L: a crash, or another process killing the app).
 * 1. A run that dies leaves decrypted "Open" copies in its temp folder; the next start wipes them.
 * 2. A full disk during an add or an export fails the job with one message naming the file, and
 *    leaves nothing half-written.
 *
 * Proof that this catches the old code: with main/services/tempfiles.ts and index.ts of commit
 * e93c914 the crashed run's plaintext is still there after the next start (the first expectation
 * after createServices fails), and the disk-full job reports a bare "no space left on device"
 * with no file name. The positive control: a folder whose owner is still running is left alone.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServices, type AppServices } from '../../main/services';
import { PrivateTemp } from '../../main/services/tempfiles';
import type { OpenVault, VaultCore } from '../../main/services/vault-port';
import { fakeSafeStorage } from '../e2e/harness';

async function services(dir: string, core?: VaultCore, saves: string[] = [], folders: string[] = []): Promise<AppServices> {
  return createServices({
    dataDir: path.join(dir, 'data'),
    safeStorage: fakeSafeStorage(),
    platform: 'linux',
    version: '0',
    emit: () => undefined,
    openPath: async () => '',
    dialogs: { pickFolder: async () => folders.shift() ?? null, pickFiles: async () => [], saveFile: async () => saves.shift() ?? null },
    tempBase: dir,
    pollMs: 60 * 60_000,
    ...(core ? { core } : {}),
  });
}

/** A process that exits at once: its pid is then free (a crashed Coffer). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid as number;
  await new Promise((r) => child.on('exit', r));
  return pid;
}

describe('hostile UI/L: stale "Open" folders and a full disk (finding 14, app side)', () => {
  const open: AppServices[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.shutdown();
  });

  it('wipes the "Open" folder a crashed run left, and only that', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'coffer-sweep-'));
    // A crashed run: its folder, with a decrypted file and its (now dead) owner pid.
    const crashed = new PrivateTemp(base);
    const plain = await crashed.pathFor('vault-1', 'salaries.xlsx');
    writeFileSync(plain, 'TOP SECRET salaries');
    chmodSync(plain, 0o400);
    writeFileSync(path.join(crashed.root, 'owner'), `${await deadPid()}\n`);
    // A running one (this process's parent stands in for "another live Coffer"): left alone.
    const live = mkdirSync(path.join(base, 'coffer-open-live'), { recursive: true }) as string;
    writeFileSync(path.join(live, 'owner'), `${process.ppid}\n`);
    writeFileSync(path.join(live, 'in-use.txt'), 'still open in another window');
    // Not ours: a link named like ours pointing at the user's files must not be followed.
    const precious = path.join(base, 'precious');
    mkdirSync(precious);
    writeFileSync(path.join(precious, 'thesis.tex'), 'do not delete');
    symlinkSync(precious, path.join(base, 'coffer-open-link'));

    const s = await services(base);
    open.push(s);
    expect(existsSync(plain)).toBe(false);
    expect(existsSync(crashed.root)).toBe(false);
    expect(readFileSync(path.join(live, 'in-use.txt'), 'utf8')).toBe('still open in another window');
    expect(readFileSync(path.join(precious, 'thesis.tex'), 'utf8')).toBe('do not delete');
    expect((await s.activity.list(10)).some((e) => e.action === 'startup clean-up' && /wiped 1 opened file/.test(e.detail))).toBe(true);
    // Our own new folder is there and is not swept by a second sweep.
    expect(await PrivateTemp.sweepStale(base)).toEqual({ folders: 0, files: 0 });
    expect(existsSync(s.temp.root)).toBe(true);
  });

  it('reports a full disk per file during add and export', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-enospc-'));
    const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    // A vault whose writes hit a full disk on the second file (the rest is the real app service).
    const vault: OpenVault = {
      id: 'v1', name: 'Full', refresh: async () => undefined, list: async () => [], conflicts: async () => [],
      async add(sources, _to, p) {
        p.setTotals(sources.length, 300);
        p.report({ filesDone: 0, filesTotal: 2, bytesDone: 0, bytesTotal: 300, current: '/a.txt' });
        p.report({ filesDone: 1, filesTotal: 2, bytesDone: 100, bytesTotal: 300, current: '/big.iso' });
        throw enospc();
      },
      async get(vpath, _dest, p) {
        p.report({ filesDone: 0, filesTotal: 1, bytesDone: 10, bytesTotal: 100, current: vpath });
        throw enospc();
      },
      mkdir: async () => undefined, move: async () => undefined, remove: async () => undefined, resolveConflict: async () => undefined,
      slots: async () => [], requests: async () => [], grant: async () => { throw new Error('x'); }, revoke: async () => ({ rotatedTo: null, reencryptedFiles: 0 }),
      rotate: async () => ({ epoch: 1, records: 0 }), dismissRequest: async () => undefined, close: () => undefined,
      fileVersion: async () => ({ id: 'e1', version: 1 }), saveEdit: async () => { throw enospc(); },
      readTo: async () => { throw enospc(); }, stageUpload: async () => { throw enospc(); }, commitUpload: async () => { throw enospc(); }, discardUpload: async () => undefined,
    };
    const core: VaultCore = {
      peek: async () => ({ id: 'v1', name: 'Full', slots: [] }),
      create: async () => ({ vault, recoveryKey: 'x' }),
      unlock: async () => vault,
      requestAccess: async () => undefined,
      parseRecipient: () => { throw new Error('x'); },
    };
    const out = path.join(dir, 'out.iso');
    const parent = path.join(dir, 'v');
    mkdirSync(parent);
    writeFileSync(path.join(parent, 'coffer-vault.json'), '{}'); // the folder is there (only the disk is full)
    const s = await services(dir, core, [out], [parent]);
    open.push(s);
    const src = path.join(dir, 'a.txt');
    writeFileSync(src, 'x');
    writeFileSync(path.join(dir, 'big.iso'), 'y');
    expect(await s.dialogs.pickFolder('Choose a vault folder')).toBe(parent);
    const v = await s.vaults.open(parent);
    await s.vaults.unlock(v.id, { kind: 'passphrase', passphrase: 'x' });
    s.dialogs.approveDropped(src);
    s.dialogs.approveDropped(path.join(dir, 'big.iso'));
    const addJob = s.vaults.addFiles(v.id, [src, path.join(dir, 'big.iso')], '/');
    await s.jobs.wait(addJob);
    const add = s.jobs.get(addJob);
    expect(add?.state).toBe('failed');
    expect(add?.error?.message).toMatch(/^the disk is full: adding \/big\.iso stopped/);
    await s.dialogs.saveFile('Export', 'big.iso');
    const exJob = s.vaults.exportFile(v.id, '/big.iso', out);
    await s.jobs.wait(exJob);
    expect(s.jobs.get(exJob)?.error?.message).toMatch(/^the disk is full: exporting \/big\.iso stopped/);
    expect(readdirSync(dir).filter((n) => n.startsWith('out.iso'))).toEqual([]);
  });
});
