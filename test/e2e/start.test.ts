/**
 * `npm start` on a machine without an Electron binary (this one: the binary cannot be downloaded):
 * build/start.mjs builds, says it falls back to the browser window, and starts `coffer ui`; the
 * server serves the page; Chromium, opening the printed one-time address, renders the vault list.
 * Closing the page stops the server (after its grace period) and `npm start` exits 0.
 * The screenshot is test-artifacts/e2e/20-npm-start-browser-shell.png (and, with
 * COFFER_UPDATE_SCREENSHOTS=1, docs/screenshots/browser-shell.png).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, CHROMIUM, ROOT, requireChromium } from './harness';
import { runCoffer } from '../helpers/cli';

const electronDir = path.dirname(createRequire(__filename).resolve('electron/package.json'));
const hasElectron = existsSync(path.join(electronDir, 'path.txt'));

if (hasElectron) console.log('start.test: an Electron binary is present, so `npm start` runs the desktop app; the browser fallback is not exercised (skipped, not passed)');

describe('npm start without Electron', () => {
  let child: ChildProcess | null = null;
  afterAll(() => {
    if (child && child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
  });

  it.skipIf(hasElectron)('falls back to `coffer ui`, and Chromium renders the vault list', async () => {
    requireChromium();
    const home = mkdtempSync(path.join(os.tmpdir(), 'coffer-start-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, COFFER_UI_PASSPHRASE: 'npm start test store', COFFER_PASSPHRASE: 'a vault passphrase for the test' };
    delete env.XDG_CONFIG_HOME;
    delete env.COFFER_DATA_DIR;
    delete env.COFFER_SHELL;
    // A vault this person already has in their list.
    const vaultDir = path.join(home, 'Dropbox', 'Team documents');
    mkdirSync(path.dirname(vaultDir), { recursive: true });
    const init = await runCoffer(['vault', 'init', vaultDir, '--name', 'Team documents', '-p'], { env });
    expect(init.code, init.stderr).toBe(0);
    const id = (JSON.parse(readFileSync(path.join(vaultDir, 'coffer-vault.json'), 'utf8')) as { id: string }).id;
    const dataDir = path.join(home, '.config', 'coffer');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'vaults.json'), JSON.stringify([{ id, path: vaultDir, name: 'Team documents' }]));

    let out = '';
    const proc = spawn(process.execPath, [path.join(ROOT, 'build', 'start.mjs'), '--no-open'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    await expect.poll(() => /auth\?k=/.test(out), { timeout: 170_000, interval: 250 }).toBe(true);
    expect(out).toMatch(/starting Coffer in a browser window instead/);
    expect(out).toMatch(/could not be downloaded/);
    expect(out).toMatch(/private keys are kept in: passphrase-protected file/);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/auth\?k=[A-Za-z0-9_-]+)/.exec(out)?.[1] as string;

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1180, height: 780 }, colorScheme: 'light', locale: 'en-US' });
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      await page.getByRole('heading', { name: 'Vaults', exact: true, level: 1 }).waitFor({ timeout: 30_000 });
      await page.getByRole('listitem', { name: 'Team documents, locked' }).waitFor();
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, '20-npm-start-browser-shell.png');
      await page.screenshot({ path: shot });
      if (process.env.COFFER_UPDATE_SCREENSHOTS === '1') copyFileSync(shot, path.join(ROOT, 'docs', 'screenshots', 'browser-shell.png'));
      // The app knows its shell only by the capability flag.
      expect(await page.evaluate(async () => (await (window as unknown as { coffer: { app: { info(): Promise<{ shell: string }> } } }).coffer.app.info()).shell)).toBe('browser');
      await page.close();
    } finally {
      await browser.close();
    }
    expect(errors).toEqual([]);
    // The last page is gone: after the grace period the server locks everything and stops; npm start exits 0.
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped; every vault is locked/);
  });

});
