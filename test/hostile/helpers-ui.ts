/**
 * A compromised renderer page, for the UI attack tests: it calls the contract's channels directly
 * through the real router (main/ipc), with the sender check passing (it IS our window), against the
 * real services on temp folders. Only Electron's objects are stand-ins.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices, type AppServices, type Dialogs } from '../../main/services';
import { createHandlers } from '../../main/ipc';
import { createDispatch, ourWindowOnly, type SenderInfo } from '../../main/ipc/router';
import type { TransitPort } from '../../main/services/transit';
import type { Envelope } from '../../preload/contract';
import { fakeSafeStorage } from '../e2e/harness';

export interface HostilePage {
  readonly services: AppServices;
  readonly dir: string;
  /** What the "native" dialogs return next (the person's real choices). */
  readonly picks: { folders: (string | null)[]; files: string[][]; saves: (string | null)[]; modules: (string | null)[] };
  /** The page calls a channel directly, as a compromised renderer would. */
  call(channel: string, payload: unknown): Promise<Envelope<unknown>>;
  close(): Promise<void>;
}

export async function hostilePage(opts: { transitPort?: TransitPort; env?: NodeJS.ProcessEnv } = {}): Promise<HostilePage> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-hostile-ui-'));
  const picks = { folders: [] as (string | null)[], files: [] as string[][], saves: [] as (string | null)[], modules: [] as (string | null)[] };
  const dialogs: Dialogs = {
    pickFolder: async () => picks.folders.shift() ?? null,
    pickFiles: async () => picks.files.shift() ?? [],
    saveFile: async () => picks.saves.shift() ?? null,
    pickModule: async () => picks.modules.shift() ?? null,
  };
  const services = await createServices({
    dataDir: path.join(dir, 'data'),
    safeStorage: fakeSafeStorage(),
    platform: 'linux',
    version: '0.0.0-hostile',
    emit: () => undefined,
    openPath: async () => '',
    dialogs,
    tempBase: dir,
    pollMs: 60 * 60_000,
    env: { ...process.env, COFFER_PKCS11_MODULE: '', ...opts.env },
    ...(opts.transitPort ? { transitPort: opts.transitPort } : {}),
  });
  const page: SenderInfo = { webContentsId: 1, frameUrl: 'file:///app/dist/renderer/index.html', isMainFrame: true };
  const dispatch = createDispatch(createHandlers(services), ourWindowOnly(() => 1, 'file:///app/dist/renderer/'));
  return {
    services,
    dir,
    picks,
    call: (channel, payload) => dispatch(channel, payload, page),
    close: () => services.shutdown(),
  };
}
