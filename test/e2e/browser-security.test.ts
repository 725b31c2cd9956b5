/**
 * The browser shell (`coffer ui`) is as closed as the Electron window. Each check is the attack
 * itself, against the real server (startUi, as the CLI runs it), with a positive control showing
 * the same request succeeds when it comes the right way:
 * - no secret, a wrong secret, or the secret a second time: 401 (and no cookie);
 * - a foreign Host (DNS rebinding) or a foreign Origin / cross-site fetch: refused, on pages and on
 *   the bridge; no CORS headers anywhere;
 * - a second browser (no cookie) gets nothing: not the page, not the bridge;
 * - nothing but the renderer's files and the bridge is served (no source, no data folder, no traversal);
 * - the in-app picker lists and accepts only paths inside its roots, and only for a dialog main opened;
 * - when the last page has gone (after the grace period) the server stops and every vault is locked.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUi, type RunningUi } from '../../main/web';
import { bridgeBundle } from './browser-harness';
import { CHROMIUM, ROOT, ensureRendererBuilt, requireChromium } from './harness';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wsOpens(url: string, headers: Record<string, string>): Promise<{ opened: boolean; status: number | null }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve({ opened: true, status: null });
    });
    ws.on('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode ?? null }));
    ws.on('error', () => resolve({ opened: false, status: null }));
  });
}

/** A bridge call over a raw WebSocket (as a page would make it). */
function call(ws: WebSocket, channel: string, payload: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }> {
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

describe('browser shell security', () => {
  let ui: RunningUi;
  let port: number;
  let origin: string;
  let cookie: string;
  let work: string;
  let stopped = false;
  /** A page that stays connected until the last test (the server stops when the last page goes). */
  let holder: WebSocket | null = null;

  beforeAll(async () => {
    requireChromium();
    ensureRendererBuilt();
    work = mkdtempSync(path.join(os.tmpdir(), 'coffer-ui-sec-'));
    const roots = path.join(work, 'home');
    mkdirSync(path.join(roots, 'Documents'), { recursive: true });
    ui = await startUi({
      rendererDir: path.join(ROOT, 'dist', 'renderer'),
      bridgeScript: await bridgeBundle(),
      dataDir: path.join(work, 'data'),
      env: { ...process.env, COFFER_UI_STORE: 'passphrase', COFFER_UI_PASSPHRASE: 'security test store' },
      roots: [{ label: 'Home', path: roots }],
      graceMs: 1500,
      tempBase: work,
      onStopped: () => void (stopped = true),
    });
    port = ui.shell.port;
    origin = ui.shell.origin;
  });
  afterAll(async () => {
    await ui?.stop();
  });

  it('refuses a missing, wrong or reused secret with 401, and hands out the cookie once', async () => {
    expect((await request(port, '/')).status).toBe(401);
    expect((await request(port, '/assets/app.js')).status).toBe(401);
    expect((await request(port, '/coffer-bridge.js')).status).toBe(401);
    const wrong = await request(port, '/auth?k=not-the-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    // Positive control: the launch URL signs in once.
    const good = await request(port, new URL(ui.shell.launchUrl).pathname + new URL(ui.shell.launchUrl).search);
    expect(good.status).toBe(303);
    const set = String(good.headers['set-cookie']);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    cookie = set.split(';')[0] as string;
    const again = await request(port, new URL(ui.shell.launchUrl).pathname + new URL(ui.shell.launchUrl).search);
    expect(again.status).toBe(401);
    expect(again.headers['set-cookie']).toBeUndefined();
    holder = new WebSocket(`ws://127.0.0.1:${port}/bridge`, { headers: { Cookie: cookie, Origin: origin } });
    await new Promise((r) => holder?.on('open', r));
    const page = await request(port, '/', { Cookie: cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('coffer-bridge.js');
    // Same CSP as the Electron window, with connect-src only to this server; no CORS.
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain(`connect-src ${origin} ${origin.replace('http', 'ws')}`);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(Object.keys(page.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('refuses a foreign Host (DNS rebinding) and cross-site requests, on pages and on the bridge', async () => {
    for (const host of [`evil.example:${port}`, `localhost:${port}`, `127.0.0.1:${port + 1}`, 'attacker.test']) {
      expect((await request(port, '/', { Host: host, Cookie: cookie })).status).toBe(421);
    }
    expect((await request(port, '/', { Cookie: cookie, Origin: 'https://evil.example' })).status).toBe(403);
    expect((await request(port, '/', { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await request(port, '/upload/00000000000000000000000000000000/0', { Cookie: cookie }, 'PUT')).status).toBe(403); // no Origin on a write
    const bridge = `ws://127.0.0.1:${port}/bridge`;
    expect(await wsOpens(bridge, { Cookie: cookie, Origin: 'https://evil.example' })).toEqual({ opened: false, status: 403 });
    expect(await wsOpens(bridge, { Cookie: cookie, Origin: origin, Host: `evil.example:${port}` })).toEqual({ opened: false, status: 421 });
    expect(await wsOpens(bridge, { Cookie: cookie })).toEqual({ opened: false, status: 403 }); // a WebSocket must say where it comes from
    expect(await wsOpens(bridge, { Origin: origin })).toEqual({ opened: false, status: 401 }); // no cookie
    expect(await wsOpens(bridge, { Origin: origin, Cookie: 'coffer_session=guess' })).toEqual({ opened: false, status: 401 });
    // Positive control.
    expect(await wsOpens(bridge, { Cookie: cookie, Origin: origin })).toEqual({ opened: true, status: null });
  });

  it('serves nothing but the renderer and the bridge', async () => {
    expect((await request(port, '/assets/app.js', { Cookie: cookie })).status).toBe(200);
    for (const p of ['/package.json', '/../package.json', '/assets/../../package.json', '/assets/%2e%2e/%2e%2e/package.json', '/main/app.ts', '/data/settings.json', '/assets/.hidden', '/bridge', '/download/xyz', '/favicon.ico']) {
      const r = await request(port, p, { Cookie: cookie });
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.body, p).not.toMatch(/"dependencies"|import |autoLockMinutes/);
    }
  });

  it('gives a second browser without the cookie nothing', async () => {
    const a = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const ctx = await a.newContext();
      const p = await ctx.newPage();
      const res = await p.goto(`${origin}/`);
      expect(res?.status()).toBe(401);
      expect(await p.evaluate(() => typeof (window as { coffer?: unknown }).coffer)).toBe('undefined');
      // Even with the bridge script injected by hand, the bridge refuses it.
      const opened = await p.evaluate(async (o) => {
        const ws = new globalThis.WebSocket(`${o.replace('http', 'ws')}/bridge`); // the page's own WebSocket
        return new Promise<boolean>((r) => {
          ws.onopen = () => r(true);
          ws.onerror = () => r(false);
        });
      }, origin);
      expect(opened).toBe(false);
      // Positive control: the same browser with the one-time link would have been let in, but it is used up.
      expect((await p.goto(ui.shell.launchUrl))?.status()).toBe(401);
    } finally {
      await a.close();
    }
  });

  it('confines the in-app picker to its roots and to dialogs main opened', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bridge`, { headers: { Cookie: cookie, Origin: origin } });
    await new Promise((r) => ws.on('open', r));
    const events: { pickerId: string; start: string }[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { t: string; channel?: string; payload?: { pickerId: string; start: string } };
      if (m.t === 'event' && m.channel === 'event:picker' && m.payload) events.push(m.payload);
    });
    // No dialog open: the page cannot answer one on its own.
    expect(await call(ws, 'picker:done', { pickerId: 'made-up', paths: ['/etc'] })).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    // A dialog main opened (pickFolder through the contract, as Choose… does).
    const picked = call(ws, 'dialog:pickFolder', { title: 'Choose a vault folder' });
    await expect.poll(() => events.length).toBe(1);
    const id = (events[0] as { pickerId: string }).pickerId;
    for (const dir of ['/etc', '/', os.tmpdir(), path.join(work, 'data')]) {
      expect(await call(ws, 'picker:list', { pickerId: id, dir }), dir).toMatchObject({ ok: false });
      expect(await call(ws, 'picker:done', { pickerId: id, paths: [dir] }), dir).toMatchObject({ ok: false });
    }
    // A link inside the root that points out of it is neither listed nor accepted.
    const home = path.join(work, 'home');
    symlinkSync('/etc', path.join(home, 'etc-link'));
    const listed = await call(ws, 'picker:list', { pickerId: id, dir: home });
    expect(listed.ok).toBe(true);
    expect(JSON.stringify(listed.value)).not.toContain('etc-link');
    expect(await call(ws, 'picker:done', { pickerId: id, paths: [path.join(home, 'etc-link')] })).toMatchObject({ ok: false });
    // Positive control: a folder inside the root is accepted and returned to the dialog's caller.
    expect(await call(ws, 'picker:done', { pickerId: id, paths: [path.join(home, 'Documents')] })).toEqual({ ok: true, value: { ok: true } });
    expect(await picked).toEqual({ ok: true, value: { path: path.join(home, 'Documents') } });
    // The answer is used up.
    expect(await call(ws, 'picker:done', { pickerId: id, paths: [path.join(home, 'Documents')] })).toMatchObject({ ok: false });
    ws.close();
  });

  it('stops and locks every vault when the last page has gone', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bridge`, { headers: { Cookie: cookie, Origin: origin } });
    await new Promise((r) => ws.on('open', r));
    // A vault, unlocked, created through the bridge in a picked folder.
    const events: { pickerId: string }[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { t: string; channel?: string; payload?: { pickerId: string } };
      if (m.t === 'event' && m.channel === 'event:picker' && m.payload) events.push(m.payload);
    });
    const pick = call(ws, 'dialog:pickFolder', { title: 'Folder for the new vault' });
    await expect.poll(() => events.length).toBe(1);
    await call(ws, 'picker:done', { pickerId: (events[0] as { pickerId: string }).pickerId, paths: [path.join(work, 'home', 'Documents')] });
    await pick;
    const created = await call(ws, 'vaults:create', { dir: path.join(work, 'home', 'Documents', 'V'), name: 'V', passphrase: 'a passphrase of some length', identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });
    expect(created.ok).toBe(true);
    const vaultId = (created.value as { vault: { id: string } }).vault.id;
    expect(ui.services.vaults.isUnlocked(vaultId)).toBe(true);
    ws.close();
    // Another page is still open: the server stays.
    await new Promise((r) => setTimeout(r, 2500));
    expect(stopped).toBe(false);
    expect((await request(port, '/', { Cookie: cookie })).status).toBe(200);
    // The last page goes: after the grace period the server stops.
    holder?.close();
    await expect.poll(() => stopped, { timeout: 20_000 }).toBe(true);
    expect(ui.services.vaults.isUnlocked(vaultId)).toBe(false);
    expect((await ui.services.activity.list(50)).some((e) => e.action === 'lock' && e.detail.startsWith('exit'))).toBe(true);
    await expect(request(port, '/', { Cookie: cookie })).rejects.toThrow();
  });
});
