import { describe, expect, it, vi } from 'vitest';
import { createApi, type Transport } from '../../preload/api';
import type { EventChannel } from '../../preload/contract';

function fakeTransport(reply: (channel: string, req: unknown) => unknown) {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const approved: string[] = [];
  const t: Transport = {
    approveDroppedPath: (p) => void approved.push(p),
    invoke: vi.fn(async (c, r) => reply(c, r)),
    subscribe(c, l) {
      const s = listeners.get(c) ?? new Set();
      listeners.set(c, s);
      s.add(l);
      return () => void s.delete(l);
    },
  };
  const emit = (c: EventChannel, p: unknown) => listeners.get(c)?.forEach((l) => l(p));
  return { t, emit, approved, count: (c: string) => listeners.get(c)?.size ?? 0 };
}

describe('preload API', () => {
  it('unwraps values and rejects with the contract’s {code, message}', async () => {
    const { t } = fakeTransport((c) => (c === 'vaults:lock' ? { ok: false, error: { code: 'VAULT_LOCKED', message: 'locked' } } : { ok: true, value: { ok: true } }));
    const api = createApi(t, () => '');
    await expect(api.vaults.touch({ vaultId: 'v' })).resolves.toEqual({ ok: true });
    await expect(api.vaults.lock({ vaultId: 'v' })).rejects.toEqual({ code: 'VAULT_LOCKED', message: 'locked' });
  });

  it('validates requests before sending and replies after receiving', async () => {
    const { t } = fakeTransport(() => ({ ok: true, value: [{ not: 'a vault' }] }));
    const api = createApi(t, () => '');
    await expect(api.vaults.lock({ vaultId: '' })).rejects.toMatchObject({ code: 'USAGE' });
    expect(t.invoke).not.toHaveBeenCalled();
    await expect(api.vaults.list()).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('vaults:list reply') });
    await expect(createApi({ ...t, invoke: async () => 'garbage' }, () => '').vaults.list()).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('subscriptions deliver valid events and their unsubscribe really removes the listener', () => {
    const { t, emit, count } = fakeTransport(() => null);
    const api = createApi(t, () => '');
    const got: unknown[] = [];
    const off = api.on.vaultLocked((e) => got.push(e));
    expect(count('event:vaultLocked')).toBe(1);
    emit('event:vaultLocked', { vaultId: 'v', reason: 'idle' });
    emit('event:vaultLocked', { vaultId: 'v', reason: 'not a reason' });
    off();
    expect(count('event:vaultLocked')).toBe(0);
    emit('event:vaultLocked', { vaultId: 'v', reason: 'manual' });
    expect(got).toEqual([{ vaultId: 'v', reason: 'idle' }]);
  });

  it('gets dropped files’ paths from the injected webUtils and reports only real ones to main', () => {
    const file = { name: 'a.txt' } as File;
    const made = { name: 'fake.txt' } as File;
    const ft = fakeTransport(() => null);
    const api = createApi(ft.t, (f) => (f === file ? '/home/me/a.txt' : ''));
    expect(api.files.pathForFile(file)).toBe('/home/me/a.txt');
    expect(api.files.pathForFile(made)).toBe('');
    expect(ft.approved).toEqual(['/home/me/a.txt']);
  });
});
