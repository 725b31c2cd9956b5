/**
 * The browser shell's upload and download routes (main/web/server.ts), attacked and used over real
 * HTTP against the real server (startUi, as `coffer ui` runs it), with real Chromium as the page.
 *
 * Downloads (export and drag-out): each refusal is the attack itself, followed by a positive control
 * with the same token, so a refusal cannot come from a bad token:
 * - the URL without the session cookie: 401; a foreign Host: 421; a foreign Origin or a cross-site
 *   request: 403; a script's fetch() of the URL from our own page: 403 (plaintext never reaches page
 *   script; the control is the same page's link download);
 * - a token used once, made up, expired, or issued to a page that has gone: refused;
 * - after a download, no plaintext is left in any temp folder of the app (the private temp folder,
 *   the vault's tmp/). The old drag-out served a decrypted copy from the private temp folder (the
 *   passphrase journey asserted it was there until lock), so it fails this check;
 * - a tampered blob: the response is broken off short of its Content-Length (the browser marks the
 *   download failed), never completed with unauthenticated bytes;
 * - a browser that cancels the download mid-way cancels the export job;
 * - a folder is one .zip (checked with Info-ZIP's unzip, not the library that wrote it);
 * - in Electron (no download route) the channel is refused.
 * Checked against a weakened server: without the single-use delete the reuse check fails (200), and
 * without the Sec-Fetch-Mode check the page's fetch() gets the plaintext (200).
 * Uploads: a file that has arrived is listed while the next is still coming; a client hanging up
 * mid-upload fails the job, drops its staged bytes, and the server carries on.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startUi, type RunningUi } from '../../main/web';
import { attachment, DOWNLOAD_TTL_MS } from '../../main/web/server';
import { createServices } from '../../main/services';
import { createHandlers } from '../../main/ipc';
import { createDispatch } from '../../main/ipc/router';
import { bridgeBundle } from '../e2e/browser-harness';
import { CHROMIUM, ROOT, ensureRendererBuilt, fakeSafeStorage, requireChromium } from '../e2e/harness';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The response ended early (the server broke it off). */
  aborted: boolean;
}

function request(port: number, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), aborted: aborted || !res.complete }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A bridge call over a raw WebSocket (as a page makes it). */
function call<T = unknown>(ws: WebSocket, channel: string, payload: unknown): Promise<{ ok: boolean; value: T; error?: { code: string; message: string } }> {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise((resolve) => {
    const on = (data: WebSocket.RawData): void => {
      const m = JSON.parse(data.toString()) as { t: string; id?: number; envelope?: never };
      if (m.t === 'reply' && m.id === id) {
        ws.off('message', on);
        resolve(m.envelope as never);
      }
    };
    ws.on('message', on);
    ws.send(JSON.stringify({ t: 'call', id, channel, payload }));
  });
}

const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));

