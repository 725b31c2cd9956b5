import { describe, expect, it, vi } from 'vitest';
import { CofferError } from '../../main/core/errors';
import { createDispatch, createDropHandler, createEventSink, ourWindowOnly, registerIpc, type Handlers, type IpcMainLike, type SenderInfo } from '../../main/ipc/router';
import { channels } from '../../preload/contract';

const ours: SenderInfo = { webContentsId: 7, frameUrl: 'file:///app/dist/renderer/index.html', isMainFrame: true };
const check = ourWindowOnly(() => 7, 'file:///app/dist/renderer/');

/** Handlers that fail loudly if a channel is called that the test did not expect. */
function handlers(over: Partial<Handlers>): Handlers {
  const h = {} as Record<string, unknown>;
  for (const c of Object.keys(channels)) h[c] = () => Promise.reject(new Error(`unexpected call to ${c}`));
  return { ...(h as Handlers), ...over };
}

describe('IPC router', () => {
  it('accepts only our window’s main frame showing our page', async () => {
    const info = vi.fn(() => ({ version: '1', platform: 'linux', storageBackend: 'os', storageWarning: null, shell: 'electron' as const }));
    const d = createDispatch(handlers({ 'app:info': info }), check);
    expect(await d('app:info', {}, ours)).toEqual({ ok: true, value: { version: '1', platform: 'linux', storageBackend: 'os', storageWarning: null, shell: 'electron' as const } });
    for (const bad of [
      { ...ours, webContentsId: 8 },
      { ...ours, isMainFrame: false },
      { ...ours, frameUrl: 'https://evil.example/' },
      { ...ours, frameUrl: 'file:///app/dist/renderer-evil/x.html' },
    ]) {
      const r = await d('app:info', {}, bad);
      expect(r).toEqual({ ok: false, error: { code: 'USAGE', message: expect.stringContaining('did not come from a Coffer window') } });
    }
    expect(info).toHaveBeenCalledTimes(1);
  });

  it('validates requests with the contract before the handler runs', async () => {
    const lock = vi.fn(() => ({ ok: true as const }));
    const d = createDispatch(handlers({ 'vaults:lock': lock }), check);
    const r = await d('vaults:lock', { vaultId: 42 }, ours);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('USAGE');
    expect(!r.ok && r.error.message).toContain('vaultId');
    expect(await d('vaults:nope', {}, ours)).toEqual({ ok: false, error: { code: 'USAGE', message: 'unknown channel vaults:nope' } });
    expect(lock).not.toHaveBeenCalled();
  });

  it('maps thrown errors to {code, message} and never sends a stack', async () => {
    const d = createDispatch(handlers({
      'vaults:lock': () => {
        throw new CofferError('VAULT_BUSY', 'another Coffer is writing this vault');
      },
      'vaults:touch': () => {
        throw Object.assign(new Error('ENOENT: x'), { code: 'ENOENT', path: '/v' });
      },
    }), check);
    expect(await d('vaults:lock', { vaultId: 'v' }, ours)).toEqual({ ok: false, error: { code: 'VAULT_BUSY', message: 'another Coffer is writing this vault' } });
    const r = await d('vaults:touch', { vaultId: 'v' }, ours);
    expect(r).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: '/v: no such file or directory' } });
    expect(JSON.stringify(r)).not.toContain('at ');
  });

  it('strips reply fields that are not in the contract (a key can never ride along)', async () => {
    const d = createDispatch(handlers({
      'identities:create': () => ({ id: 'i', label: 'me', recipient: 'coffer1x', fingerprint: 'ab', created: 'now', protection: 'os-keychain', secretKey: 'AAAA', sealed: 'BBBB' }) as never,
    }), check);
    const r = await d('identities:create', { label: 'me' }, ours);
    expect(r.ok && Object.keys(r.value as object).sort()).toEqual(['created', 'fingerprint', 'id', 'label', 'protection', 'recipient']);
  });

  it('refuses a reply that breaks the contract', async () => {
    const d = createDispatch(handlers({ 'jobs:list': () => [{ id: 1 }] as never }), check);
    expect(await d('jobs:list', {}, ours)).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'jobs:list: the reply did not match the contract' } });
  });

  it('audits every message in both directions', async () => {
    const seen: string[] = [];
    const d = createDispatch(handlers({ 'vaults:touch': () => ({ ok: true as const }) }), check, { onMessage: (dir, ch) => seen.push(`${dir}:${ch}`) });
    await d('vaults:touch', { vaultId: 'v' }, ours);
    expect(seen).toEqual(['request:vaults:touch', 'response:vaults:touch']);
  });

  it('sends events through their schema only', () => {
    const sent: [string, unknown][] = [];
    const emit = createEventSink((c, p) => sent.push([c, p]));
    emit('event:vaultLocked', { vaultId: 'v', reason: 'idle', extra: 'dropped' } as never);
    emit('event:vaultLocked', { vaultId: 'v', reason: 'bogus' } as never);
    expect(sent).toEqual([['event:vaultLocked', { vaultId: 'v', reason: 'idle' }]]);
  });

  it('registers one handler per contract channel on ipcMain and removes them all', async () => {
    const registered = new Map<string, (e: { sender: { id: number }; senderFrame: { url: string; parent: unknown } | null }, p: unknown) => Promise<unknown>>();
    const ipc: IpcMainLike = { handle: (c, l) => void registered.set(c, l), removeHandler: (c) => void registered.delete(c) };
    const d = createDispatch(handlers({ 'vaults:touch': () => ({ ok: true as const }) }), check);
    const off = registerIpc(ipc, d);
    expect([...registered.keys()].sort()).toEqual(Object.keys(channels).sort());
    const l = registered.get('vaults:touch');
    expect(await l?.({ sender: { id: 7 }, senderFrame: { url: ours.frameUrl, parent: null } }, { vaultId: 'v' })).toEqual({ ok: true, value: { ok: true } });
    expect(await l?.({ sender: { id: 7 }, senderFrame: { url: ours.frameUrl, parent: {} } }, { vaultId: 'v' })).toMatchObject({ ok: false });
    off();
    expect(registered.size).toBe(0);
  });

  it('accepts dropped-path reports only from our window, validated', () => {
    const got: string[] = [];
    const h = createDropHandler(check, (p) => got.push(p));
    h(ours, { path: '/home/me/a.txt' });
    h({ ...ours, webContentsId: 9 }, { path: '/etc/shadow' });
    h({ ...ours, isMainFrame: false }, { path: '/etc/shadow' });
    h(ours, { path: 42 });
    expect(got).toEqual(['/home/me/a.txt']);
  });
});
