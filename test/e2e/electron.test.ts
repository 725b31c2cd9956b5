/**
 * The real app in real Electron, through Playwright's _electron. The Electron binary cannot be
 * downloaded in this environment (the npm package is installed for its types only), so where it is
 * missing this test prints why and is reported as SKIPPED, never as passed. Set ELECTRON_PATH, or
 * let `npx electron` install its binary, to run it.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness';

function electronBinary(): { path: string | null; why: string } {
  if (process.env.ELECTRON_PATH) return existsSync(process.env.ELECTRON_PATH) ? { path: process.env.ELECTRON_PATH, why: '' } : { path: null, why: `ELECTRON_PATH=${process.env.ELECTRON_PATH} does not exist` };
  const pkg = path.join(ROOT, 'node_modules', 'electron');
  const txt = path.join(pkg, 'path.txt');
  if (!existsSync(txt)) return { path: null, why: `no Electron binary: ${txt} is missing (the electron package's install script did not download Electron; it is blocked here, see package.json "allowScripts")` };
  const bin = path.join(pkg, 'dist', readFileSync(txt, 'utf8').trim());
  return existsSync(bin) ? { path: bin, why: '' } : { path: null, why: `no Electron binary at ${bin}` };
}

const found = electronBinary();
if (!found.path) console.warn(`[electron.test] NOT RUN, reported as skipped: ${found.why}`);

describe('real Electron', () => {
  it.skipIf(!found.path)(`launches the hardened app${found.path ? '' : ` (skipped: ${found.why})`}`, async () => {
    const app = await electron.launch({
      executablePath: found.path as string,
      args: [ROOT, `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'coffer-electron-'))}`, '--no-sandbox'],
      env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
    });
    try {
      const win = await app.firstWindow();
      await win.getByRole('navigation', { name: 'Main' }).waitFor();
      expect(await win.title()).toBe('Coffer');
      // Isolation: no Node in the page, the API is there and goes through real IPC.
      expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
      expect(await win.evaluate(() => typeof (globalThis as unknown as { process?: unknown }).process)).toBe('undefined');
      const info = await win.evaluate(() => window.coffer.app.info());
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      const prefs = await app.evaluate(({ BrowserWindow }) => {
        const w = BrowserWindow.getAllWindows()[0];
        return w ? { url: w.webContents.getURL() } : null;
      });
      expect(prefs?.url.startsWith('file://')).toBe(true);
      // Navigation away is denied.
      await win.evaluate(() => {
        window.location.href = 'https://example.com/';
      });
      await win.waitForTimeout(500);
      expect(win.url().startsWith('file://')).toBe(true);
    } finally {
      await app.close();
    }
  });
});