describe('browser shell: download and upload routes', () => {
  let ui: RunningUi;
  let port: number;
  let origin: string;
  let cookie: string;
  let work: string;
  let browser: Browser;
  let page: Page;
  let ws: WebSocket;
  let vaultId: string;
  let vaultDir: string;
  const report = Buffer.concat([Buffer.from('Quarterly report: confidential plaintext marker 7f3a\n'), randomBytes(300_000)]);
  const NAME = 'Bericht "Q1" — Über;report.txt';

  const plaintextLeft = (): string[] =>
    [...walk(ui.services.temp.root), ...walk(path.join(vaultDir, 'tmp'))].filter((f) => {
      const b = readFileSync(f);
      return b.includes(report.subarray(0, 40)) || b.includes(report.subarray(100_000, 100_064));
    });
  const offer = async (conn: WebSocket = ws, p = `/${NAME}`): Promise<string> => {
    const r = await call<{ url: string; name: string }>(conn, 'files:exportDownload', { vaultId, path: p });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    return r.value.url;
  };
  const nav = { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Dest': 'document' };
  /** Uploads files the way the page does (files:uploadStart, then one PUT /upload per file); each PUT must answer 200. */
  const upload = async (files: { path: string; body: Buffer }[], folders: string[] = []): Promise<void> => {
    const up = await call<{ jobId: string; uploadId: string }>(ws, 'files:uploadStart', { vaultId, to: '/', files: files.map((f) => ({ path: f.path, size: f.body.length })), folders });
    expect(up.ok, JSON.stringify(up.error)).toBe(true);
    for (const [i, f] of files.entries()) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: `/upload/${up.value.uploadId}/${i}`, method: 'PUT', headers: { Host: `127.0.0.1:${port}`, Cookie: cookie, Origin: origin, 'Content-Length': f.body.length } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(f.body);
      });
      expect(status, f.path).toBe(200);
    }
    await ui.services.jobs.wait(up.value.jobId);
  };

  beforeAll(async () => {
    requireChromium();
    ensureRendererBuilt();
    work = mkdtempSync(path.join(os.tmpdir(), 'coffer-web-server-'));
    const home = path.join(work, 'home');
    mkdirSync(home, { recursive: true });
    ui = await startUi({
      rendererDir: path.join(ROOT, 'dist', 'renderer'),
      bridgeScript: await bridgeBundle(),
      dataDir: path.join(work, 'data'),
      env: { ...process.env, COFFER_UI_STORE: 'passphrase', COFFER_UI_PASSPHRASE: 'web server test store' },
      roots: [{ label: 'Home', path: home }],
      graceMs: 60_000,
      tempBase: work,
    });
    port = ui.shell.port;
    origin = ui.shell.origin;
    // A real page signs in with the one-time link; its cookie then serves the raw requests below.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const ctx = await browser.newContext({ acceptDownloads: true });
    page = await ctx.newPage();
    await page.goto(ui.shell.launchUrl);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const c = (await ctx.cookies()).find((k) => k.name === 'coffer_session');
    cookie = `coffer_session=${c?.value ?? ''}`;
    ws = new WebSocket(`ws://127.0.0.1:${port}/bridge`, { headers: { Cookie: cookie, Origin: origin } });
    await new Promise((r) => ws.on('open', r));
    // A vault in a folder picked in the in-app picker, with one file uploaded through PUT /upload.
    const events: string[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { t: string; channel?: string; payload?: { pickerId: string } };
      if (m.t === 'event' && m.channel === 'event:picker' && m.payload) events.push(m.payload.pickerId);
    });
    const pick = call(ws, 'dialog:pickFolder', { title: 'Folder for the new vault' });
    for (let i = 0; events.length === 0 && i < 500; i++) await new Promise((r) => setTimeout(r, 20));
    await call(ws, 'picker:done', { pickerId: events[0], paths: [home] });
    await pick;
    vaultDir = path.join(home, 'V');
    const created = await call<{ vault: { id: string } }>(ws, 'vaults:create', { dir: vaultDir, name: 'V', passphrase: 'a passphrase of some length', identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });
    expect(created.ok, JSON.stringify(created.error)).toBe(true);
    vaultId = created.value.vault.id;
    await upload([{ path: NAME, body: report }]);
  });
  afterAll(async () => {
    ws?.close();
    await browser?.close();
    await ui?.stop();
  });

  it('downloads with the cookie, once; refuses no cookie (401), a foreign Host (421) and a foreign Origin or site (403)', async () => {
    const url = await offer();
    expect((await request(port, url, nav)).status).toBe(401); // no cookie
    expect((await request(port, url, { ...nav, Cookie: 'coffer_session=guess' })).status).toBe(401);
    expect((await request(port, url, { ...nav, Cookie: cookie, Host: `evil.example:${port}` })).status).toBe(421);
    expect((await request(port, url, { ...nav, Cookie: cookie, Host: `localhost:${port}` })).status).toBe(421);
    expect((await request(port, url, { ...nav, Cookie: cookie, Origin: 'https://evil.example' })).status).toBe(403);
    expect((await request(port, url, { ...nav, Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    // Positive control: the same token, the right way.
    const ok = await request(port, url, { ...nav, Cookie: cookie });
    expect(ok.status).toBe(200);
    expect(ok.aborted).toBe(false);
    expect(ok.body.equals(report)).toBe(true);
    expect(ok.headers['content-length']).toBe(String(report.length));
    expect(ok.headers['content-type']).toBe('application/octet-stream');
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect(ok.headers['content-disposition']).toBe(attachment(NAME));
    expect(ok.headers['content-disposition']).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''[A-Za-z0-9%._~-]+$/);
    expect(Object.keys(ok.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    // Used: refused the second time, even with everything right.
    expect((await request(port, url, { ...nav, Cookie: cookie })).status).toBe(404);
    // No plaintext copy anywhere in the app's temp folders after the download.
    expect(plaintextLeft()).toEqual([]);
    expect(ui.services.jobs.list().some((j) => j.kind === 'export' && j.state === 'done' && j.title.startsWith('Download'))).toBe(true);
  });

  it('refuses made-up tokens, tokens past their time, and tokens of a page that has gone', async () => {
    for (const t of [randomBytes(32).toString('base64url'), 'A'.repeat(43), '../../../etc/passwd', `${(await offer()).slice(10, 52)}x`]) {
      const r = await request(port, `/download/${t}`, { ...nav, Cookie: cookie });
      expect(r.status, t).toBeGreaterThanOrEqual(400);
      expect(r.body.includes(report.subarray(0, 40))).toBe(false);
    }
    // Expired: the clock moves past the token's time (only Date is faked; I/O runs as usual).
    const late = await offer();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + DOWNLOAD_TTL_MS + 1000);
      expect((await request(port, late, { ...nav, Cookie: cookie })).status).toBe(404);
    } finally {
      vi.useRealTimers();
    }
    // Bound to the page that asked: another page's token, once that page has gone, is refused.
    const other = new WebSocket(`ws://127.0.0.1:${port}/bridge`, { headers: { Cookie: cookie, Origin: origin } });
    await new Promise((r) => other.on('open', r));
    const orphan = await offer(other);
    const kept = await offer(other);
    await new Promise((r) => {
      other.on('close', r);
      other.close();
    });
    await expect.poll(() => ui.shell.pages()).toBe(2); // this test's bridge and the Chromium page
    expect((await request(port, orphan, { ...nav, Cookie: cookie })).status).toBe(404);
    expect((await request(port, kept, { ...nav, Cookie: cookie })).status).toBe(404);
    // Positive control: a fresh token of a connected page downloads.
    expect((await request(port, await offer(), { ...nav, Cookie: cookie })).status).toBe(200);
  });

  it("keeps plaintext from page script: our own page's fetch() of a download URL is refused; its link download works", async () => {
    const fetched = await page.evaluate(async (p) => {
      const { url } = await (window as unknown as { coffer: { files: { exportDownload(r: { vaultId: string; path: string }): Promise<{ url: string }> } } }).coffer.files.exportDownload(p);
      const r = await fetch(url);
      return { status: r.status, text: await r.text() };
    }, { vaultId, path: `/${NAME}` });
    expect(fetched.status).toBe(403);
    expect(fetched.text).not.toContain('confidential plaintext marker');
    // Positive control: the same page, the same call, opened as a link (what Export does).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate(async (p) => {
        const { url, name } = await (window as unknown as { coffer: { files: { exportDownload(r: { vaultId: string; path: string }): Promise<{ url: string; name: string }> } } }).coffer.files.exportDownload(p);
        const a = document.createElement('a');
        a.href = url;
        a.download = name;
        document.body.append(a);
        a.click();
        a.remove();
      }, { vaultId, path: `/${NAME}` }),
    ]);
    const out = path.join(work, 'downloaded.txt');
    await download.saveAs(out);
    expect(await download.failure()).toBeNull();
    expect(readFileSync(out).equals(report)).toBe(true);
    expect(download.suggestedFilename()).toContain('Q1');
    expect(plaintextLeft()).toEqual([]);
  });

  it('a folder downloads as one .zip: its name on top, sub-folders, empty folders and contents kept (checked with Info-ZIP unzip)', async () => {
    if (!existsSync('/usr/bin/unzip')) throw new Error('/usr/bin/unzip is missing (Debian package unzip): it checks the zip independently of the library that wrote it');
    const a = randomBytes(150_000);
    const u = Buffer.from('Grüße aus dem Tresor\n');
    await upload([{ path: 'Album/a.bin', body: a }, { path: 'Album/Sub/Ünïcode „x“.txt', body: u }], ['Album', 'Album/Sub', 'Album/Empty']);
    const offered = await call<{ url: string; name: string }>(ws, 'files:exportDownload', { vaultId, path: '/Album' });
    expect(offered.value.name).toBe('Album.zip');
    const r = await request(port, offered.value.url, { ...nav, Cookie: cookie });
    expect(r.status).toBe(200);
    expect(r.aborted).toBe(false);
    expect(r.headers['content-type']).toBe('application/zip');
    expect(r.headers['content-length']).toBe(String(r.body.length)); // known before the first byte
    expect(r.headers['content-disposition']).toBe(attachment('Album.zip'));
    const zip = path.join(work, 'Album.zip');
    writeFileSync(zip, r.body);
    execFileSync('/usr/bin/unzip', ['-tq', zip]); // every CRC checks out
    const out = path.join(work, 'unzipped');
    execFileSync('/usr/bin/unzip', ['-q', zip, '-d', out]);
    expect(readFileSync(path.join(out, 'Album', 'a.bin')).equals(a)).toBe(true);
    expect(readFileSync(path.join(out, 'Album', 'Sub', 'Ünïcode „x“.txt')).equals(u)).toBe(true);
    expect(statSync(path.join(out, 'Album', 'Empty')).isDirectory()).toBe(true);
    expect(readdirSync(out)).toEqual(['Album']);
    expect(plaintextLeft()).toEqual([]);
    // The whole vault: named after the vault.
    const whole = await call<{ url: string; name: string }>(ws, 'files:exportDownload', { vaultId, path: '/' });
    expect(whole.value.name).toBe('V.zip');
    const all = await request(port, whole.value.url, { ...nav, Cookie: cookie });
    expect(all.status).toBe(200);
    writeFileSync(path.join(work, 'V.zip'), all.body);
    const listing = execFileSync('/usr/bin/unzip', ['-Z1', path.join(work, 'V.zip')]).toString();
    expect(listing).toContain('V/Album/a.bin');
    expect(listing).toContain(`V/${NAME}`);
  });

  it("a replaced file's older version downloads as 'name (vN).ext' (Versions… in the browser shell); a version not kept is refused", async () => {
    const first = Buffer.concat([Buffer.from('first draft, the good one\n'), randomBytes(70_000)]);
    const second = Buffer.from('second draft, the bad edit\n');
    await upload([{ path: 'draft.txt', body: first }]);
    await upload([{ path: 'draft.txt', body: second }]);
    const listed = await call<{ versions: { version: number; current: boolean; size: number }[] }>(ws, 'versions:list', { vaultId, path: '/draft.txt' });
    const old = listed.value.versions.find((v) => !v.current);
    expect(old?.size).toBe(first.length);
    const offered = await call<{ url: string; name: string }>(ws, 'files:exportDownload', { vaultId, path: '/draft.txt', version: old?.version });
    expect(offered.ok, JSON.stringify(offered.error)).toBe(true);
    expect(offered.value.name).toBe(`draft (v${old?.version}).txt`);
    const r = await request(port, offered.value.url, { ...nav, Cookie: cookie });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(first.length));
    expect(r.headers['content-disposition']).toBe(attachment(`draft (v${old?.version}).txt`));
    expect(r.body.equals(first)).toBe(true);
    // The same token again, and without the cookie: refused like any download.
    expect((await request(port, offered.value.url, { ...nav, Cookie: cookie })).status).toBe(404);
    expect((await request(port, (await call<{ url: string }>(ws, 'files:exportDownload', { vaultId, path: '/draft.txt', version: old?.version })).value.url, nav)).status).toBe(401);
    // Control: without a version the current content downloads.
    const cur = await request(port, (await call<{ url: string }>(ws, 'files:exportDownload', { vaultId, path: '/draft.txt' })).value.url, { ...nav, Cookie: cookie });
    expect(cur.body.equals(second)).toBe(true);
    expect(await call(ws, 'files:exportDownload', { vaultId, path: '/draft.txt', version: 99 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('refuses missing files and, in Electron (no download route), the channel', async () => {
    expect(await call(ws, 'files:exportDownload', { vaultId, path: '/nothing.txt' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    // Electron's services have no download route.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-web-electron-'));
    const s = await createServices({ dataDir: path.join(dir, 'data'), safeStorage: fakeSafeStorage(), platform: 'linux', version: '0', emit: () => undefined, openPath: async () => '', dialogs: { pickFolder: async () => null, pickFiles: async () => [], saveFile: async () => null }, tempBase: dir });
    const dispatch = createDispatch(createHandlers(s), () => true);
    expect(await dispatch('files:exportDownload', { vaultId: 'x', path: '/a' }, { webContentsId: 1, frameUrl: 'file:///index.html', isMainFrame: true })).toMatchObject({ ok: false });
    await s.shutdown();
  });

  it('a tampered blob: the download is broken off, never completed', async () => {
    const name = 'tamper.bin';
    const body = randomBytes(400_000);
    const before = new Set(readdirSync(path.join(vaultDir, 'blobs')));
    await upload([{ path: name, body }]);
    const blob = readdirSync(path.join(vaultDir, 'blobs')).find((b) => !before.has(b)) as string;
    const file = path.join(vaultDir, 'blobs', blob);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5_000] = (bytes[bytes.length - 5_000] as number) ^ 1; // a chunk near the end
    writeFileSync(file, bytes);
    const r = await request(port, await offer(ws, `/${name}`), { ...nav, Cookie: cookie });
    expect(r.status).toBe(200); // the headers went out before the bad chunk was reached ...
    expect(r.aborted).toBe(true); // ... and the response was broken off there
    expect(r.body.length).toBeLessThan(body.length);
    expect(body.subarray(0, r.body.length).equals(r.body)).toBe(true); // only authenticated bytes were sent
    // In a folder's zip too: the zip is broken off at the bad chunk, never finished.
    const z = await request(port, (await call<{ url: string }>(ws, 'files:exportDownload', { vaultId, path: '/' })).value.url, { ...nav, Cookie: cookie });
    expect(z.status).toBe(200);
    expect(z.aborted).toBe(true);
    expect(z.body.length).toBeLessThan(Number(z.headers['content-length']));
  });

  it('uploads: a client hanging up mid-file fails the job, leaves no staged bytes, and the server carries on', async () => {
    const size = 64 << 20;
    const up = await call<{ jobId: string; uploadId: string }>(ws, 'files:uploadStart', { vaultId, to: '/', files: [{ path: 'first.txt', size: 6 }, { path: 'cut.bin', size }], folders: [] });
    const put = (i: number, len: number, data: Buffer, hangUp: boolean): Promise<number | 'hung up'> =>
      new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: `/upload/${up.value.uploadId}/${i}`, method: 'PUT', headers: { Host: `127.0.0.1:${port}`, Cookie: cookie, Origin: origin, 'Content-Length': len } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve('hung up'));
        if (!hangUp) return void req.end(data);
        req.write(data);
        // Hang up once main has staged some of it (its encrypted bytes are in the vault's tmp/).
        const poll = setInterval(() => {
          if (readdirSync(path.join(vaultDir, 'tmp')).some((n) => n.endsWith('.tmp'))) {
            clearInterval(poll);
            req.destroy();
          }
        }, 20);
      });
    expect(await put(0, 6, Buffer.from('first\n'), false)).toBe(200);
    // Committed as soon as it arrived: listed while the job still runs.
    const listed = await call<{ entries: { name: string }[] }>(ws, 'files:list', { vaultId, path: '/' });
    expect(listed.value.entries.map((e) => e.name)).toContain('first.txt');
    expect(ui.services.jobs.get(up.value.jobId)?.state).toBe('running');
    expect(await put(1, size, Buffer.alloc(8 << 20, 3), true)).toBe('hung up');
    await ui.services.jobs.wait(up.value.jobId);
    expect(ui.services.jobs.get(up.value.jobId)).toMatchObject({ state: 'failed', error: { code: 'IO' } });
    expect(readdirSync(path.join(vaultDir, 'tmp')).filter((n) => !n.startsWith('lock'))).toEqual([]);
    const after = await call<{ entries: { name: string }[] }>(ws, 'files:list', { vaultId, path: '/' });
    expect(after.value.entries.map((e) => e.name)).not.toContain('cut.bin');
    // The server carries on.
    expect((await request(port, '/', { Cookie: cookie })).status).toBe(200);
  });

  it('a browser that cancels a download (or goes away) cancels its job; nothing is left behind', async () => {
    const big = Buffer.alloc(48 << 20, 0x5a);
    await upload([{ path: 'big.bin', body: big }]);
    const url = (await call<{ url: string }>(ws, 'files:exportDownload', { vaultId, path: '/big.bin' })).value.url;
    const received = await new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: url, headers: { Host: `127.0.0.1:${port}`, Cookie: cookie, ...nav } }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n >= 1 << 20) {
            req.destroy(); // the person cancels the download in the browser
            resolve(n);
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.end();
    });
    expect(received).toBeLessThan(big.length);
    await expect.poll(() => ui.services.jobs.list().find((j) => j.title === 'Download big.bin')?.state, { timeout: 30_000 }).toBe('cancelled');
    expect(plaintextLeft()).toEqual([]);
    expect((await request(port, '/', { Cookie: cookie })).status).toBe(200);
  });

  it('a locked vault: the download URL answers 409 and sends nothing', async () => {
    const url = await offer();
    await call(ws, 'vaults:lock', { vaultId });
    const r = await request(port, url, { ...nav, Cookie: cookie });
    expect(r.status).toBe(409);
    expect(r.body.includes(report.subarray(0, 40))).toBe(false);
  });
});
