/**
 * The vault as a WebDAV drive (RFC 4918, classes 1 and 2) on node:http, on 127.0.0.1 only.
 *
 * - Every request first passes the Host check (only 127.0.0.1:PORT or localhost:PORT: a page whose DNS
 *   name was rebound to 127.0.0.1 still sends its own name) and Basic auth (user `coffer`, a per-session
 *   random password). No CORS headers are ever sent, so a web page cannot read any answer.
 * - The vault is used through its public API only. Calls that read or change the vault's in-memory
 *   state run one at a time (`serial`); the long parts (decrypting a GET, encrypting a PUT into a
 *   staged blob) run outside, so a large upload does not stall the file manager.
 * - Before each request the vault is re-read if its folder changed (`Vault.refresh`), so changes from
 *   the CLI, the app and sync clients are seen without a restart.
 * - macOS Finder's `._*` (AppleDouble) and `.DS_Store` files are kept in memory for the session only
 *   and never enter the vault (see docs/ARCHITECTURE.md, "The vault as a drive").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { CofferError, isCofferError } from '../errors';
import type { EntryInfo, StagedFile, Vault } from '../vault';
import { parseIfHeader, submittedTokens, type IfList } from './if-header';
import { LockTable, parseTimeout, type DavLock, type LockScope } from './locks';
import {
  DAV, child, elements, escapeXml, parseXml, propElement, propKey, serializeChildren, splitPropKey, type XmlElement,
} from './xml';

export interface DavServerOptions {
  readonly vault: Vault;
  readonly user: string;
  readonly password: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly readOnly?: boolean;
  /** Internal errors (never secrets, never file contents). */
  readonly onError?: (message: string) => void;
  /** Debugging only (it names paths): one line per answered request. */
  readonly onRequest?: (line: string) => void;
  /**
   * Runs a short vault operation alone. Default: the server's own queue. The app passes the queue
   * its other vault calls use, so a drive request never interleaves with a re-read from the window.
   */
  readonly exclusive?: <T>(fn: () => Promise<T> | T) => Promise<T>;
  /** Called as each authenticated request starts and ends (the app keeps the vault from idling). */
  readonly onActivity?: () => void;
}

/** A file the drive is working on: an upload streaming in, a download going out, or a client's lock. */
export interface OpenThroughDrive {
  readonly path: string;
  readonly kind: 'upload' | 'download' | 'lock';
}

/** Largest XML request body accepted (PROPFIND, PROPPATCH, LOCK). */
const MAX_XML_BODY = 1024 * 1024;
/** macOS metadata files kept in memory: per file and in total. */
const MAX_JUNK_FILE = 1024 * 1024;
const MAX_JUNK_TOTAL = 16 * 1024 * 1024;

/** Names macOS Finder writes beside every file; kept out of the vault. */
export function isMacJunk(name: string): boolean {
  return name.startsWith('._') || name === '.DS_Store';
}

class DavError extends Error {
  constructor(readonly status: number, message: string, readonly condition?: string) {
    super(message);
  }
}

interface Res {
  readonly path: string;
  readonly type: 'file' | 'dir';
  readonly size: number;
  readonly mtime: number;
  readonly etag: string;
  readonly junk: boolean;
}

/** Formatted Last-Modified dates, by millisecond time (a batch of files often shares a few). */
const httpDates = new Map<number, string>();
function httpDate(ms: number): string {
  let d = httpDates.get(ms);
  if (d === undefined) {
    if (httpDates.size >= 4096) httpDates.clear();
    d = new Date(ms).toUTCString();
    httpDates.set(ms, d);
  }
  return d;
}

/**
 * Text content for XML: only & < > need escaping there (quotes do not), and entity tags and
 * percent-encoded hrefs hold none of them, so this is usually one failed test.
 */
function escapeText(t: string): string {
  return /[&<>]/.test(t) ? t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : t;
}

interface JunkFile {
  data: Buffer;
  mtime: number;
  n: number;
}

const LIVE_PROPS = ['resourcetype', 'getcontentlength', 'getlastmodified', 'creationdate', 'getetag', 'getcontenttype', 'supportedlock', 'lockdiscovery', 'quota-available-bytes', 'quota-used-bytes'] as const;
type LiveProp = (typeof LIVE_PROPS)[number];
/**
 * allprop answers with these and every dead property. supportedlock, lockdiscovery and the quotas are
 * left to clients that name them (RFC 4918 §9.1 lets allprop leave out costly or lengthy live properties):
 * they would double a large listing.
 */
const ALLPROP_LIVE: readonly LiveProp[] = ['resourcetype', 'getcontentlength', 'getlastmodified', 'creationdate', 'getetag', 'getcontenttype'];
const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

interface PlanItem {
  readonly ns: string;
  readonly local: string;
  readonly key: string;
  readonly live: LiveProp | null;
  /** The property as an empty element (404 lists, empty values). */
  readonly empty: string;
}

interface PropPlan {
  readonly mode: 'all' | 'names' | 'props';
  readonly items: readonly PlanItem[];
  readonly keys: ReadonlySet<string>;
  readonly needDead: boolean;
  /** Identifies the plan in the response cache. */
  readonly signature: string;
}

/** Rendered PROPFIND responses kept, in characters (oldest first out). */
const RESPONSE_CACHE_BYTES = 32 * 1024 * 1024;
/** Whole listings kept (each also bounded by RESPONSE_CACHE_BYTES / 4). */
const LISTING_CACHE_ENTRIES = 8;

interface CachedResponse {
  readonly etag: string;
  readonly mtime: number;
  readonly size: number;
  readonly type: 'file' | 'dir';
  readonly xml: string;
}

interface CachedListing {
  /** The folder's own entry and its children, as the vault handed them out (compared by identity). */
  readonly self: EntryInfo | null;
  readonly entries: readonly EntryInfo[];
  /** macOS metadata files listed in it (name and counter). */
  readonly junk: string;
  readonly buf: Buffer;
}
const MULTISTATUS_OPEN = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">`;
const MULTISTATUS_CLOSE = '</D:multistatus>\n';
const isLive = (ns: string, local: string): local is LiveProp => ns === DAV && (LIVE_PROPS as readonly string[]).includes(local);

