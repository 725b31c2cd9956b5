/**
 * "Mount as drive" in the app's services, on the real core and a real WebDAV server on loopback;
 * only the platform's programs are stood in (a fake runner records what would run).
 *
 * - Mount: the server answers with the per-session password; that password went to `gio mount`'s
 *   stdin and to nothing the window receives (the IPC replies and events are checked for it).
 * - Lock (manual, idle, quit) unmounts and stops the server, and names the files still open through
 *   the drive first; an upload cut off by the lock never enters the vault.
 * - "Copy password" goes from main to the clipboard and is cleared later only if still there.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServices, type AppServices } from '../../main/services';
import type { Command, RunResult } from '../../main/services/mount';
import { createHandlers } from '../../main/ipc';
import { createDispatch } from '../../main/ipc/router';
import type { EventChannel } from '../../preload/contract';
import { fakeSafeStorage } from '../e2e/harness';
import { basic, dav } from '../core/webdav/helpers';

interface Setup {
  s: AppServices;
  events: [EventChannel, unknown][];
  calls: Command[];
  clipboard: { text: string };
  vaultId: string;
  dir: string;
}

const services: AppServices[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of services.splice(0)) await s.shutdown().catch(() => undefined);
});

async function setup(opts: { gio?: boolean; clipboardClearMs?: number } = {}): Promise<Setup> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-drive-'));
  const events: [EventChannel, unknown][] = [];
  const calls: Command[] = [];
  const clipboard = { text: '' };
  const run = async (c: Command): Promise<RunResult> => {
    calls.push(c);
    if (c.file === 'gio' && opts.gio !== false) return { code: 0, stdout: '', stderr: '' };
    if (c.file === 'xdg-open') return { code: 0, stdout: '', stderr: '' };
    throw Object.assign(new Error(`spawn ${c.file} ENOENT`), { code: 'ENOENT' });
  };
  const s = await createServices({
    dataDir: path.join(dir, 'data'),
    safeStorage: fakeSafeStorage(),
    platform: 'linux',
    version: '0.0.0',
    emit: (c, p) => void events.push([c, p]),
    openPath: async () => '',
    dialogs: { pickFolder: async () => dir, pickFiles: async () => [], saveFile: async () => null },
    tempBase: dir,
    pollMs: 60 * 60_000,
    drive: {
      run,
      clipboard: { write: async (t) => void (clipboard.text = t), read: async () => clipboard.text },
      ...(opts.clipboardClearMs !== undefined ? { clipboardClearMs: opts.clipboardClearMs } : {}),
    },
  });
  services.push(s);
  const me = await s.identities.create('me');
  await s.dialogs.pickFolder('Folder for the new vault');
  const { vault } = await s.vaults.create({ dir: path.join(dir, 'v'), name: 'Team', passphrase: null, identityIds: [me.id], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });
  writeFileSync(path.join(dir, 'doc.txt'), 'hello drive');
  s.dialogs.approveDropped(path.join(dir, 'doc.txt'));
  await s.jobs.wait(s.vaults.addFiles(vault.id, [path.join(dir, 'doc.txt')], '/'));
  return { s, events, calls, clipboard, vaultId: vault.id, dir };
}

const passwordOf = (x: Setup): string => {
  const gio = x.calls.find((c) => c.file === 'gio' && c.args[0] === 'mount' && c.stdin !== undefined);
  return (gio?.stdin ?? '').trim();
};
const portOf = (url: string | null): number => Number(new URL(url ?? 'http://x:1/').port);

describe('DriveService', () => {
  it('mounts with gio (password on stdin), serves the vault with that password, and lock unmounts and stops it', async () => {
    const x = await setup();
    const st = await x.s.drive.mount(x.vaultId, false);
    expect(st).toMatchObject({ running: true, user: 'coffer', how: 'gio', readOnly: false });
    expect(st.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const password = passwordOf(x);
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    for (const c of x.calls) expect(c.args.join(' ')).not.toContain(password);

    const port = portOf(st.url);
    const list = await dav({ port }, 'PROPFIND', '/', { headers: { Depth: '1' }, auth: basic('coffer', password) });
    expect(list.status).toBe(207);
    expect(list.text).toContain('/doc.txt');
    expect((await dav({ port }, 'GET', '/doc.txt', { auth: basic('coffer', password) })).text).toBe('hello drive');
    expect((await dav({ port }, 'PROPFIND', '/', { headers: { Depth: '0' }, auth: basic('coffer', 'wrong') })).status).toBe(401);
    // A second mount while it runs: the same drive.
    expect((await x.s.drive.mount(x.vaultId, false)).url).toBe(st.url);

    await x.s.vaults.lock(x.vaultId, 'manual');
    expect(x.calls.at(-1)).toEqual({ file: 'gio', args: ['mount', '-u', `dav://coffer@127.0.0.1:${port}/`] });
    expect(x.s.drive.status(x.vaultId).running).toBe(false);
    await expect(dav({ port }, 'PROPFIND', '/', { headers: { Depth: '0' }, auth: basic('coffer', password) })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const log = x.s.activity.list(20).map((e) => `${e.action}: ${e.detail}`);
    expect(log.some((l) => l.startsWith('mount as drive: http://127.0.0.1:') && l.includes('mounted with gio'))).toBe(true);
    expect(log).toContain('drive stopped: stopped as the vault was locked');
    expect(x.events.filter(([c]) => c === 'event:drive').map(([, p]) => (p as { running: boolean }).running)).toEqual([true, false]);
  });

  it('lock names the files still open through the drive (an upload in flight, an editor\'s lock) and the cut upload never enters the vault', async () => {
    const x = await setup();
    const st = await x.s.drive.mount(x.vaultId, false);
    const port = portOf(st.url);
    const auth = basic('coffer', passwordOf(x));
    const locked = await dav({ port }, 'LOCK', '/doc.txt', {
      auth, headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(locked.status).toBe(200);
    const body = new PassThrough();
    const upload = dav({ port }, 'PUT', '/big.bin', { auth, body }).catch((e: Error) => e);
    body.write(Buffer.alloc(256 * 1024, 7));
    await vi.waitFor(() => expect(x.s.drive.status(x.vaultId).openFiles).toContainEqual({ path: '/big.bin', kind: 'upload' }));
    expect(x.s.drive.busy(x.vaultId)).toBe(true);
    expect(x.s.drive.status(x.vaultId).openFiles).toContainEqual({ path: '/doc.txt', kind: 'lock' });

    await x.s.vaults.lock(x.vaultId, 'manual');
    await upload;
    const notice = x.events.find(([c]) => c === 'event:notice');
    expect((notice?.[1] as { message: string }).message).toContain('/big.bin (upload in progress), /doc.txt (locked by an application)');
    const stopped = x.s.activity.list(20).find((e) => e.action === 'drive stopped');
    expect(stopped?.detail).toContain('still open through the drive: /big.bin (upload in progress), /doc.txt (locked by an application)');
    expect(stopped?.ok).toBe(false);

    // Unlock again: the vault holds doc.txt only (the cut upload was abandoned, not committed).
    const me = x.s.identities.list()[0];
    await x.s.vaults.unlock(x.vaultId, { kind: 'identity', identityId: me?.id ?? '' });
    expect((await x.s.vaults.listFiles(x.vaultId, '/')).entries.map((e) => e.name)).toEqual(['doc.txt']);
  });

  it('quit (shutdown) stops the drive too', async () => {
    const x = await setup();
    const port = portOf((await x.s.drive.mount(x.vaultId, true)).url);
    const auth = basic('coffer', passwordOf(x));
    expect((await dav({ port }, 'PUT', '/x.txt', { auth, body: 'x' })).status).toBe(403); // read-only drive
    await x.s.shutdown();
    await expect(dav({ port }, 'OPTIONS', '/', { auth })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(x.s.activity.list(20).some((e) => e.action === 'drive stopped' && e.detail.startsWith('stopped as Coffer quit'))).toBe(true);
  });

  it('an idle lock waits while an upload through the drive is streaming in, then locks', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const x = await setup();
    await x.s.settings.set({ autoLockMinutes: 1 });
    const port = portOf((await x.s.drive.mount(x.vaultId, false)).url);
    const body = new PassThrough();
    const upload = dav({ port }, 'PUT', '/slow.bin', { auth: basic('coffer', passwordOf(x)), body });
    body.write('partial ');
    await vi.waitFor(() => expect(x.s.drive.busy(x.vaultId)).toBe(true));
    await vi.advanceTimersByTimeAsync(61_000);
    expect(x.s.vaults.isUnlocked(x.vaultId)).toBe(true);
    body.end('done');
    expect((await upload).status).toBe(201);
    await vi.advanceTimersByTimeAsync(61_000);
    await vi.waitFor(() => expect(x.s.vaults.isUnlocked(x.vaultId)).toBe(false));
    expect(x.s.drive.status(x.vaultId).running).toBe(false);
  });

  it('without gio, falls back to the file manager URL and says so', async () => {
    const x = await setup({ gio: false });
    const st = await x.s.drive.mount(x.vaultId, false);
    expect(st).toMatchObject({ how: 'file-manager', location: `dav://coffer@127.0.0.1:${portOf(st.url)}/`, notes: ['gio mount: gio is not installed'] });
    expect(x.calls.map((c) => c.file)).toEqual(['gio', 'xdg-open']);
  });

  it('copy password: main writes it to the clipboard and clears it later only if it is still there', async () => {
    const x = await setup({ clipboardClearMs: 50 });
    await x.s.drive.mount(x.vaultId, false);
    const pw = passwordOf(x);
    expect(await x.s.drive.copyPassword(x.vaultId)).toEqual({ clearsAfterSeconds: 0 });
    expect(x.clipboard.text).toBe(pw);
    await vi.waitFor(() => expect(x.clipboard.text).toBe(''));
    await x.s.drive.copyPassword(x.vaultId);
    x.clipboard.text = 'something the person copied since';
    await new Promise((r) => setTimeout(r, 150));
    expect(x.clipboard.text).toBe('something the person copied since');
  });

  it('the password never crosses IPC: mount, status, copy and the events carry only URL and user (attack: read it from the window)', async () => {
    const x = await setup();
    const crossed: string[] = [];
    const dispatch = createDispatch(createHandlers(x.s), () => true, { onMessage: (_d, _c, p) => void crossed.push(JSON.stringify(p)) });
    const sender = { webContentsId: 1, frameUrl: 'file:///r/index.html', isMainFrame: true };
    const mounted = await dispatch('drive:mount', { vaultId: x.vaultId }, sender);
    expect(mounted.ok).toBe(true);
    await dispatch('drive:status', { vaultId: x.vaultId }, sender);
    await dispatch('drive:copyPassword', { vaultId: x.vaultId }, sender);
    const pw = passwordOf(x);
    // Positive control: the detector finds the password where it does go (the clipboard, gio's stdin).
    expect(x.clipboard.text.includes(pw) && pw.length > 0).toBe(true);
    const everything = [...crossed, ...x.events.map(([, p]) => JSON.stringify(p)), ...x.s.activity.list(50).map((e) => JSON.stringify(e))];
    expect(everything.length).toBeGreaterThan(3);
    for (const m of everything) expect(m).not.toContain(pw);
    // A locked vault cannot be mounted.
    await x.s.vaults.lock(x.vaultId, 'manual');
    const refused = await dispatch('drive:mount', { vaultId: x.vaultId }, sender);
    expect(refused).toMatchObject({ ok: false, error: { code: 'VAULT_LOCKED' } });
  });
});
