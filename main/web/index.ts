/**
 * `coffer ui`: the app where Electron cannot run. The same services as the Electron app, served
 * to a browser page on 127.0.0.1 (server.ts) with the in-app picker for dialogs, a local key store
 * for safeStorage (storage.ts), and the desktop's default apps for "Open" (open.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices, type AppServices, type ServiceDeps } from '../services';
import { PickerService, type PickerOptions } from '../services/picker';
import type { DispatchHooks } from '../ipc/router';
import type { TransitPort } from '../services/transit';
import { openLocalStore } from './storage';
import { openWithSystem } from './open';
import { lateSink, startWebShell, type WebShell } from './server';

export const VERSION = '0.1.0';

/** The app's data folder: the same one the Electron app uses (its userData), unless COFFER_DATA_DIR says otherwise. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.COFFER_DATA_DIR) return env.COFFER_DATA_DIR;
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'coffer');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'coffer');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'coffer');
}

/** dist/renderer and dist/web/coffer-bridge.js, next to the built CLI or under the repository's dist/. */
export function findDist(env: NodeJS.ProcessEnv = process.env): { rendererDir: string; bridgeFile: string } {
  const bases = [env.COFFER_UI_DIST, path.join(__dirname, '..'), path.join(__dirname, '..', '..', 'dist')].filter((b): b is string => !!b);
  for (const b of bases) {
    const rendererDir = path.join(b, 'renderer');
    const bridgeFile = path.join(b, 'web', 'coffer-bridge.js');
    if (existsSync(path.join(rendererDir, 'index.html')) && existsSync(bridgeFile)) return { rendererDir, bridgeFile };
  }
  throw new Error('the built app is missing (dist/renderer and dist/web): run `npm run build` first');
}

export interface UiOptions {
  port?: number;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  rendererDir: string;
  bridgeScript: string;
  /** Asks for the local key store's passphrase when no keyring answers (terminal). */
  askPassphrase?: (firstTime: boolean) => Promise<string | null>;
  /** Picker roots (default: home and mounted volumes). */
  roots?: PickerOptions['roots'];
  graceMs?: number;
  tempBase?: string;
  hooks?: DispatchHooks;
  /** Replaces the desktop's "open with default app" (tests). */
  openPath?: (p: string) => Promise<string>;
  /** Called once when the server has shut down (last page gone, or stop()). */
  onStopped?: () => void;
  jobConcurrency?: number;
  pollMs?: number;
  /** Replaces the Transit connection (tests). */
  transitPort?: TransitPort;
  /** "Mount as drive": the command runner and clipboard (tests; default: the platform's programs). */
  drive?: ServiceDeps['drive'];
}

export interface RunningUi {
  readonly shell: WebShell;
  readonly services: AppServices;
  readonly storage: string;
  /** Locks every vault, wipes the "Open" folder, closes the server (idempotent). */
  stop(): Promise<void>;
}

export async function startUi(opts: UiOptions): Promise<RunningUi> {
  const env = opts.env ?? process.env;
  const dataDir = opts.dataDir ?? defaultDataDir(env);
  const store = await openLocalStore({ dataDir, env, ...(opts.askPassphrase ? { askPassphrase: opts.askPassphrase } : {}) });
  const sink = lateSink();
  const picker = new PickerService({ emit: sink.emit, ...(opts.roots ? { roots: opts.roots } : {}) });
  let shell: WebShell | null = null;
  const services = await createServices({
    dataDir,
    safeStorage: store,
    platform: process.platform,
    version: VERSION,
    emit: sink.emit,
    openPath: opts.openPath ?? ((p) => openWithSystem(p, process.platform, env)),
    // Export and drag-out are downloads (files:exportDownload); there is no OS drag from a page.
    offerDownload: (connectionId, d) => {
      if (!shell) throw new Error('the server is not running yet');
      return shell.offerDownload(connectionId, d);
    },
    dialogs: picker.dialogs(),
    shell: 'browser',
    picker,
    env,
    ...(opts.tempBase ? { tempBase: opts.tempBase } : {}),
    ...(opts.jobConcurrency ? { jobConcurrency: opts.jobConcurrency } : {}),
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
    ...(opts.drive ? { drive: opts.drive } : {}),
    ...(opts.transitPort ? { transitPort: opts.transitPort } : {}),
  });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await services.shutdown().catch(() => undefined);
      await shell?.close().catch(() => undefined);
      opts.onStopped?.();
    })());
  shell = await startWebShell({
    services,
    rendererDir: opts.rendererDir,
    bridgeScript: opts.bridgeScript,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
    onIdle: () => void stop(),
  });
  sink.attach(shell);
  return { shell, services, storage: services.storage.backend(), stop };
}

/** Reads the built files for startUi. */
export function builtAssets(env: NodeJS.ProcessEnv = process.env): { rendererDir: string; bridgeScript: string } {
  const { rendererDir, bridgeFile } = findDist(env);
  return { rendererDir, bridgeScript: readFileSync(bridgeFile, 'utf8') };
}
