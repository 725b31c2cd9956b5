/**
 * The real preload.ts against a stand-in electron module: window.coffer is exposed through
 * contextBridge, calls go through ipcRenderer.invoke, and unsubscribing removes the very function
 * that was added (the classic bug is wrapping a new closure and removing nothing).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const h = vi.hoisted(() => {
  const listeners = new Map<string, Set<(...a: unknown[]) => void>>();
  return {
    listeners,
    exposed: new Map<string, unknown>(),
    invoke: vi.fn(async (_c: string, _r: unknown): Promise<unknown> => ({ ok: true, value: { ok: true } })),
    send: vi.fn((_c: string, _p: unknown): void => undefined),
  };
});

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (k: string, v: unknown) => h.exposed.set(k, v) },
  ipcRenderer: {
    invoke: h.invoke,
    send: h.send,
    on: (c: string, l: (...a: unknown[]) => void) => {
      const s = h.listeners.get(c) ?? new Set();
      h.listeners.set(c, s);
      s.add(l);
    },
    removeListener: (c: string, l: (...a: unknown[]) => void) => h.listeners.get(c)?.delete(l),
  },
  webUtils: { getPathForFile: (f: { name: string }) => `/dropped/${f.name}` },
}));

describe('preload.ts', () => {
  beforeEach(() => vi.resetModules());

  it('exposes window.coffer built from the contract over ipcRenderer', async () => {
    const mod = await import('../../preload/preload');
    expect(h.exposed.get('coffer')).toBe(mod.api);
    await expect(mod.api.vaults.touch({ vaultId: 'v' })).resolves.toEqual({ ok: true });
    expect(h.invoke).toHaveBeenCalledWith('vaults:touch', { vaultId: 'v' });
    expect(mod.api.files.pathForFile({ name: 'x.pdf' } as File)).toBe('/dropped/x.pdf');
    expect(h.send).toHaveBeenCalledWith('files:dropped', { path: '/dropped/x.pdf' });
  });

  it('on* returns an unsubscribe that removes the registered listener', async () => {
    const mod = await import('../../preload/preload');
    const got: unknown[] = [];
    const off = mod.api.on.job((j) => got.push(j.id));
    expect(h.listeners.get('event:job')?.size).toBe(1);
    off();
    expect(h.listeners.get('event:job')?.size).toBe(0);
  });
});