const TYPES: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', html: 'text/html', htm: 'text/html', css: 'text/css', csv: 'text/csv', xml: 'application/xml',
  json: 'application/json', js: 'text/javascript', pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg',
  gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp', zip: 'application/zip', gz: 'application/gzip', mp3: 'audio/mpeg',
  mp4: 'video/mp4', doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', odt: 'application/vnd.oasis.opendocument.text',
};
function contentType(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n';

/** Vault path → href (each segment percent-encoded; folders end with '/'). */
export function hrefOf(path: string, dir: boolean): string {
  if (path === '') return '/';
  // Names of only unreserved characters (most) need no encoding: skip the split and join.
  if (/^[A-Za-z0-9._~/-]*$/.test(path)) return `/${path}${dir ? '/' : ''}`;
  return `/${path.split('/').map((s) => encodeURIComponent(s)).join('/')}${dir ? '/' : ''}`;
}

/** A request path → vault path; DavError 400 for what no vault name can hold. */
export function vaultPathOf(urlPath: string): string {
  // A fragment never belongs in a request (RFC 9110 §7.1): refuse rather than act on a shorter path.
  if (urlPath.includes('#')) throw new DavError(400, 'a request path cannot carry a #fragment');
  const q = urlPath.indexOf('?');
  const raw = q >= 0 ? urlPath.slice(0, q) : urlPath;
  const out: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(seg);
    } catch {
      throw new DavError(400, 'bad percent-encoding in the path');
    }
    if (name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0') || Buffer.byteLength(name) > 1024) {
      throw new DavError(400, 'invalid name in the path');
    }
    out.push(name);
  }
  return out.join('/');
}

