/**
 * "Mount as drive" in the window (issue 10 part 2), real Chromium on the real services and a real
 * WebDAV server. Only the platform's programs are stood in: `gio` is absent (the runner answers
 * ENOENT, as spawn does when it is not installed), so the panel falls back to opening the dav://
 * URL in the file manager and shows the address and user. A real WebDAV client (curl) then lists
 * and writes the vault with the password "Copy password" put on the (stand-in) clipboard; the
 * password never crosses IPC. Lock first names the file curl still holds a lock on, then unmounts:
 * the server is gone.
 *
 * Runs on both shells: the Electron harness and the browser shell (`coffer ui`).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command, RunResult } from '../../main/services/mount';
import { startBrowserApp } from './browser-harness';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';
import { createFirstVault } from './journeys';

const PASS = 'drive e2e passphrase';

/** curl, run without blocking this process (the server under test lives in it). */
function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '20', ...args], { encoding: 'utf8' }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

function platformWithoutGio(): { run: (c: Command) => Promise<RunResult>; calls: Command[] } {
  const calls: Command[] = [];
  return {
    calls,
    run: async (c) => {
      calls.push(c);
      if (c.file === 'xdg-open') return { code: 0, stdout: '', stderr: '' };
      throw Object.assign(new Error(`spawn ${c.file} ENOENT`), { code: 'ENOENT' });
    },
  };
}

async function createVaultWithFile(app: AppUnderTest, work: string): Promise<void> {
  const { page } = app;
  const vaultDir = path.join(work, 'Vaults', 'Team files');
  const src = path.join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'notes.txt'), 'notes in the vault');
  await createFirstVault(app, { pickIn: path.dirname(vaultDir), dir: vaultDir, name: 'Team files', passphrase: PASS });
  await app.drop([path.join(src, 'notes.txt')]);
  await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'notes.txt' }).waitFor();
}

const LOCK_BODY = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>curl</D:owner></D:lockinfo>';

async function journey(app: AppUnderTest, calls: Command[], clipboard: { text: string }, work: string, shot: string, docs?: string): Promise<void> {
  const { page } = app;
  await createVaultWithFile(app, work);
  await page.getByRole('tab', { name: 'Drive' }).click();
  await page.getByRole('heading', { name: 'Mount as drive' }).waitFor();
  await page.getByRole('button', { name: 'Mount as drive' }).click();
  await page.getByText('Your file manager was opened on the drive.').waitFor();
  const url = (await page.getByTestId('drive-url').textContent()) ?? '';
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(await page.getByTestId('drive-user').textContent()).toBe('coffer');
  const port = new URL(url).port;
  // gio was tried (absent), then the file manager got the dav:// URL (no password in it).
  expect(calls.map((c) => c.file)).toEqual(['gio', 'xdg-open']);
  expect(calls[1]?.args).toEqual([`dav://coffer@127.0.0.1:${port}/`]);
  await page.getByText('What the system said').click();
  await page.getByText('gio mount: gio is not installed').waitFor();

  await page.getByRole('button', { name: 'Copy password' }).click();
  await page.getByText(/The password is on the clipboard/).waitFor();
  const password = clipboard.text;
  expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect(calls[0]?.stdin).toBe(`${password}\n`);
  await app.screenshot(shot, docs);

  // A real WebDAV client with those credentials: list, write, read back.
  const auth = ['-u', `coffer:${password}`];
  const list = await curl([...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', '-w', '\n%{http_code}', url]);
  expect(list.code).toBe(0);
  expect(list.stdout.trim().endsWith('207')).toBe(true);
  expect(list.stdout).toContain('<D:href>/notes.txt</D:href>');
  expect((await curl([...auth, '-X', 'PUT', '--data-binary', 'written through the drive', '-w', '%{http_code}', `${url}from-drive.txt`])).stdout).toBe('201');
  expect((await curl([...auth, `${url}notes.txt`])).stdout).toBe('notes in the vault');
  expect((await curl(['-u', 'coffer:wrong', '-X', 'PROPFIND', '-H', 'Depth: 0', '-o', '/dev/null', '-w', '%{http_code}', url])).stdout).toBe('401');
  // What the drive wrote is in the vault, as the window shows it.
  await page.getByRole('tab', { name: 'Files' }).click();
  await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'from-drive.txt' }).waitFor();

  // An editor (curl) holds a lock on notes.txt: Lock names it before it unmounts.
  const locked = await curl([...auth, '-X', 'LOCK', '-H', 'Content-Type: application/xml', '-H', 'Timeout: Second-600', '--data-binary', LOCK_BODY, '-w', '\n%{http_code}', `${url}notes.txt`]);
  expect(locked.stdout.trim().endsWith('200')).toBe(true);
  await page.getByRole('button', { name: 'Lock', exact: true }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Files open through the drive' });
  await confirm.getByText('/notes.txt').waitFor();
  await confirm.getByText('(locked by an application)').waitFor();
  await app.screenshot(`${shot}-lock-confirm`);
  await confirm.getByRole('button', { name: 'Lock anyway' }).click();
  await page.getByRole('button', { name: 'Unlock' }).waitFor();
  // The server is gone (curl exit 7: could not connect), and the activity log says what was open.
  expect((await curl([...auth, '-X', 'PROPFIND', '-H', 'Depth: 0', url])).code).toBe(7);
  const stopped = app.services.activity.list(50).find((e) => e.action === 'drive stopped');
  expect(stopped?.detail).toBe('stopped as the vault was locked; still open through the drive: /notes.txt (locked by an application)');

  // The password crossed nothing the window receives.
  expect(app.messages.length).toBeGreaterThan(10);
  for (const m of app.messages) expect(m.json).not.toContain(password);
  expect(app.pageErrors).toEqual([]);
}

describe('mount as drive in the window', () => {
  const apps: AppUnderTest[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  it('Electron shell: mount via the panel without gio, a real client uses the drive, lock names the open file and stops it', async () => {
    requireChromium();
    const work = tempDir('drive');
    const platform = platformWithoutGio();
    const clipboard = { text: '' };
    const app = await startApp({ name: 'drive', drive: { run: platform.run, clipboard: { write: async (t) => void (clipboard.text = t), read: async () => clipboard.text } } });
    apps.push(app);
    await journey(app, platform.calls, clipboard, work, 'drive-panel', 'drive-panel.png');
  }, 180_000);

  it('browser shell (coffer ui): the same journey', async () => {
    requireChromium();
    const work = tempDir('drive-ui');
    const platform = platformWithoutGio();
    const clipboard = { text: '' };
    const app = await startBrowserApp({ name: 'drive-ui', drive: { run: platform.run, clipboard: { write: async (t) => void (clipboard.text = t), read: async () => clipboard.text } } });
    apps.push(app);
    await journey(app, platform.calls, clipboard, work, 'drive-panel-browser');
  }, 180_000);
});
