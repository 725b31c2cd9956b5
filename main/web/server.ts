/**
 * The browser shell's server (`coffer ui`): the built renderer and the bridge, on 127.0.0.1 only.
 *
 * - Routes: GET /auth?k=SECRET (once: exchanges the per-launch secret for an HttpOnly,
 *   SameSite=Strict session cookie), the renderer's files (index.html, /coffer-bridge.js,
 *   /assets/*), the bridge WebSocket (/bridge), PUT /upload/ID/N (dropped files streaming in) and
 *   GET /download/TOKEN (export and drag-out: a vault file decrypted as it is sent). Nothing else: 404.
 * - Downloads: files:exportDownload asks offerDownload for a token (32 random bytes), which is good
 *   for one GET, within DOWNLOAD_TTL_MS, with the session cookie, while the page that asked is still
 *   connected; it names a vault file or folder (never a path from the page). The response is an
 *   attachment with a sanitised file name and its exact Content-Length (a folder: a .zip built as it
 *   goes, services/zip-download.ts); it is streamed from the decryption
 *   (only authenticated chunks), and broken off if decryption fails, so the browser marks it failed.
 * - Every request: the Host header must be this server's own 127.0.0.1:PORT (DNS rebinding), a
 *   cross-site request (Origin or Sec-Fetch-Site) is refused, and without the session cookie the
 *   answer is 401. The WebSocket additionally requires Origin = this server. No CORS headers.
 * - The bridge carries the contract through the same router as Electron's IPC (validation both
 *   ways, {code, message}, events through their schemas).
 * - When the last page has gone for `graceMs`, onIdle runs (the CLI then locks everything and exits).
 */
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { toErrorInfo } from '../core/errors';
import type { AppServices, DownloadOffer } from '../services';
import { browserCsp } from '../services/csp';
import { createHandlers } from '../ipc';
import { createDispatch, createEventSink, type DispatchHooks, type EventSink, type SenderInfo } from '../ipc/router';
import type { EventChannel } from '../../preload/contract';

export const COOKIE = 'coffer_session';
const MAX_MESSAGE = 4 * 1024 * 1024;
/** How long a download URL is good for: the page opens it at once. */
export const DOWNLOAD_TTL_MS = 60_000;

/**
 * Content-Disposition for a vault file's name: an ASCII fallback (quotes, backslashes, control and
 * non-ASCII characters replaced) and the exact name in RFC 5987/6266 `filename*`.
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_').replace(/^[.\s]+|[.\s]+$/g, '_') || 'download';
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

export interface WebShellOptions {
  services: AppServices;
  /** dist/renderer */
  rendererDir: string;
  /** The browser bundle of preload/api.ts with the WebSocket transport (dist/web/coffer-bridge.js). */
  bridgeScript: string;
  /** 0 = any free port. */
  port?: number;
  /** How long after the last page closed the server waits before onIdle (a reload reconnects within it). */
  graceMs?: number;
  onIdle?: () => void;
  /** Sees every message (the IPC audit test). */
  hooks?: DispatchHooks;
}

export interface WebShell {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** The one-time URL with the per-launch secret (print it; open it once). */
  readonly launchUrl: string;
  readonly port: number;
  /** Sends an event to every page (services' emit). */
  readonly emit: EventSink;
  /** A one-time URL path (/download/TOKEN) for one page to download one vault file (export, drag-out). */
  offerDownload(connectionId: number, d: DownloadOffer): string;
  /** Number of pages connected now. */
  pages(): number;
  close(): Promise<void>;
}

/** The parts of emit the services need before the server exists. */
export interface LateSink {
  emit: EventSink;
  attach(shell: WebShell): void;
}

