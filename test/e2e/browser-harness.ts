/**
 * E2E harness for the browser shell: the REAL `coffer ui` server (main/web: startUi, the same
 * function the CLI runs) with the real services, router and WebSocket bridge, and Debian's
 * Chromium (playwright-core) opening its one-time URL like a person would. Nothing is stood in
 * except what belongs to the desktop: the local key store's passphrase comes from the environment,
 * "Open" is recorded instead of launching an application, and the picker's roots are the temp
 * folder (where the tests work) instead of the home folder.
 *
 * It offers the same AppUnderTest as harness.ts, so a journey runs on either shell.
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startUi, type RunningUi } from '../../main/web';
import type { TransitPort } from '../../main/services/transit';
import type { ServiceDeps } from '../../main/services';
import { ARTIFACTS, CHROMIUM, ROOT, ensureRendererBuilt, type AppUnderTest, type IpcMessage } from './harness';

const RENDERER = path.join(ROOT, 'dist', 'renderer');

let bridge: Promise<string> | null = null;
/** preload/browser.ts as one script, built from the sources under test (the build writes the same to dist/web). */
export function bridgeBundle(): Promise<string> {
  bridge ??= build({
    entryPoints: [path.join(ROOT, 'preload', 'browser.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]?.text ?? '');
  return bridge;
}

export interface BrowserApp extends AppUnderTest {
  readonly ui: RunningUi;
}

export interface BrowserStartOptions {
  name: string;
  transitPort?: TransitPort;
  env?: NodeJS.ProcessEnv;
  theme?: 'light' | 'dark';
  graceMs?: number;
  /** "Mount as drive": the command runner and clipboard (see ServiceDeps.drive). */
  drive?: ServiceDeps['drive'];
}

export async function startBrowserApp(opts: BrowserStartOptions): Promise<BrowserApp> {
  ensureRendererBuilt();
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `coffer-ui-${opts.name}-`));
  const profile = mkdtempSync(path.join(os.tmpdir(), `coffer-chromium-ui-${opts.name}-`));
  const messages: IpcMessage[] = [];
  const opened: string[] = [];
  const dragged: string[] = []; // stays empty: there is no OS drag from a page (drag-out is a download)
  const pageErrors: string[] = [];
  const ui = await startUi({
    rendererDir: RENDERER,
    bridgeScript: await bridgeBundle(),
    dataDir,
    env: { ...process.env, COFFER_UI_STORE: 'passphrase', COFFER_UI_PASSPHRASE: 'e2e local store passphrase', ...opts.env },
    roots: [{ label: 'Temp', path: os.tmpdir() }],
    graceMs: opts.graceMs ?? 120_000,
    tempBase: dataDir,
    jobConcurrency: 2,
    pollMs: 1000,
    hooks: { onMessage: (direction, channel, payload) => void messages.push({ direction, channel, json: JSON.stringify(payload) ?? 'undefined' }) },
    openPath: async (p) => (opened.push(p), ''),
    ...(opts.transitPort ? { transitPort: opts.transitPort } : {}),
    ...(opts.drive ? { drive: opts.drive } : {}),
  });
  if (opts.theme) await ui.services.settings.set({ theme: opts.theme });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1180, height: 780 },
    colorScheme: opts.theme ?? 'light',
    locale: 'en-US', // the journeys read English labels, whatever this machine's language
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(ui.shell.launchUrl);
  await page.getByRole('navigation', { name: 'Main' }).waitFor();

  const picker = page.getByTestId('picker');
  const goTo = async (dir: string): Promise<void> => {
    await picker.locator('ul[data-dir]:not([data-dir=""])').waitFor(); // the first listing is there
    await picker.getByLabel('Location').fill(dir);
    await picker.getByLabel('Location').press('Enter');
    // Wait for main's listing of that folder (the list names the folder it shows).
    await picker.locator(`ul[data-dir="${realpathSync(dir).replace(/["\\]/g, '\\$&')}"]`).waitFor().catch(async (e: unknown) => {
      await page.screenshot({ path: path.join(ARTIFACTS, `${opts.name}-picker-failed.png`) });
      throw e;
    });
  };

  return {
    name: opts.name,
    page,
    context,
    services: ui.services,
    ui,
    dataDir,
    messages,
    dialogs: { folders: [], files: [], saves: [], modules: [] },
    opened,
    dragged,
    pageErrors,
    async pick(kind, value, open) {
      const list = Array.isArray(value) ? value : [value];
      const one = list[0] ?? '';
      if (kind === 'folder') mkdirSync(one, { recursive: true });
      await open();
      await picker.waitFor();
      if (kind === 'folder') {
        await goTo(one);
        await picker.getByRole('button', { name: 'Choose this folder' }).click();
      } else if (kind === 'save') {
        await goTo(path.dirname(one));
        await picker.getByLabel('File name').fill(path.basename(one));
        await picker.getByRole('button', { name: 'Save' }).click();
      } else {
        await goTo(path.dirname(one));
        for (const f of list) await picker.getByRole('listitem').filter({ hasText: path.basename(f) }).getByRole(kind === 'module' ? 'radio' : 'checkbox').check();
        await picker.getByRole('button', { name: 'Choose', exact: true }).click();
      }
      await picker.waitFor({ state: 'detached' });
    },
    async exportTo(out, action) {
      // Export and drag-out are downloads here: the person saves the download as `out`.
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), action()]);
      await download.saveAs(out); // waits until the download has finished; throws if it failed
      const failure = await download.failure();
      if (failure) throw new Error(`the download of ${download.suggestedFilename()} failed: ${failure}`);
    },
    async screenshot(name, docs) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file });
      if (docs && process.env.COFFER_UPDATE_SCREENSHOTS === '1') {
        mkdirSync(path.join(ROOT, 'docs', 'screenshots'), { recursive: true });
        copyFileSync(file, path.join(ROOT, 'docs', 'screenshots', docs));
      }
      return file;
    },
    async drop(paths) {
      // A real drop of files from disk: the browser reads them (setInputFiles hands Chromium the
      // paths; nothing is loaded into the test), and the bridge uploads them to main.
      await page.evaluate(() => {
        for (const id of ['__drop_files', '__drop_dirs']) document.getElementById(id)?.remove();
        const a = document.createElement('input');
        a.type = 'file';
        a.multiple = true;
        a.id = '__drop_files';
        const b = document.createElement('input');
        b.type = 'file';
        b.id = '__drop_dirs';
        b.setAttribute('webkitdirectory', '');
        a.hidden = b.hidden = true;
        document.body.append(a, b);
      });
      const files = paths.filter((p) => !existsSync(p) || !isDir(p));
      const dirs = paths.filter((p) => existsSync(p) && isDir(p));
      if (files.length > 0) await page.setInputFiles('#__drop_files', files);
      for (const d of dirs) {
        await page.setInputFiles('#__drop_dirs', d);
        await page.evaluate(() => {
          const held = ((window as unknown as { __held?: File[] }).__held ??= []);
          held.push(...Array.from((document.getElementById('__drop_dirs') as HTMLInputElement).files ?? []));
        });
      }
      await page.evaluate(() => {
        const w = window as unknown as { __held?: File[] };
        const dt = new DataTransfer();
        for (const f of Array.from((document.getElementById('__drop_files') as HTMLInputElement).files ?? [])) dt.items.add(f);
        for (const f of w.__held ?? []) dt.items.add(f);
        w.__held = [];
        const zone = document.querySelector('[data-testid="dropzone"]');
        if (!zone) throw new Error('no drop zone on screen');
        for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      });
    },
    async crash() {
      // The browser and the server go; nothing is locked, saved or wiped.
      await context.close().catch(() => undefined);
      ui.services.saveback.stop();
      for (const v of await ui.services.vaults.list()) if (v.state === 'unlocked') ui.services.vaults.openVault(v.id)?.close();
      await ui.shell.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
    async close() {
      await context.close().catch(() => undefined);
      await ui.stop().catch(() => undefined);
      for (const d of [profile, dataDir]) rmSync(d, { recursive: true, force: true });
    },
  };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
