/**
 * E2E only: the real preload API (createApi) with its transport routed through Playwright's
 * page.exposeBinding into the main-process handlers running in the test process. Bundled by the
 * E2E setup into an init script; never part of the app.
 */
import { createApi, type Transport } from './api';
import type { EventChannel } from './contract';

declare global {
  interface Window {
    __cofferInvoke(channel: string, request: unknown): Promise<unknown>;
    __cofferEmit(channel: string, payload: unknown): void;
    __cofferDropped(payload: unknown): Promise<void>;
    /** File name → path on disk, filled by the test before it drops files. */
    __cofferPaths: Map<string, string>;
  }
}

const listeners = new Map<EventChannel, Set<(payload: unknown) => void>>();
window.__cofferEmit = (channel, payload) => {
  for (const l of listeners.get(channel as EventChannel) ?? []) l(payload);
};
window.__cofferPaths = new Map();

const transport: Transport = {
  invoke: (channel, request) => window.__cofferInvoke(channel, request),
  subscribe(channel, listener) {
    let set = listeners.get(channel);
    if (!set) listeners.set(channel, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  },
  approveDroppedPath: (path) => void window.__cofferDropped({ path }),
};

const api = createApi(transport, (file) => window.__cofferPaths.get(file.name) ?? '');
Object.defineProperty(window, 'coffer', { value: Object.freeze(api), writable: false });