const stripWeak = (e: string): string => e.replace(/^W\//, '');

/** Whether two listings hold the very same entry objects, in order. */
function sameEntries(a: readonly EntryInfo[], b: readonly EntryInfo[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class DavServer {
  private readonly server: http.Server;
  private readonly vault: Vault;
  private readonly readOnly: boolean;
  private readonly locks = new LockTable();
  private readonly junk = new Map<string, JunkFile>();
  private junkCounter = 0;
  private readonly credential: Buffer;
  private port = 0;
  private allowedHosts = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<AbortController>();
  /** Uploads and downloads under way, by request (for openFiles). */
  private readonly transfers = new Map<AbortController, OpenThroughDrive>();
  private readonly running = new Set<Promise<void>>();
  private readonly sockets = new Set<Socket>();
  private closing = false;
  /**
   * Rendered PROPFIND responses, per property plan, per path: reused while the entry is the same
   * version (etag, size, mtime, type). Bounded in bytes (oldest out first).
   */
  private readonly responseCache = new Map<string, Map<string, CachedResponse>>();
  private responseCacheBytes = 0;
  /** Whole depth-1 listings: reused while the folder's entries are the very same objects (no change since). */
  private readonly listingCache = new Map<string, CachedListing>();

  /** The root has no record: it reports the server's start as its modification time. */
  private readonly started = Math.floor(Date.now() / 1000) * 1000;

  constructor(private readonly opts: DavServerOptions) {
    this.vault = opts.vault;
    this.readOnly = opts.readOnly === true;
    this.credential = createHash('sha256').update(`${opts.user}:${opts.password}`).digest();
    this.server = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.track(req, res));
    // Expect: 100-continue: the answer to Host and auth comes before the client sends the body.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (this.gate(req, res)) {
        res.writeContinue();
        this.track(req, res, true);
      } else req.resume();
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_e, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listens on 127.0.0.1; resolves once listening. */
  async listen(): Promise<{ url: string; port: number }> {
    // Read the vault and build its tree now, so the first listing a client asks for is not the one that pays.
    await this.serial(() => this.vault.list(''));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, '127.0.0.1', () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.allowedHosts = new Set([`127.0.0.1:${this.port}`, `localhost:${this.port}`]);
    return { url: `http://127.0.0.1:${this.port}/`, port: this.port };
  }

  /**
   * Stops: no new connections; uploads still streaming in are abandoned (their staged blobs are
   * removed, nothing enters the vault), commits already under way finish; then all connections close.
   */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const ac of this.inFlight) ac.abort();
    await Promise.allSettled([...this.running]);
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Number of requests being handled (tests, shutdown). */
  get active(): number {
    return this.running.size;
  }

  /**
   * What clients have open through the drive right now: uploads still streaming in (they are lost
   * if the server stops), downloads going out, and clients' unexpired locks (an editor holding a
   * file). Vault paths, no leading slash; each path once per kind.
   */
  openFiles(): OpenThroughDrive[] {
    const seen = new Set<string>();
    const out: OpenThroughDrive[] = [];
    const add = (o: OpenThroughDrive): void => {
      const k = `${o.kind}:${o.path}`;
      if (seen.has(k)) return;
      seen.add(k);
      out.push(o);
    };
    for (const t of this.transfers.values()) add(t);
    for (const l of this.locks.all()) if (!isMacJunk(baseOf(l.path))) add({ path: l.path, kind: 'lock' });
    return out;
  }

  private track(req: IncomingMessage, res: ServerResponse, gated = false): void {
    if (this.opts.onRequest) {
      const log = this.opts.onRequest;
      const t0 = Date.now();
      res.once('finish', () => log(`${req.method ?? ''} ${req.url ?? ''} depth=${String(req.headers.depth ?? '-')} → ${res.statusCode} (${Date.now() - t0} ms)`));
    }
    const p = this.handle(req, res, gated).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Runs `fn` alone against the vault's in-memory state, after re-reading the vault if it changed. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const body = async (): Promise<T> => {
      await this.vault.refresh();
      return fn();
    };
    if (this.opts.exclusive) return this.opts.exclusive(body);
    const run = this.queue.then(body);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /* ------------------------------------------------------------------ gate */

  /** Host and auth; answers and returns false when refused. */
  private gate(req: IncomingMessage, res: ServerResponse): boolean {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts.has(host)) {
      this.plain(res, 421, 'This server answers only to its loopback address.\n');
      return false;
    }
    if (!this.authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="coffer", charset="UTF-8"');
      this.plain(res, 401, 'Authentication required.\n');
      return false;
    }
    if (this.closing) {
      res.setHeader('Connection', 'close');
      this.plain(res, 503, 'The server is stopping.\n');
      return false;
    }
    return true;
  }

  private authorized(h: string | undefined): boolean {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h ?? '');
    if (!m) return false;
    const given = createHash('sha256').update(Buffer.from(m[1] as string, 'base64').toString('utf8')).digest();
    return timingSafeEqual(given, this.credential);
  }

  /* ------------------------------------------------------------------ dispatch */

  private async handle(req: IncomingMessage, res: ServerResponse, gated: boolean): Promise<void> {
    const ac = new AbortController();
    this.inFlight.add(ac);
    // The client went away: mid-upload (the body never completed) or before the answer was sent.
    req.once('close', () => {
      if (!req.complete) ac.abort();
    });
    res.once('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      if (!gated && !this.gate(req, res)) {
        req.resume();
        return;
      }
      this.opts.onActivity?.();
      const method = (req.method ?? '').toUpperCase();
      if (method === 'PUT' || method === 'GET') {
        try {
          this.transfers.set(ac, { path: vaultPathOf(req.url ?? '/'), kind: method === 'PUT' ? 'upload' : 'download' });
        } catch {
          /* a bad path is refused by dispatch */
        }
      }
      await this.dispatch(req, res, ac.signal);
    } catch (e) {
      this.fail(req, res, e);
    } finally {
      this.inFlight.delete(ac);
      if (this.transfers.delete(ac)) this.opts.onActivity?.();
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    res.setHeader('DAV', '1, 2');
    res.setHeader('MS-Author-Via', 'DAV');
    const path = vaultPathOf(req.url ?? '/');
    const method = (req.method ?? '').toUpperCase();
    const writes = ['PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPPATCH', 'LOCK', 'UNLOCK'];
    if (this.readOnly && writes.includes(method)) throw new DavError(403, 'this drive is read-only (coffer vault serve --read-only)');
    switch (method) {
      case 'OPTIONS': return this.options(req, res);
      case 'GET': return this.get(req, res, path, signal, false);
      case 'HEAD': return this.get(req, res, path, signal, true);
      case 'PROPFIND': return this.propfind(req, res, path);
      case 'PROPPATCH': return this.proppatch(req, res, path);
      case 'PUT': return this.put(req, res, path, signal);
      case 'MKCOL': return this.mkcol(req, res, path);
      case 'DELETE': return this.delete(req, res, path);
      case 'COPY': return this.copyMove(req, res, path, false, signal);
      case 'MOVE': return this.copyMove(req, res, path, true, signal);
      case 'LOCK': return this.lock(req, res, path);
      case 'UNLOCK': return this.unlock(req, res, path);
      default:
        req.resume();
        res.setHeader('Allow', this.allow());
        throw new DavError(405, `${method} is not supported`);
    }
  }

  private allow(): string {
    return this.readOnly ? 'OPTIONS, GET, HEAD, PROPFIND' : 'OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';
  }

  /* ------------------------------------------------------------------ helpers */

  private plain(res: ServerResponse, status: number, text: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }

  private xml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    const data = Buffer.from(XML_HEAD + body, 'utf8');
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('Content-Type', 'application/xml; charset=utf-8');
    res.setHeader('Content-Length', data.length);
    res.end(data);
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (!req.complete) req.resume();
    let status = 500;
    let message = 'internal error';
    let condition: string | undefined;
    if (e instanceof DavError) {
      status = e.status;
      message = e.message;
      condition = e.condition;
    } else if (isCofferError(e)) {
      message = e.message;
      switch (e.code) {
        case 'NOT_FOUND': status = 404; break;
        case 'EXISTS': status = 405; break;
        case 'USAGE': status = 409; break;
        case 'CANCELLED': status = 400; break;
        case 'VAULT_BUSY': status = 503; break;
        case 'VAULT_TAMPERED': case 'VAULT_INVALID': status = 500; break;
        default: status = 500;
      }
    } else if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
      status = 507;
      message = 'no space left on the vault\'s disk';
    } else {
      this.opts.onError?.(`coffer serve: ${(e as Error).message ?? String(e)}`);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (condition) {
      this.xml(res, status, `<D:error xmlns:D="DAV:">${condition}</D:error>`);
      return;
    }
    this.plain(res, status, `${message}\n`);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_XML_BODY) throw new DavError(413, 'request body too large');
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async readXml(req: IncomingMessage): Promise<XmlElement | null> {
    const text = await this.readBody(req);
    if (text.trim() === '') return null;
    try {
      return parseXml(text);
    } catch (e) {
      throw new DavError(400, isCofferError(e) ? e.message : 'bad XML');
    }
  }

  private statJunk(path: string): Res | null {
    const j = this.junk.get(path);
    return j ? { path, type: 'file', size: j.data.length, mtime: j.mtime, etag: `"j${j.n}-${j.data.length}"`, junk: true } : null;
  }

  /** The resource at `path`, or null. Call inside `serial`. */
  private stat(path: string): Res | null {
    if (path === '') return { path, type: 'dir', size: 0, mtime: this.started, etag: '"root"', junk: false };
    if (isMacJunk(baseOf(path))) return this.statJunk(path);
    const e = this.vault.stat(path);
    return e ? this.resOf(e) : null;
  }

  private resOf(e: EntryInfo): Res {
    return { path: e.path, type: e.type, size: e.size, mtime: Date.parse(e.mtime), etag: `"${e.id}-${e.version}"`, junk: false };
  }

  private mustParentDir(path: string): void {
    const p = this.stat(parentOf(path));
    if (!p || p.type !== 'dir') throw new DavError(409, 'the parent folder does not exist');
  }

  /** The If header, if any, evaluated; 412 when no list holds. Returns the submitted lock tokens. */
  private checkIf(req: IncomingMessage, path: string): Set<string> {
    const h = req.headers.if;
    if (h === undefined) return new Set();
    const lists = parseIfHeader(Array.isArray(h) ? h.join(' ') : h);
    if (!lists) throw new DavError(400, 'malformed If header');
    if (!lists.some((l) => this.listHolds(l, path))) throw new DavError(412, 'the If header\'s conditions do not hold');
    return submittedTokens(lists);
  }

  private listHolds(l: IfList, requestPath: string): boolean {
    let path = requestPath;
    if (l.resource !== null) {
      try {
        path = vaultPathOf(l.resource.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, ''));
      } catch {
        return false;
      }
    }
    const r = this.stat(path);
    return l.conditions.every((c) => {
      let ok: boolean;
      if (c.token !== null) ok = this.locks.covering(path).some((lk) => lk.token === c.token);
      else ok = r !== null && stripWeak(r.etag) === stripWeak(c.etag ?? '');
      return c.not ? !ok : ok;
    });
  }

  /**
   * 423 unless every lock on the given paths is matched by a submitted token. `deep` also checks
   * locks below the path (DELETE, MOVE of a folder).
   */
  private checkLocks(tokens: Set<string>, targets: { path: string; deep?: boolean }[]): void {
    for (const t of targets) {
      const relevant = [...this.locks.covering(t.path), ...(t.deep ? this.locks.within(t.path) : [])];
      if (relevant.length === 0) continue;
      // With shared locks, holding any one of them is enough; below the path, each lock needs its token.
      const above = this.locks.covering(t.path);
      const aboveOk = above.length === 0 || above.some((l) => tokens.has(l.token));
      const belowBad = t.deep ? this.locks.within(t.path).find((l) => !tokens.has(l.token) && !above.includes(l)) : undefined;
      const bad = !aboveOk ? above[0] : belowBad;
      if (bad) {
        throw new DavError(423, 'the resource is locked', `<D:lock-token-submitted><D:href>${escapeXml(hrefOf(bad.path, this.stat(bad.path)?.type === 'dir'))}</D:href></D:lock-token-submitted>`);
      }
    }
  }

  /* ------------------------------------------------------------------ OPTIONS, GET, HEAD */

  private options(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    res.setHeader('Allow', this.allow());
    res.setHeader('Content-Length', 0);
    res.statusCode = 200;
    res.end();
  }

  private async get(req: IncomingMessage, res: ServerResponse, path: string, signal: AbortSignal, head: boolean): Promise<void> {
    req.resume();
    const hold: { src?: PassThrough; started?: Promise<number>; range?: { start: number; end: number } | null } = {};
    const r = await this.serial(() => {
      const r0 = this.stat(path);
      if (!r0) throw new DavError(404, 'not found');
      if (r0.type === 'dir') return r0;
      const range = parseRange(req, r0);
      hold.range = range;
      if (!head && !r0.junk && r0.size > 0 && (range === null || (range.start < r0.size && range.start <= range.end))) {
        const { start, end } = range ?? { start: 0, end: r0.size - 1 };
        const out = new PassThrough({ highWaterMark: 1 << 20 });
        // Started here, so the entry is resolved while no re-read is under way.
        hold.started = this.vault.readRange(path, out, start, end, { signal });
        hold.started.catch(() => undefined);
        hold.src = out;
      }
      return r0;
    });
    if (r.type === 'dir') {
      const list = await this.serial(() => this.listing(path));
      const body = Buffer.from(list, 'utf8');
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Content-Length', body.length);
      res.end(head ? undefined : body);
      return;
    }
    res.setHeader('ETag', r.etag);
    res.setHeader('Last-Modified', new Date(r.mtime).toUTCString());
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', contentType(baseOf(path)));
    const rg = hold.range ?? null;
    if (rg !== null && (rg.start >= r.size || rg.start > rg.end)) {
      res.setHeader('Content-Range', `bytes */${r.size}`);
      throw new DavError(416, 'range not satisfiable');
    }
    const { start, end } = rg ?? { start: 0, end: r.size - 1 };
    res.statusCode = rg ? 206 : 200;
    if (rg) res.setHeader('Content-Range', `bytes ${start}-${end}/${r.size}`);
    res.setHeader('Content-Length', Math.max(0, end - start + 1));
    if (head || r.size === 0) {
      res.end();
      return;
    }
    if (r.junk) {
      res.end(this.junk.get(path)?.data.subarray(start, end + 1));
      return;
    }
    if (!hold.src || !hold.started) throw new DavError(500, 'internal error');
    const src = hold.src;
    // A reader that goes away stops the decryption (it would otherwise wait for a drain forever).
    res.once('close', () => src.destroy());
    src.pipe(res);
    await hold.started;
  }

  private listing(path: string): string {
    const rows = this.children(path).map((c) => {
      const name = baseOf(c.path);
      return `<li><a href="${escapeXml(hrefOf(c.path, c.type === 'dir'))}">${escapeXml(name)}${c.type === 'dir' ? '/' : ''}</a></li>`;
    });
    return `<!doctype html><meta charset="utf-8"><title>${escapeXml(path || '/')}</title><ul>${rows.join('')}</ul>\n`;
  }

  private children(path: string, entries: readonly EntryInfo[] = this.vault.list(path)): Res[] {
    const out: Res[] = [];
    for (const e of entries) if (!isMacJunk(e.name)) out.push(this.resOf(e));
    for (const k of this.junk.keys()) if (parentOf(k) === path) out.push(this.statJunk(k) as Res);
    return out;
  }

  /** The macOS metadata files in a folder, as a string that changes when any of them does. */
  private junkSignature(path: string): string {
    let sig = '';
    for (const [k, j] of this.junk) if (parentOf(k) === path) sig += `${k}\0${j.n}\0`;
    return sig;
  }

  /* ------------------------------------------------------------------ PROPFIND, PROPPATCH */

  private async propfind(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const depthH = (req.headers.depth ?? 'infinity').toString().trim().toLowerCase();
    if (depthH !== '0' && depthH !== '1') {
      req.resume();
      throw new DavError(403, 'PROPFIND with Depth: infinity is not supported; use Depth 0 or 1', '<D:propfind-finite-depth/>');
    }
    const body = await this.readXml(req);
    let mode: 'all' | 'names' | 'props' = 'all';
    let wanted: { ns: string; local: string }[] = [];
    let include: { ns: string; local: string }[] = [];
    if (body) {
      if (body.ns !== DAV || body.local !== 'propfind') throw new DavError(400, 'expected a DAV:propfind body');
      const prop = child(body, DAV, 'prop');
      const include0 = child(body, DAV, 'include');
      if (prop) {
        mode = 'props';
        wanted = elements(prop).map((e) => ({ ns: e.ns, local: e.local }));
      } else if (child(body, DAV, 'propname')) mode = 'names';
      else if (child(body, DAV, 'allprop')) {
        mode = 'all';
        if (include0) include = elements(include0).map((e) => ({ ns: e.ns, local: e.local }));
      } else throw new DavError(400, 'PROPFIND needs prop, propname or allprop');
    }
    const quota = mode === 'props' && wanted.some((w) => w.ns === DAV && w.local.startsWith('quota-')) ? await this.quota() : null;
    const data = await this.serial(() => {
      const r = this.stat(path);
      if (!r) throw new DavError(404, 'not found');
      const plan = this.propPlan(mode, wanted, include);
      // Responses that depend only on the entry's version are kept (a listing asked again is a lookup).
      const cacheable = !plan.items.some((i) => i.live === 'lockdiscovery' || (i.live?.startsWith('quota-') ?? false));
      const listing = depthH === '1' && r.type === 'dir';
      if (!listing) return Buffer.from(MULTISTATUS_OPEN + this.responseXml(r, plan, quota, cacheable) + MULTISTATUS_CLOSE, 'utf8');
      // A folder: one pass over the in-memory listing. When nothing in it changed since the same
      // question was last answered (the vault hands out the very same entry objects), the answer is reused.
      const self = path === '' ? null : this.vault.stat(path);
      const entries = this.vault.list(path);
      const junk = this.junkSignature(path);
      const lkey = `${plan.signature}\0${path}`;
      const memo = cacheable ? this.listingCache.get(lkey) : undefined;
      if (memo && memo.self === self && memo.junk === junk && sameEntries(memo.entries, entries)) return memo.buf;
      const parts = [MULTISTATUS_OPEN, this.responseXml(r, plan, quota, cacheable)];
      for (const it of this.children(path, entries)) parts.push(this.responseXml(it, plan, quota, cacheable));
      parts.push(MULTISTATUS_CLOSE);
      const out = Buffer.from(parts.join(''), 'utf8');
      if (cacheable && out.length <= RESPONSE_CACHE_BYTES / 4) {
        this.listingCache.delete(lkey);
        this.listingCache.set(lkey, { self, entries, junk, buf: out });
        for (const k of this.listingCache.keys()) {
          if (this.listingCache.size <= LISTING_CACHE_ENTRIES) break;
          this.listingCache.delete(k);
        }
      }
      return out;
    });
    res.statusCode = 207;
    res.setHeader('Content-Type', 'application/xml; charset=utf-8');
    res.setHeader('Content-Length', data.length);
    res.end(data);
  }

  /** One `<D:response>`, from the per-entry cache when the entry is the same version. */
  private responseXml(r: Res, plan: PropPlan, quota: { avail: number; used: number } | null, cacheable: boolean): string {
    if (!cacheable) return this.propResponse(r, plan, quota);
    let byPath = this.responseCache.get(plan.signature);
    if (!byPath) {
      byPath = new Map();
      this.responseCache.set(plan.signature, byPath);
    }
    const c = byPath.get(r.path);
    if (c && c.etag === r.etag && c.mtime === r.mtime && c.size === r.size && c.type === r.type) return c.xml;
    const xml = this.propResponse(r, plan, quota);
    if (c) this.responseCacheBytes -= c.xml.length + r.path.length;
    byPath.set(r.path, { etag: r.etag, mtime: r.mtime, size: r.size, type: r.type, xml });
    this.responseCacheBytes += xml.length + r.path.length;
    if (this.responseCacheBytes > RESPONSE_CACHE_BYTES) this.trimResponseCache();
    return xml;
  }

  /** Drops the oldest cached responses (oldest plan first) until under the bound. */
  private trimResponseCache(): void {
    for (const [sig, byPath] of this.responseCache) {
      for (const [p, c] of byPath) {
        if (this.responseCacheBytes <= RESPONSE_CACHE_BYTES * 0.75) return;
        byPath.delete(p);
        this.responseCacheBytes -= c.xml.length + p.length;
      }
      if (byPath.size === 0) this.responseCache.delete(sig);
    }
  }

  private async quota(): Promise<{ avail: number; used: number } | null> {
    try {
      const s = await statfs(this.vault.location);
      return { avail: s.bavail * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
    } catch {
      return null;
    }
  }

  private liveValue(r: Res, name: LiveProp, quota: { avail: number; used: number } | null): string | null {
    switch (name) {
      case 'resourcetype': return r.type === 'dir' ? '<D:collection/>' : '';
      case 'getcontentlength': return r.type === 'file' ? String(r.size) : null;
      case 'getlastmodified': return httpDate(r.mtime); // letters, digits, ',', ':' and spaces: nothing to escape
      // The vault keeps no creation time: clients that want one get the modification time.
      case 'creationdate': return new Date(r.mtime).toISOString().replace(/\.\d{3}Z$/, 'Z');
      // Our entity tags are "id-version": only the quotes need escaping (checked, else the general way).
      case 'getetag': return /^"[\w-]*"$/.test(r.etag) ? `&quot;${r.etag.slice(1, -1)}&quot;` : escapeXml(r.etag);
      case 'getcontenttype': return r.type === 'file' ? contentType(baseOf(r.path)) : null;
      case 'supportedlock': return this.readOnly ? '' : '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>'
        + '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';
      case 'lockdiscovery': return this.locks.covering(r.path).map((l) => this.activeLock(l)).join('');
      case 'quota-available-bytes': return quota ? String(quota.avail) : null;
      case 'quota-used-bytes': return quota ? String(quota.used) : null;
    }
  }

  private deadProps(r: Res): Readonly<Record<string, string>> {
    // r.path is the tree's own path (from list/stat): looked up as it is.
    return r.junk || r.path === '' ? {} : this.vault.propsAt(r.path);
  }

  /** What each response of a PROPFIND holds, decided once per request (not per entry). */
  private propPlan(mode: 'all' | 'names' | 'props', wanted: { ns: string; local: string }[], include: { ns: string; local: string }[]): PropPlan {
    const seen = new Set<string>();
    const items: PlanItem[] = [];
    const list = mode === 'props' ? wanted : mode === 'all' ? [...ALLPROP_LIVE.map((n) => ({ ns: DAV, local: n as string })), ...include] : [];
    for (const w of list) {
      const key = propKey(w.ns, w.local);
      if (seen.has(key)) continue;
      seen.add(key);
      items.push({ ns: w.ns, local: w.local, key, live: isLive(w.ns, w.local) ? w.local as LiveProp : null, empty: propElement(w.ns, w.local, null) });
    }
    return { mode, items, keys: seen, needDead: mode !== 'props' || items.some((i) => i.live === null), signature: `${mode}\0${[...seen].join('\0')}` };
  }

  private propResponse(r: Res, plan: PropPlan, quota: { avail: number; used: number } | null): string {
    let found = '';
    let missing = '';
    const dead = plan.needDead ? this.deadProps(r) : EMPTY;
    if (plan.mode === 'names') {
      for (const n of LIVE_PROPS) if (!n.startsWith('quota-') && this.liveValue(r, n, null) !== null) found += `<D:${n}/>`;
      for (const k of Object.keys(dead)) {
        const { ns, local } = splitPropKey(k);
        found += propElement(ns, local, null);
      }
    } else {
      for (const it of plan.items) {
        const v = it.live !== null ? this.liveValue(r, it.live, quota) : (dead[it.key] ?? null);
        if (v === null) {
          if (plan.mode === 'props') missing += it.empty;
        } else found += v === '' ? it.empty : propElement(it.ns, it.local, v);
      }
      // allprop: every dead property too (RFC 4918 §9.1).
      if (plan.mode === 'all') {
        for (const [k, v] of Object.entries(dead)) {
          if (plan.keys.has(k)) continue;
          const { ns, local } = splitPropKey(k);
          found += propElement(ns, local, v);
        }
      }
    }
    let out = `<D:response><D:href>${escapeText(hrefOf(r.path, r.type === 'dir'))}</D:href>`;
    if (found !== '') out += `<D:propstat><D:prop>${found}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>`;
    if (missing !== '') out += `<D:propstat><D:prop>${missing}</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>`;
    if (found === '' && missing === '') out += '<D:propstat><D:prop/><D:status>HTTP/1.1 200 OK</D:status></D:propstat>';
    return `${out}</D:response>`;
  }

  private async proppatch(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await this.readXml(req);
    if (!body || body.ns !== DAV || body.local !== 'propertyupdate') throw new DavError(400, 'expected a DAV:propertyupdate body');
    const ops: { op: 'set' | 'remove'; ns: string; local: string; value: string }[] = [];
    for (const e of elements(body)) {
      if (e.ns !== DAV || (e.local !== 'set' && e.local !== 'remove')) continue;
      const prop = child(e, DAV, 'prop');
      if (!prop) throw new DavError(400, `DAV:${e.local} without DAV:prop`);
      for (const p of elements(prop)) ops.push({ op: e.local, ns: p.ns, local: p.local, value: e.local === 'set' ? serializeChildren(p) : '' });
    }
    const xml = await this.serial(async () => {
      const r = this.stat(path);
      if (!r) throw new DavError(404, 'not found');
      const tokens = this.checkIf(req, path);
      this.checkLocks(tokens, [{ path }]);
      const protectedOnes = ops.filter((o) => isLive(o.ns, o.local) || r.junk || path === '');
      const line = (o: { ns: string; local: string }, status: string): string => `<D:propstat><D:prop>${propElement(o.ns, o.local, null)}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
      const parts: string[] = [`<D:multistatus xmlns:D="DAV:"><D:response><D:href>${escapeXml(hrefOf(path, r.type === 'dir'))}</D:href>`];
      if (protectedOnes.length > 0) {
        for (const o of ops) parts.push(protectedOnes.includes(o) ? line(o, '403 Forbidden') : line(o, '424 Failed Dependency'));
      } else {
        const set: Record<string, string> = {};
        const remove: string[] = [];
        for (const o of ops) {
          const k = propKey(o.ns, o.local);
          if (o.op === 'set') set[k] = o.value;
          else {
            delete set[k];
            remove.push(k);
          }
        }
        try {
          if (ops.length > 0) await this.vault.setProps(path, set, remove.filter((k) => !(k in set)));
          for (const o of ops) parts.push(line(o, '200 OK'));
        } catch (e) {
          if (!isCofferError(e) || e.code !== 'USAGE') throw e;
          for (const o of ops) parts.push(line(o, '507 Insufficient Storage'));
        }
      }
      parts.push('</D:response></D:multistatus>\n');
      return parts.join('');
    });
    this.xml(res, 207, xml);
  }

  /* ------------------------------------------------------------------ PUT, MKCOL, DELETE */

  private async put(req: IncomingMessage, res: ServerResponse, path: string, signal: AbortSignal): Promise<void> {
    if (req.headers['content-range']) throw new DavError(400, 'partial PUT (Content-Range) is not supported');
    if (path === '') throw new DavError(405, 'the root is a folder');
    const check = (): { existed: boolean } => {
      const r = this.stat(path);
      if (r && r.type === 'dir') throw new DavError(405, 'a folder is there');
      this.mustParentDir(path);
      const tokens = this.checkIf(req, path);
      this.checkLocks(tokens, r ? [{ path }] : [{ path }, { path: parentOf(path) }]);
      return { existed: r !== null };
    };
    if (isMacJunk(baseOf(path))) {
      const { existed } = await this.serial(check);
      const data = await this.readJunk(req, path);
      this.junk.set(path, { data, mtime: Date.now(), n: ++this.junkCounter });
      res.statusCode = existed ? 204 : 201;
      res.end();
      return;
    }
    await this.serial(check);
    let staged: StagedFile | null = await this.vault.stageStream(req, { signal });
    try {
      if (signal.aborted || !req.complete) throw new CofferError('CANCELLED', 'the upload was interrupted');
      const { existed, info } = await this.serial(async () => {
        const c = check();
        const s = staged as StagedFile;
        staged = null; // commitStaged owns it now (and discards it on failure)
        return { ...c, info: await this.vault.commitStaged(s, path) };
      });
      res.setHeader('ETag', `"${info.id}-${info.version}"`);
      res.statusCode = existed ? 204 : 201;
      res.end();
    } finally {
      if (staged) await this.vault.discardStaged(staged);
    }
  }

  private async readJunk(req: IncomingMessage, path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_JUNK_FILE) throw new DavError(507, 'macOS metadata file too large to keep in memory');
      chunks.push(c);
    }
    let total = n;
    for (const [k, j] of this.junk) if (k !== path) total += j.data.length;
    if (total > MAX_JUNK_TOTAL) throw new DavError(507, 'too many macOS metadata files kept in memory');
    return Buffer.concat(chunks);
  }

  private async mkcol(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await this.readBody(req).catch(() => 'x');
    if (body.length > 0) throw new DavError(415, 'MKCOL with a body is not supported');
    await this.serial(async () => {
      if (this.stat(path)) throw new DavError(405, 'something already exists there');
      this.mustParentDir(path);
      if (isMacJunk(baseOf(path))) throw new DavError(403, 'folders with macOS metadata names are not kept');
      const tokens = this.checkIf(req, path);
      this.checkLocks(tokens, [{ path: parentOf(path) }]);
      await this.vault.mkdir(path);
    });
    res.statusCode = 201;
    res.end();
  }

  private async delete(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    req.resume();
    await this.serial(async () => {
      const r = this.stat(path);
      if (!r) throw new DavError(404, 'not found');
      if (path === '') throw new DavError(403, 'the vault root cannot be deleted');
      const tokens = this.checkIf(req, path);
      this.checkLocks(tokens, [{ path, deep: true }, { path: parentOf(path) }]);
      await this.remove(r);
      this.locks.dropWithin(path);
    });
    res.statusCode = 204;
    res.end();
  }

  private async remove(r: Res): Promise<void> {
    if (r.junk) {
      this.junk.delete(r.path);
      return;
    }
    await this.vault.rm(r.path, { recursive: true });
    if (r.type === 'dir') for (const k of [...this.junk.keys()]) if (k.startsWith(`${r.path}/`)) this.junk.delete(k);
  }

  /* ------------------------------------------------------------------ COPY, MOVE */

  private destination(req: IncomingMessage): string {
    const d = req.headers.destination;
    if (typeof d !== 'string' || d === '') throw new DavError(400, 'Destination header missing');
    let u: URL;
    try {
      u = new URL(d, `http://127.0.0.1:${this.port}`);
    } catch {
      throw new DavError(400, 'bad Destination header');
    }
    if (!this.allowedHosts.has(u.host.toLowerCase())) throw new DavError(502, 'the Destination is on another server');
    return vaultPathOf(u.pathname);
  }

  private async copyMove(req: IncomingMessage, res: ServerResponse, path: string, move: boolean, signal: AbortSignal): Promise<void> {
    req.resume();
    const dest = this.destination(req);
    const overwrite = (req.headers.overwrite ?? 'T').toString().trim().toUpperCase() !== 'F';
    const depthH = (req.headers.depth ?? 'infinity').toString().trim().toLowerCase();
    if (depthH !== '0' && depthH !== 'infinity') throw new DavError(400, 'Depth must be 0 or infinity');
    if (move && depthH !== 'infinity') throw new DavError(400, 'MOVE of a folder needs Depth: infinity');
    if (path === '' || dest === '') throw new DavError(403, 'the vault root cannot be copied or moved');
    if (dest === path || dest.startsWith(`${path}/`)) throw new DavError(403, 'the destination is the source or inside it');
    const plan = await this.serial(async () => {
      const r = this.stat(path);
      if (!r) throw new DavError(404, 'not found');
      const d = this.stat(dest);
      this.mustParentDir(dest);
      if (d && !overwrite) throw new DavError(412, 'the destination exists and Overwrite is F');
      if (r.junk !== isMacJunk(baseOf(dest))) throw new DavError(403, 'macOS metadata files stay out of the vault and cannot be copied into it');
      const tokens = this.checkIf(req, path);
      const targets = [{ path: dest, deep: true }, { path: parentOf(dest) }];
      if (move) targets.push({ path, deep: true }, { path: parentOf(path) });
      this.checkLocks(tokens, targets);
      if (d) {
        // Overwriting keeps the destination's own locks: the new resource joins their scope (RFC 4918
        // §7.7), which is how editors (and davfs2) save: write a locked temp file, MOVE it over the original.
        await this.remove(d);
        this.locks.dropBelow(dest);
      }
      if (move) {
        if (r.junk) {
          const j = this.junk.get(path) as JunkFile;
          this.junk.delete(path);
          this.junk.set(dest, j);
        } else {
          await this.vault.mv(path, dest);
          for (const k of [...this.junk.keys()]) {
            if (k.startsWith(`${path}/`)) {
              this.junk.set(`${dest}${k.slice(path.length)}`, this.junk.get(k) as JunkFile);
              this.junk.delete(k);
            }
          }
        }
        this.locks.dropWithin(path);
        return { copy: null, existed: d !== null };
      }
      if (r.junk) {
        const j = this.junk.get(path) as JunkFile;
        this.junk.set(dest, { data: j.data, mtime: Date.now(), n: ++this.junkCounter });
        return { copy: null, existed: d !== null };
      }
      return { copy: r, existed: d !== null };
    });
    if (plan.copy) await this.copyTree(plan.copy, dest, depthH === 'infinity', signal);
    res.statusCode = plan.existed ? 204 : 201;
    res.end();
  }

  /** Copies a file, or a folder (with `deep`, everything in it) with their dead properties. */
  private async copyTree(src: Res, dest: string, deep: boolean, signal: AbortSignal): Promise<void> {
    const todo: { from: string; to: string; type: 'file' | 'dir'; size: number }[] = [{ from: src.path, to: dest, type: src.type, size: src.size }];
    if (src.type === 'dir' && deep) {
      const all = await this.serial(() => this.vault.list(src.path, { recursive: true }));
      for (const e of all) {
        if (e.conflict && e.conflict.source !== 'duplicate-name' && e.conflict.source !== 'orphan' && e.type === 'dir') continue;
        todo.push({ from: e.path, to: `${dest}${e.path.slice(src.path.length)}`, type: e.type, size: e.size });
      }
    }
    for (const t of todo) {
      if (signal.aborted) throw new CofferError('CANCELLED', 'cancelled');
      if (t.type === 'dir') {
        await this.serial(async () => {
          if (!this.vault.stat(t.to)) await this.vault.mkdir(t.to);
        });
      } else {
        const pass = new PassThrough({ highWaterMark: 1 << 20 });
        const reading = await this.serial(() => {
          const p = this.vault.readRange(t.from, pass, 0, t.size - 1, { signal });
          p.catch((e: unknown) => pass.destroy(e as Error));
          return { p };
        });
        let staged: StagedFile;
        try {
          staged = await this.vault.stageStream(pass, { signal });
        } catch (e) {
          pass.destroy();
          await reading.p.catch(() => undefined);
          throw e;
        }
        try {
          await reading.p;
        } catch (e) {
          await this.vault.discardStaged(staged);
          throw e;
        }
        await this.serial(() => this.vault.commitStaged(staged, t.to));
      }
      const props = await this.serial(() => this.vault.props(t.from));
      if (Object.keys(props).length > 0) await this.serial(() => this.vault.setProps(t.to, props));
    }
  }

  /* ------------------------------------------------------------------ LOCK, UNLOCK */

  private activeLock(l: DavLock): string {
    const root = this.stat(l.path);
    return `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${l.scope}/></D:lockscope>`
      + `<D:depth>${l.depth === 0 ? '0' : 'infinity'}</D:depth>${l.owner ? `<D:owner>${l.owner}</D:owner>` : ''}`
      + `<D:timeout>Second-${this.locks.secondsLeft(l)}</D:timeout><D:locktoken><D:href>${escapeXml(l.token)}</D:href></D:locktoken>`
      + `<D:lockroot><D:href>${escapeXml(hrefOf(l.path, root?.type === 'dir'))}</D:href></D:lockroot></D:activelock>`;
  }

  private async lock(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await this.readXml(req);
    const timeout = parseTimeout(typeof req.headers.timeout === 'string' ? req.headers.timeout : undefined);
    const depthH = (req.headers.depth ?? 'infinity').toString().trim().toLowerCase();
    if (depthH !== '0' && depthH !== 'infinity') throw new DavError(400, 'LOCK Depth must be 0 or infinity');
    if (!body) {
      // Refresh: the lock is named in the If header.
      const xml = await this.serial(() => {
        const h = req.headers.if;
        const lists = typeof h === 'string' ? parseIfHeader(h) : null;
        if (!lists) throw new DavError(400, 'a lock refresh needs the lock token in an If header');
        const lk = [...submittedTokens(lists)].map((t) => this.locks.get(t)).find((l) => l && this.locks.covering(path).includes(l));
        if (!lk) throw new DavError(412, 'no such lock on this resource', '<D:lock-token-matches-request-uri/>');
        this.locks.refresh(lk, timeout);
        return `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${this.activeLock(lk)}</D:lockdiscovery></D:prop>`;
      });
      this.xml(res, 200, xml);
      return;
    }
    if (body.ns !== DAV || body.local !== 'lockinfo') throw new DavError(400, 'expected a DAV:lockinfo body');
    const scopeEl = child(body, DAV, 'lockscope');
    const scope: LockScope | null = scopeEl && child(scopeEl, DAV, 'exclusive') ? 'exclusive' : scopeEl && child(scopeEl, DAV, 'shared') ? 'shared' : null;
    const typeEl = child(body, DAV, 'locktype');
    if (!scope || !typeEl || !child(typeEl, DAV, 'write')) throw new DavError(400, 'LOCK needs lockscope exclusive|shared and locktype write');
    const ownerEl = child(body, DAV, 'owner');
    const owner = ownerEl ? serializeChildren(ownerEl) : '';
    const depth = depthH === '0' ? 0 : 'infinity';
    const { lk, created } = await this.serial(async () => {
      let r = this.stat(path);
      const tokens = this.checkIf(req, path);
      if (!r) {
        this.mustParentDir(path);
        this.checkLocks(tokens, [{ path: parentOf(path) }]);
      }
      const clash = this.locks.conflicts(path, r?.type === 'dir' ? depth : 0, scope);
      if (clash) throw new DavError(423, 'already locked', '<D:no-conflicting-lock/>');
      let made = false;
      if (!r) {
        // LOCK on an unmapped URL creates an empty file (RFC 4918 §7.3).
        if (isMacJunk(baseOf(path))) this.junk.set(path, { data: Buffer.alloc(0), mtime: Date.now(), n: ++this.junkCounter });
        else await this.vault.addStream(path, Readable.from([]));
        r = this.stat(path);
        made = true;
      }
      return { lk: this.locks.create(path, r?.type === 'dir' ? depth : 0, scope, owner, timeout), created: made };
    });
    this.xml(res, created ? 201 : 200, `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${this.activeLock(lk)}</D:lockdiscovery></D:prop>`, { 'Lock-Token': `<${lk.token}>` });
  }

  private async unlock(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    req.resume();
    const h = req.headers['lock-token'];
    const m = typeof h === 'string' ? /^\s*<([^>]+)>\s*$/.exec(h) : null;
    if (!m) throw new DavError(400, 'UNLOCK needs a Lock-Token header');
    await this.serial(() => {
      const lk = this.locks.get(m[1] as string);
      if (!lk || !this.locks.covering(path).includes(lk)) throw new DavError(409, 'no such lock on this resource', '<D:lock-token-matches-request-uri/>');
      this.locks.remove(lk.token);
    });
    res.statusCode = 204;
    res.end();
  }
}

/** A single `Range: bytes=…` range (null: none, several, or not bytes → the whole file). */
function parseRange(req: IncomingMessage, r: Res): { start: number; end: number } | null {
  const h = req.headers.range;
  if (typeof h !== 'string') return null;
  const ifRange = req.headers['if-range'];
  if (typeof ifRange === 'string' && stripWeak(ifRange.trim()) !== stripWeak(r.etag) && ifRange.trim() !== new Date(r.mtime).toUTCString()) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return { start: r.size, end: r.size - 1 };
    return { start: Math.max(0, r.size - n), end: r.size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? r.size - 1 : Math.min(Number(m[2]), r.size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  return { start, end };
}