export function lateSink(): LateSink {
  let target: WebShell | null = null;
  return {
    emit: (channel, payload) => target?.emit(channel, payload),
    attach: (s) => void (target = s),
  };
}

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookieOf(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return null;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.woff2': 'font/woff2', '.ico': 'image/x-icon' };

export async function startWebShell(opts: WebShellOptions): Promise<WebShell> {
  const secret = randomBytes(32).toString('base64url');
  let secretUsed = false;
  const session = randomBytes(32).toString('base64url');
  const conns = new Map<number, WebSocket>();
  const downloads = new Map<string, DownloadOffer & { conn: number; until: number }>();
  let nextConn = 1;
  let idleTimer: NodeJS.Timeout | null = null;
  let origin = '';
  let host = '';
  let csp = '';
  const graceMs = opts.graceMs ?? 10_000;
  const rendererDir = path.resolve(opts.rendererDir);
  const assetsDir = path.join(rendererDir, 'assets');
  const indexRaw = readFileSync(path.join(rendererDir, 'index.html'), 'utf8');
  let indexHtml = '';

  const isOurs = (s: SenderInfo): boolean => conns.has(s.webContentsId) && s.isMainFrame && s.frameUrl === `${origin}/`;
  const dispatch = createDispatch(createHandlers(opts.services), isOurs, opts.hooks);
  const emit = createEventSink((channel: EventChannel, payload: unknown) => {
    const msg = JSON.stringify({ t: 'event', channel, payload });
    for (const ws of conns.values()) if (ws.readyState === ws.OPEN) ws.send(msg);
  }, opts.hooks);

  const headers = (res: ServerResponse, type?: string): void => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (type) res.setHeader('Content-Type', type);
  };
  const refuse = (res: ServerResponse, status: number, text: string): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    headers(res, 'text/plain; charset=utf-8');
    res.writeHead(status);
    res.end(`${text}\n`);
  };

  /** Host, cross-site and session checks shared by HTTP requests and the WebSocket upgrade. */
  const gate = (req: IncomingMessage, needOrigin: boolean): { status: number; text: string } | null => {
    if (req.headers.host !== host) return { status: 421, text: 'wrong Host: Coffer answers only at its own 127.0.0.1 address' };
    const o = req.headers.origin;
    if ((o !== undefined || needOrigin) && o !== origin) return { status: 403, text: 'refused: a request from another site' };
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, text: 'refused: a request from another site' };
    return null;
  };
  const authed = (req: IncomingMessage): boolean => {
    const c = cookieOf(req);
    return c !== null && same(c, session);
  };

  const serveFile = async (res: ServerResponse, file: string, type: string): Promise<void> => {
    const st = await fsp.lstat(file).catch(() => null);
    if (!st || !st.isFile()) return refuse(res, 404, 'not found');
    headers(res, type);
    res.setHeader('Content-Length', st.size);
    res.writeHead(200);
    createReadStream(file).pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const bad = gate(req, req.method !== 'GET' && req.method !== 'HEAD');
    if (bad) return refuse(res, bad.status, bad.text);
    const url = new URL(req.url ?? '/', origin);
    if (req.method === 'GET' && url.pathname === '/auth') {
      const k = url.searchParams.get('k') ?? '';
      if (secretUsed || !same(k, secret)) return refuse(res, 401, 'this link was already used or is wrong: start `coffer ui` again for a new one');
      secretUsed = true;
      headers(res);
      res.setHeader('Set-Cookie', `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('Location', '/');
      res.writeHead(303);
      res.end();
      return;
    }
    if (!authed(req)) return refuse(res, 401, 'not signed in: open the link `coffer ui` printed');
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      headers(res, TYPES['.html']);
      res.writeHead(200);
      res.end(indexHtml);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/coffer-bridge.js') {
      headers(res, TYPES['.js']);
      res.writeHead(200);
      res.end(opts.bridgeScript);
      return;
    }
    const asset = /^\/assets\/([A-Za-z0-9_-][A-Za-z0-9._-]*)$/.exec(url.pathname);
    if (req.method === 'GET' && asset) {
      const name = asset[1] as string;
      return serveFile(res, path.join(assetsDir, name), TYPES[path.extname(name)] ?? 'application/octet-stream');
    }
    const up = /^\/upload\/([0-9a-f]{32})\/(\d{1,5})$/.exec(url.pathname);
    if (req.method === 'PUT' && up) {
      try {
        await opts.services.uploads.receive(up[1] as string, Number(up[2]), req);
        headers(res, 'application/json');
        res.writeHead(200);
        res.end('{"ok":true}');
      } catch (e) {
        const err = toErrorInfo(e);
        req.resume();
        refuse(res, err.code === 'CANCELLED' ? 409 : err.code === 'NOT_FOUND' ? 404 : 400, `${err.code}: ${err.message}`);
      }
      return;
    }
    const dl = /^\/download\/([A-Za-z0-9_-]{43})$/.exec(url.pathname);
    if (req.method === 'GET' && dl) {
      const d = downloads.get(dl[1] as string);
      downloads.delete(dl[1] as string); // single use, whatever happens next
      if (!d || d.until < Date.now() || !conns.has(d.conn)) return refuse(res, 404, 'this download link was used, has expired, or is not yours: export the file again');
      // Only the browser's download of a navigation gets the plaintext, never a script's fetch() (whose
      // Sec-Fetch-Mode the page cannot set to "navigate"): plaintext never reaches page script.
      const mode = req.headers['sec-fetch-mode'];
      if (mode !== undefined && mode !== 'navigate') return refuse(res, 403, 'refused: a download is opened as a link, not fetched by a script');
      if (!opts.services.vaults.isUnlocked(d.vaultId)) return refuse(res, 409, 'the vault was locked: unlock it and export again');
      let jobId: string;
      try {
        jobId = opts.services.vaults.sendDownload(d, res, (bytes) => {
          // Before the first byte: the exact length, so a response broken off short is a failed download.
          headers(res, d.kind === 'folder' ? 'application/zip' : 'application/octet-stream');
          res.setHeader('Content-Disposition', attachment(d.name));
          if (bytes >= 0) res.setHeader('Content-Length', bytes);
          res.writeHead(200);
        });
      } catch (e) {
        const err = toErrorInfo(e);
        return refuse(res, err.code === 'VAULT_LOCKED' ? 409 : 400, `${err.code}: ${err.message}`);
      }
      // The browser cancelled the download (or went away): stop decrypting.
      res.on('close', () => {
        if (!res.writableFinished) opts.services.jobs.cancel(jobId);
      });
      await opts.services.jobs.wait(jobId);
      const job = opts.services.jobs.get(jobId);
      if (job?.state === 'done') return;
      // Failed before the first byte (nothing sent yet): say why; else break the response off.
      if (!res.headersSent && job?.error) return refuse(res, job.error.code === 'NOT_FOUND' ? 404 : 409, `${job.error.code}: ${job.error.message}`);
      res.destroy();
      return;
    }
    refuse(res, 404, 'not found');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => refuse(res, 500, toErrorInfo(e).message));
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // uploads of large files take as long as they take
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });

  const armIdle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (conns.size === 0 && opts.onIdle) {
      idleTimer = setTimeout(() => opts.onIdle?.(), graceMs);
      idleTimer.unref?.();
    }
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', origin || 'http://127.0.0.1');
    const bad = gate(req, true) ?? (authed(req) ? null : { status: 401, text: 'not signed in' }) ?? (url.pathname === '/bridge' ? null : { status: 404, text: 'not found' });
    if (bad) {
      socket.end(`HTTP/1.1 ${bad.status} ${http.STATUS_CODES[bad.status] ?? ''}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${bad.text}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const id = nextConn++;
      conns.set(id, ws);
      armIdle();
      const sender: SenderInfo = { webContentsId: id, frameUrl: `${origin}/`, isMainFrame: true };
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        let msg: { t?: unknown; id?: unknown; channel?: unknown; payload?: unknown };
        try {
          msg = JSON.parse(data.toString()) as typeof msg;
        } catch {
          return;
        }
        if (msg.t !== 'call' || typeof msg.id !== 'number' || typeof msg.channel !== 'string') return;
        const callId = msg.id;
        void dispatch(msg.channel, msg.payload, sender).then((envelope) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'reply', id: callId, envelope }));
        });
      });
      ws.on('close', () => {
        conns.delete(id);
        armIdle();
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  host = `127.0.0.1:${port}`;
  csp = browserCsp(origin);
  const metaCsp = csp.split('; ').filter((d) => !d.startsWith('frame-ancestors')).join('; ');
  indexHtml = indexRaw
    // (frame-ancestors is ignored in a <meta>, and Chromium complains about it: the header carries it.)
    .replace(/<meta http-equiv="Content-Security-Policy" content="[^"]*"\s*\/?>/, `<meta http-equiv="Content-Security-Policy" content="${metaCsp}" />`)
    // No favicon request (there is no route for it): an empty data: icon.
    .replace(/<script /, '<link rel="icon" href="data:," />\n    <script defer src="./coffer-bridge.js"></script>\n    <script ');
  if (!indexHtml.includes('coffer-bridge.js') || !indexHtml.includes(metaCsp)) throw new Error(`${rendererDir}/index.html does not look like Coffer's renderer`);

  return {
    origin,
    launchUrl: `${origin}/auth?k=${secret}`,
    port,
    emit,
    offerDownload(connectionId, d) {
      if (!conns.has(connectionId)) throw new Error('that page is not connected');
      const now = Date.now();
      for (const [k, v] of downloads) if (v.until < now || !conns.has(v.conn)) downloads.delete(k);
      const token = randomBytes(32).toString('base64url');
      downloads.set(token, { ...d, conn: connectionId, until: now + DOWNLOAD_TTL_MS });
      return `/download/${token}`;
    },
    pages: () => conns.size,
    async close() {
      if (idleTimer) clearTimeout(idleTimer);
      for (const ws of conns.values()) ws.terminate();
      conns.clear();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
