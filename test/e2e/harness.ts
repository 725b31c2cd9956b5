/**
 * E2E harness: the built renderer (dist/renderer) in Debian's Chromium, driven by playwright-core.
 * `window.coffer` is the REAL preload API (preload/api.ts createApi) whose transport goes through
 * page.exposeBinding into the REAL main-process handlers (main/ipc) and services (main/services),
 * running here in the test process on real temp folders. Only Electron's own objects are stand-ins:
 * safeStorage (AES-GCM with a per-run key), native dialogs (queues the test fills) and
 * shell.openPath (recorded).
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServices, type AppServices, type ServiceDeps } from '../../main/services';
import type { SafeStorageLike } from '../../main/services/secure-storage';
import type { TransitPort } from '../../main/services/transit';
import { createHandlers } from '../../main/ipc';
import { createDispatch, createDropHandler, createEventSink, ourWindowOnly } from '../../main/ipc/router';

export const ROOT = path.resolve(__dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'e2e');
const RENDERER = path.join(ROOT, 'dist', 'renderer');
const RENDERER_INDEX = path.join(RENDERER, 'index.html');

/** Builds the renderer when dist/renderer is missing or older than its sources. */
export function ensureRendererBuilt(): void {
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  const src = Math.max(newest(path.join(ROOT, 'renderer')), statSync(path.join(ROOT, 'preload', 'contract.ts')).mtimeMs, statSync(path.join(ROOT, 'vite.config.ts')).mtimeMs);
  const fresh = (): boolean => existsSync(RENDERER_INDEX) && existsSync(path.join(RENDERER, 'assets', 'app.js')) && newest(RENDERER) >= src;
  if (fresh()) return;
  // Test files run in parallel workers: one builds, the others wait for it.
  const lock = path.join(ROOT, 'dist', '.renderer-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held for over 2 minutes; remove it if no build is running`);
      execFileSync('sleep', ['0.2']);
      if (!existsSync(lock) && fresh()) return;
    }
  }
  try {
    if (!fresh()) execFileSync(process.execPath, [path.join(ROOT, 'build', 'build.mjs'), '--only=renderer'], { stdio: 'inherit', cwd: ROOT });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

let preloadScript: Promise<string> | null = null;
/** preload/e2e-entry.ts (createApi over the exposeBinding transport) as one browser script. */
function preloadBundle(): Promise<string> {
  preloadScript ??= build({
    entryPoints: [path.join(ROOT, 'preload', 'e2e-entry.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]?.text ?? '');
  return preloadScript;
}

/** A stand-in for Electron's safeStorage: real AES-256-GCM under a key that lives only in this process. */
export function fakeSafeStorage(backend = 'gnome_libsecret'): SafeStorageLike {
  const key = randomBytes(32);
  return {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => backend,
    encryptString(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(sealed) {
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

export interface IpcMessage {
  readonly direction: 'request' | 'response';
  readonly channel: string;
  readonly json: string;
}

export interface AppUnderTest {
  readonly name: string;
  readonly page: Page;
  readonly context: BrowserContext;
  readonly services: AppServices;
  readonly dataDir: string;
  /** Every message that crossed IPC, both directions, events included. */
  readonly messages: IpcMessage[];
  /** What the next native dialogs return. */
  readonly dialogs: { folders: (string | null)[]; files: string[][]; saves: (string | null)[]; modules: (string | null)[] };
  /**
   * The person picks `value` in the dialog that `open` brings up (a native dialog in Electron,
   * stood in here by the queues above). Folders are created first, as they would already exist.
   */
  pick(kind: 'folder' | 'files' | 'save' | 'module', value: string | string[], open: () => Promise<void>): Promise<void>;
  /** Paths passed to shell.openPath. */
  readonly opened: string[];
  /** Files handed to webContents.startDrag. */
  readonly dragged: string[];
  /** Console errors and uncaught page errors (CSP violations show up here). */
  readonly pageErrors: string[];
  /** Saves test-artifacts/e2e/NAME.png; with COFFER_UPDATE_SCREENSHOTS=1 also docs/screenshots/DOCS. */
  screenshot(name: string, docs?: string): Promise<string>;
  /**
   * The person exports a file to `out` through whatever `action` starts: the native Save dialog in
   * Electron (answered with `out`), a download in the browser shell (saved as `out`). Resolves once
   * `out` is complete.
   */
  exportTo(out: string, action: () => Promise<void>): Promise<void>;
  /** Drops files/folders from disk onto the file browser, as a drag from the file manager does. */
  drop(paths: string[]): Promise<void>;
  close(): Promise<void>;
  /**
   * A crash: the window goes and the services stop watching, without locking, saving or wiping
   * anything; the data folder stays for a next startApp({ dataDir }).
   */
  crash?(): Promise<void>;
}

export interface StartOptions {
  name: string;
  transitPort?: TransitPort;
  storageBackend?: string;
  env?: NodeJS.ProcessEnv;
  theme?: 'light' | 'dark';
  /** Reuse the data folder of an earlier (crashed) run instead of a fresh one. */
  dataDir?: string;
  /** Save-back timing and host name (see ServiceDeps.saveback). */
  saveback?: { debounceMs?: number; pollMs?: number; hostName?: string };
  /** "Mount as drive": the command runner and clipboard (see ServiceDeps.drive). */
  drive?: ServiceDeps['drive'];
}

const WINDOW_ID = 1;

export async function startApp(opts: StartOptions): Promise<AppUnderTest> {
  ensureRendererBuilt();
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), `coffer-e2e-${opts.name}-`));
  const profile = mkdtempSync(path.join(os.tmpdir(), `coffer-chromium-${opts.name}-`));
  const messages: IpcMessage[] = [];
  const record = (direction: 'request' | 'response', channel: string, payload: unknown): void => {
    messages.push({ direction, channel, json: JSON.stringify(payload) ?? 'undefined' });
  };
  const dialogs = { folders: [] as (string | null)[], files: [] as string[][], saves: [] as (string | null)[], modules: [] as (string | null)[] };
  const opened: string[] = [];
  const dragged: string[] = [];
  const pageErrors: string[] = [];
  let page: Page | null = null;
  const sink = createEventSink((channel, payload) => {
    void page?.evaluate(([c, p]) => window.__cofferEmit(c as string, p), [channel, payload] as const).catch(() => undefined);
  }, { onMessage: record });

  const services = await createServices({
    dataDir,
    safeStorage: fakeSafeStorage(opts.storageBackend),
    platform: 'linux',
    version: '0.1.0-e2e',
    emit: (c, p) => sink(c, p),
    openPath: async (p) => {
      opened.push(p);
      return '';
    },
    startDrag: (id, file) => {
      if (id === WINDOW_ID) dragged.push(file);
    },
    dialogs: {
      pickFolder: async () => dialogs.folders.shift() ?? null,
      pickFiles: async () => dialogs.files.shift() ?? [],
      saveFile: async () => dialogs.saves.shift() ?? null,
      pickModule: async () => dialogs.modules.shift() ?? null,
    },
    tempBase: dataDir,
    env: { ...process.env, ...opts.env },
    jobConcurrency: 2,
    pollMs: 1000,
    saveback: { debounceMs: 300, ...opts.saveback },
    ...(opts.transitPort ? { transitPort: opts.transitPort } : {}),
    ...(opts.drive ? { drive: opts.drive } : {}),
  });
  if (opts.theme) await services.settings.set({ theme: opts.theme });
  const rendererPrefix = pathToFileURL(RENDERER + path.sep).toString();
  const isOurs = ourWindowOnly(() => WINDOW_ID, rendererPrefix);
  const dispatch = createDispatch(createHandlers(services), isOurs, { onMessage: record });
  const dropped = createDropHandler(isOurs, (f) => services.dialogs.approveDropped(f));

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1180, height: 780 },
    colorScheme: opts.theme ?? 'light',
    locale: 'en-US', // the journeys read English labels, whatever this machine's language (german.test.ts switches in Settings)
  });
  const p = context.pages()[0] ?? (await context.newPage());
  page = p;
  p.setDefaultTimeout(15_000);
  p.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.exposeBinding('__cofferInvoke', (source, channel: string, payload: unknown) =>
    dispatch(channel, payload, { webContentsId: WINDOW_ID, frameUrl: source.frame.url(), isMainFrame: source.frame === p.mainFrame() }),
  );
  await p.exposeBinding('__cofferDropped', (source, payload: unknown) => {
    record('request', 'files:dropped', payload);
    dropped({ webContentsId: WINDOW_ID, frameUrl: source.frame.url(), isMainFrame: source.frame === p.mainFrame() }, payload);
  });
  await p.addInitScript({ content: await preloadBundle() });
  await p.goto(pathToFileURL(RENDERER_INDEX).toString());
  await p.getByRole('navigation', { name: 'Main' }).waitFor();

  return {
    name: opts.name,
    page: p,
    context,
    services,
    dataDir,
    messages,
    dialogs,
    opened,
    dragged,
    pageErrors,
    async pick(kind, value, open) {
      const one = Array.isArray(value) ? (value[0] ?? '') : value;
      if (kind === 'folder') {
        mkdirSync(one, { recursive: true });
        dialogs.folders.push(one);
      } else if (kind === 'files') dialogs.files.push(Array.isArray(value) ? value : [value]);
      else if (kind === 'save') dialogs.saves.push(one);
      else dialogs.modules.push(one);
      await open();
    },
    async exportTo(out, action) {
      dialogs.saves.push(out);
      await action();
      // The export job writes a temp file and renames it into place: `out` appears complete.
      for (const until = Date.now() + 60_000; !existsSync(out); ) {
        if (Date.now() > until) throw new Error(`the export to ${out} did not finish within a minute`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async screenshot(name, docs) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await p.screenshot({ path: file });
      if (docs && process.env.COFFER_UPDATE_SCREENSHOTS === '1') {
        mkdirSync(path.join(ROOT, 'docs', 'screenshots'), { recursive: true });
        copyFileSync(file, path.join(ROOT, 'docs', 'screenshots', docs));
      }
      return file;
    },
    async drop(paths) {
      await p.evaluate((items) => {
        const dt = new DataTransfer();
        for (const it of items) {
          const f = new File([''], it.name);
          window.__cofferPaths.set(it.name, it.path);
          dt.items.add(f);
        }
        const zone = document.querySelector('[data-testid="dropzone"]');
        if (!zone) throw new Error('no drop zone on screen');
        for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }, paths.map((x) => ({ name: path.basename(x), path: x })));
    },
    async crash() {
      await context.close().catch(() => undefined);
      services.saveback.stop();
      for (const v of await services.vaults.list()) if (v.state === 'unlocked') services.vaults.openVault(v.id)?.close();
      rmSync(profile, { recursive: true, force: true });
    },
    async close() {
      await context.close().catch(() => undefined);
      await services.shutdown().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Checks the Chromium binary is there; throws with the reason otherwise (the test then fails, never passes silently). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does) to run the renderer E2E tests`);
}

export function tempDir(name: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `coffer-e2e-${name}-`));
}
