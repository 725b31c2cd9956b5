/**
 * A HashiCorp-Vault-compatible HTTP(S) server with the Transit secrets engine, for tests and for
 * `npm run transit-dev`. It is NOT Vault and NOT secure storage: keys live in memory, it binds to
 * 127.0.0.1, and it exists so Coffer's provider can be tested over real TLS with node-vault.
 * Each behaviour follows a Vault source file; see README.md in this folder for the map.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { capabilitiesFor, parsePolicy, DEFAULT_POLICY, type Capability, type PathRule } from './acl';
import { TransitKey, UserError, KEY_TYPES, type TransitKeyType } from './keys';
import { goStdDecode } from './gobase64';

export interface TransitServerTls {
  readonly cert: string;
  readonly key: string;
  /** CA(s) trusted for client certificates. */
  readonly ca?: string;
  /** 'none': no client certificate asked; 'request': asked, optional (cert login); 'require': mTLS mandatory. */
  readonly clientCerts?: 'none' | 'request' | 'require';
}

export interface TransitServerOptions {
  readonly tls?: TransitServerTls;
  readonly port?: number;
  /** Root token to use (like `vault server -dev -dev-root-token-id`); random `hvs.` token otherwise. */
  readonly rootToken?: string;
  /** Mount a transit engine at transit/ (default true, as the dev server does after `vault secrets enable transit`). */
  readonly mountTransit?: boolean;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly namespace: string | undefined;
  readonly batchSize: number;
}

export interface TokenOptions {
  readonly policies?: readonly string[];
  /** Seconds; 0 or absent = no expiry. */
  readonly ttl?: number;
  readonly noDefaultPolicy?: boolean;
}

interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: string[];
  readonly created: number;
  readonly ttl: number;
  expiresAt: number | undefined;
  readonly displayName: string;
  readonly path: string;
  readonly meta: Record<string, string> | null;
}

interface AppRole {
  readonly roleId: string;
  readonly policies: string[];
  readonly ttl: number;
  readonly secretIds: Set<string>;
}

interface CertRole {
  readonly cert: X509Certificate;
  readonly policies: string[];
  readonly ttl: number;
}

interface Ctx {
  readonly method: string;
  readonly op: 'read' | 'list' | 'update' | 'delete';
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
  readonly socket: TLSSocket | undefined;
  readonly headers: http.IncomingHttpHeaders;
  token: TokenEntry | undefined;
}

/** What a route returns: a status and a JSON body (or none for 204). */
interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** sdk/logical/translate_response.go + http/logical.go: the standard response envelope. */
function envelope(data: unknown, extra: { auth?: unknown; warnings?: string[]; mountType?: string } = {}): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: data ?? null,
    wrap_info: null,
    warnings: extra.warnings && extra.warnings.length ? extra.warnings : null,
    auth: extra.auth ?? null,
    mount_type: extra.mountType ?? '',
  };
}

/** sdk/logical/response_util.go RespondError: `{"errors":[…]}`. */
const errorReply = (status: number, ...errors: string[]): Reply => ({ status, body: { errors } });
const ok = (data: unknown, extra?: Parameters<typeof envelope>[1]): Reply => ({ status: 200, body: envelope(data, extra) });
const noContent: Reply = { status: 204 };

/** vault/request_handling.go CheckToken wraps logical.ErrPermissionDenied in a go-multierror. */
export const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';
export const INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n';
/** consts.ErrSealed */
export const SEALED = 'Vault is sealed';

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Go time.ParseDuration subset plus plain seconds, as Vault's TypeDurationSecond accepts. */
export function parseDurationSeconds(v: unknown): number {
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number') return v;
  const s = String(v).trim();
  if (/^\d+$/.test(s)) return Number(s);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  let rest = s;
  const re = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) throw new HttpError(400, `time: invalid duration "${s}"`);
    total += Number(m[1]) * (units[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return total;
}

function strList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  return String(v).split(',').map((x) => x.trim()).filter(Boolean);
}

function newToken(): string {
  return 'hvs.' + randomBytes(18).toString('base64url');
}

export class TransitServer {
  readonly rootToken: string;
  readonly unsealKey = randomBytes(32).toString('base64');
  url = '';
  /** Every request, in order, for tests and the benchmark figures. */
  readonly requests: RequestRecord[] = [];
  private readonly server: http.Server | https.Server;
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly policies = new Map<string, PathRule[]>();
  private readonly policyText = new Map<string, string>();
  /** mount path (with trailing slash) → keys */
  private readonly mounts = new Map<string, { type: string; accessor: string; keys: Map<string, TransitKey> }>();
  private readonly approles = new Map<string, AppRole>();
  private readonly certRoles = new Map<string, CertRole>();
  private sealed = false;
  private standbyOf: string | undefined;
  private clockOffset = 0;
  private readonly tls: TransitServerTls | undefined;

  constructor(opts: TransitServerOptions = {}) {
    this.tls = opts.tls;
    this.rootToken = opts.rootToken ?? newToken();
    this.tokens.set(this.rootToken, {
      id: this.rootToken, accessor: randomUUID(), policies: ['root'], created: this.now(), ttl: 0, expiresAt: undefined,
      displayName: 'root', path: 'auth/token/root', meta: null,
    });
    this.policies.set('default', parsePolicy(DEFAULT_POLICY));
    this.policyText.set('default', DEFAULT_POLICY);
    if (opts.mountTransit !== false) this.mounts.set('transit/', { type: 'transit', accessor: 'transit_' + randomBytes(4).toString('hex'), keys: new Map() });
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.handle(req, res);
    };
    if (opts.tls) {
      const mode = opts.tls.clientCerts ?? 'none';
      this.server = https.createServer({
        cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca,
        requestCert: mode !== 'none', rejectUnauthorized: mode === 'require', minVersion: 'TLSv1.2',
      }, handler);
    } else {
      this.server = http.createServer(handler);
    }
    this.server.on('clientError', (err: Error, socket) => this.answerRawList(err, socket));
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`;
    return this;
  }

  async close(): Promise<void> {
    const s = this.server as http.Server & { closeAllConnections?: () => void };
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    });
  }

  // ---- test controls -------------------------------------------------------------------------

  /** Seconds since the epoch on the server's clock (tests move it forward to expire tokens). */
  now(): number {
    return Date.now() / 1000 + this.clockOffset;
  }
  advanceClock(seconds: number): void {
    this.clockOffset += seconds;
  }
  seal(): void {
    this.sealed = true;
  }
  unseal(): void {
    this.sealed = false;
  }
  get isSealed(): boolean {
    return this.sealed;
  }
  /** Act as a performance-less standby: everything but sys/health answers 307 to `activeUrl`. */
  setStandby(activeUrl: string | undefined): void {
    this.standbyOf = activeUrl;
  }
  clearLog(): void {
    this.requests.length = 0;
  }
  putPolicy(name: string, hcl: string): void {
    this.policies.set(name, parsePolicy(hcl));
    this.policyText.set(name, hcl);
  }
  deletePolicy(name: string): void {
    this.policies.delete(name);
    this.policyText.delete(name);
  }
  createToken(opts: TokenOptions = {}): string {
    return this.issueToken(opts.policies ?? [], opts.ttl ?? 0, !opts.noDefaultPolicy, 'token', 'auth/token/create', null).id;
  }
  revokeToken(token: string): void {
    this.tokens.delete(token);
  }
  createKey(name: string, type: TransitKeyType = 'aes256-gcm96', mount = 'transit'): TransitKey {
    const m = this.mounts.get(mount + '/');
    if (!m) throw new Error(`no mount ${mount}`);
    const k = new TransitKey(name, type);
    m.keys.set(name, k);
    return k;
  }
  key(name: string, mount = 'transit'): TransitKey | undefined {
    return this.mounts.get(mount + '/')?.keys.get(name);
  }
  addAppRole(name: string, opts: { policies: readonly string[]; ttl?: number }): { roleId: string; secretId: string } {
    const role: AppRole = { roleId: randomUUID(), policies: [...opts.policies], ttl: opts.ttl ?? 0, secretIds: new Set() };
    const secretId = randomUUID();
    role.secretIds.add(secretId);
    this.approles.set(name, role);
    return { roleId: role.roleId, secretId };
  }
  addCertRole(name: string, opts: { caPem: string; policies: readonly string[]; ttl?: number }): void {
    this.certRoles.set(name, { cert: new X509Certificate(opts.caPem), policies: [...opts.policies], ttl: opts.ttl ?? 0 });
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private issueToken(policies: readonly string[], ttl: number, withDefault: boolean, displayName: string, path: string, meta: Record<string, string> | null): TokenEntry {
    const all = withDefault && !policies.includes('root') ? ['default', ...policies.filter((p) => p !== 'default')] : [...policies];
    const id = newToken();
    const created = this.now();
    const entry: TokenEntry = {
      id, accessor: randomBytes(12).toString('base64url'), policies: all.sort(), created, ttl,
      expiresAt: ttl > 0 ? created + ttl : undefined, displayName, path, meta,
    };
    this.tokens.set(id, entry);
    return entry;
  }

  private authBlock(t: TokenEntry): Record<string, unknown> {
    return {
      client_token: t.id, accessor: t.accessor, policies: t.policies, token_policies: t.policies,
      identity_policies: null, metadata: t.meta, lease_duration: t.ttl, renewable: t.ttl > 0,
      entity_id: '', token_type: 'service', orphan: true, mfa_requirement: null, num_uses: 0,
    };
  }

  private async readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      // http/handler.go: max_request_size defaults to 32 MiB
      if (size > 32 * 1024 * 1024) throw new HttpError(413, 'http: request body too large');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let bodyBytes: Buffer;
    try {
      bodyBytes = await this.readBody(req);
    } catch (e) {
      res.writeHead((e as HttpError).status ?? 500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [(e as Error).message] }));
      return;
    }
    const reply = this.dispatch(req.method ?? 'GET', req.url ?? '/', req.headers, bodyBytes, this.tls ? (req.socket as TLSSocket) : undefined);
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...(reply.headers ?? {}) };
    if (reply.body !== undefined) headers['Content-Type'] = 'application/json';
    res.writeHead(reply.status, headers);
    res.end(reply.body !== undefined ? JSON.stringify(reply.body) + '\n' : undefined);
  }

  /**
   * Node's HTTP parser refuses the non-standard LIST verb that Vault (and node-vault's `list`)
   * use, before any request handler runs. Vault answers LIST like `GET ?list=true`, so the raw
   * request is parsed here (request line and headers; LIST carries no body) and answered directly.
   */
  private answerRawList(err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void {
    const raw = err.rawPacket?.toString('latin1') ?? '';
    if (err.code !== 'HPE_INVALID_METHOD' || !raw.startsWith('LIST ')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const [head = ''] = raw.split('\r\n\r\n');
    const [requestLine = '', ...headerLines] = head.split('\r\n');
    const headers: http.IncomingHttpHeaders = {};
    for (const line of headerLines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const target = requestLine.split(' ')[1] ?? '/';
    const reply = this.dispatch('LIST', target, headers, Buffer.alloc(0), this.tls ? (socket as TLSSocket) : undefined);
    const body = reply.body !== undefined ? JSON.stringify(reply.body) + '\n' : '';
    const status = `HTTP/1.1 ${reply.status} ${http.STATUS_CODES[reply.status] ?? ''}`;
    const extra = Object.entries(reply.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(`${status}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  private dispatch(methodIn: string, target: string, reqHeaders: http.IncomingHttpHeaders, bodyBytes: Buffer, socket: TLSSocket | undefined): Reply {
    const url = new URL(target, 'http://x');
    const rawPath = url.pathname.startsWith('/v1/') ? url.pathname.slice(4) : undefined;
    let reply: Reply;
    let batchSize = 0;
    const ns = reqHeaders['x-vault-namespace'];
    const namespace = typeof ns === 'string' ? ns : undefined;
    const method = methodIn.toUpperCase();
    try {
      if (rawPath === undefined) throw new HttpError(404, '404 page not found');
      let body: Record<string, unknown> = {};
      if (bodyBytes.length) {
        try {
          const parsed: unknown = JSON.parse(bodyBytes.toString('utf8'));
          body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
        } catch (e) {
          throw new HttpError(400, `failed to parse JSON input: ${(e as Error).message}`);
        }
      }
      if (Array.isArray(body.batch_input)) batchSize = body.batch_input.length;
      const isList = method === 'LIST' || (method === 'GET' && ['true', '1'].includes(url.searchParams.get('list') ?? ''));
      const op: Ctx['op'] = isList ? 'list' : method === 'GET' || method === 'HEAD' ? 'read' : method === 'DELETE' ? 'delete'
        : method === 'POST' || method === 'PUT' || method === 'PATCH' ? 'update' : (() => { throw new HttpError(405, 'unsupported operation'); })();
      const ctx: Ctx = { method, op, path: rawPath.replace(/\/+$/, ''), query: url.searchParams, body, socket, headers: reqHeaders, token: undefined };
      reply = this.route(ctx, url);
    } catch (e) {
      reply = e instanceof HttpError ? errorReply(e.status, e.message) : errorReply(500, (e as Error).message);
    }
    this.requests.push({ method, path: rawPath ?? url.pathname, status: reply.status, namespace, batchSize });
    return reply;
  }

  private route(ctx: Ctx, url: URL): Reply {
    const p = ctx.path;
    // http/handler.go handleRequestForwarding/respondStandby: a standby without request
    // forwarding answers 307 with the active node's address and the same path and query.
    if (this.standbyOf && p !== 'sys/health') {
      return { status: 307, headers: { Location: `${this.standbyOf}/v1/${url.pathname.slice(4)}${url.search}` } };
    }
    // Unauthenticated system paths (http/sys_health.go, http/sys_seal.go).
    if (p === 'sys/health') return this.health(ctx);
    if (p === 'sys/seal-status') return { status: 200, body: this.sealStatus() };
    if (p === 'sys/unseal') {
      if (ctx.body.reset === true) return { status: 200, body: this.sealStatus() };
      if (ctx.body.key !== this.unsealKey) return errorReply(400, "'key' must be a valid hex or base64 string");
      this.sealed = false;
      return { status: 200, body: this.sealStatus() };
    }
    // vault/core.go: every other request on a sealed Vault fails with consts.ErrSealed → 503.
    if (this.sealed) return errorReply(503, SEALED);
    if (p === 'auth/approle/login') return this.approleLogin(ctx);
    if (p === 'auth/cert/login') return this.certLogin(ctx);

    // vault/request_handling.go CheckToken
    const headerToken = this.tokenFromHeaders(ctx);
    if (!headerToken) return errorReply(403, PERMISSION_DENIED);
    const t = this.tokens.get(headerToken);
    if (!t || (t.expiresAt !== undefined && t.expiresAt <= this.now())) {
      if (t) this.tokens.delete(headerToken);
      return errorReply(403, INVALID_TOKEN);
    }
    ctx.token = t;

    if (p === 'sys/seal') {
      this.require(ctx, p, 'sudo');
      this.sealed = true;
      return noContent;
    }
    if (p.startsWith('sys/')) return this.sys(ctx);
    if (p.startsWith('auth/token/')) return this.tokenPaths(ctx);
    if (p.startsWith('auth/approle/role/')) return this.approleAdmin(ctx);
    if (p.startsWith('auth/cert/certs/')) return this.certAdmin(ctx);
    for (const [mount, m] of this.mounts) {
      if (p.startsWith(mount) || p + '/' === mount) return this.transit(ctx, mount, m.keys);
    }
    return errorReply(404, `no handler for route "${p}". route entry not found.`);
  }

  /** http/handler.go: X-Vault-Token, or `Authorization: Bearer …`. */
  private tokenFromHeaders(ctx: Ctx): string | undefined {
    const h = ctx.headers['x-vault-token'];
    if (typeof h === 'string' && h) return h;
    const a = ctx.headers.authorization;
    if (typeof a === 'string' && a.startsWith('Bearer ')) return a.slice(7);
    return undefined;
  }

  /** vault/acl.go AllowOperation: the capability for the operation, root allows everything. */
  private can(ctx: Ctx, path: string, cap: Capability): boolean {
    const t = ctx.token;
    if (!t) return false;
    if (t.policies.includes('root')) return true;
    const rules = t.policies.map((name) => this.policies.get(name)).filter((r): r is PathRule[] => !!r);
    const caps = capabilitiesFor(rules, path);
    return caps.has(cap);
  }
  private require(ctx: Ctx, path: string, cap: Capability): void {
    if (!this.can(ctx, path, cap)) throw new HttpError(403, PERMISSION_DENIED);
  }
  /** The capability an operation needs; writes become `create` when the path has an existence check that fails. */
  private capFor(ctx: Ctx, exists = true): Capability {
    switch (ctx.op) {
      case 'read': return 'read';
      case 'list': return 'list';
      case 'delete': return 'delete';
      default: return exists ? 'update' : 'create';
    }
  }

  // ---- sys ----

  private health(ctx: Ctx): Reply {
    // http/sys_health.go: 200 active, 429 standby, 503 sealed, 501 not initialised.
    const body = {
      initialized: true, sealed: this.sealed, standby: !!this.standbyOf, performance_standby: false,
      replication_performance_mode: 'disabled', replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(this.now()), version: '1.17.0+coffer-test', cluster_name: 'coffer-test', cluster_id: 'coffer-test',
    };
    const q = (k: string): number | undefined => (ctx.query.has(k) ? Number(ctx.query.get(k)) : undefined);
    let status = 200;
    if (this.sealed) status = q('sealedcode') ?? 503;
    else if (this.standbyOf) status = ctx.query.get('standbyok') === 'true' ? 200 : q('standbycode') ?? 429;
    else status = q('activecode') ?? 200;
    return { status, body };
  }

  private sealStatus(): Record<string, unknown> {
    return { type: 'shamir', initialized: true, sealed: this.sealed, t: 1, n: 1, progress: 0, nonce: '', version: '1.17.0+coffer-test', build_date: '', migration: false, recovery_seal: false, storage_type: 'inmem' };
  }

  private sys(ctx: Ctx): Reply {
    const p = ctx.path;
    if (p === 'sys/mounts' && ctx.op === 'read') {
      this.require(ctx, p, 'read');
      const data: Record<string, unknown> = {};
      for (const [mount, m] of this.mounts) data[mount] = { type: m.type, accessor: m.accessor, description: '', config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false }, local: false, seal_wrap: false, options: null };
      data['sys/'] = { type: 'system', accessor: 'system_0', description: 'system endpoints used for control, policy and debugging', config: {}, local: false, seal_wrap: true, options: null };
      // The sys/mounts answer carries the mounts both at top level (legacy) and under data.
      return { status: 200, body: { ...data, ...envelope(data) } };
    }
    const mountMatch = /^sys\/mounts\/(.+)$/.exec(p);
    if (mountMatch) {
      const path = (mountMatch[1] as string).replace(/\/?$/, '/');
      this.require(ctx, p, ctx.op === 'delete' ? 'delete' : 'update');
      if (ctx.op === 'delete') {
        this.mounts.delete(path);
        return noContent;
      }
      if (this.mounts.has(path)) return errorReply(400, `path is already in use at ${path}`);
      if (ctx.body.type !== 'transit') return errorReply(400, `plugin not found in the catalog: ${String(ctx.body.type)}`);
      this.mounts.set(path, { type: 'transit', accessor: 'transit_' + randomBytes(4).toString('hex'), keys: new Map() });
      return noContent;
    }
    const pol = /^sys\/(?:policies\/acl|policy)\/([^/]+)$/.exec(p);
    if (pol) {
      const name = pol[1] as string;
      this.require(ctx, p, this.capFor(ctx, this.policies.has(name)));
      if (ctx.op === 'read') {
        const text = this.policyText.get(name);
        return text === undefined ? errorReply(404) : ok({ name, policy: text, rules: text });
      }
      if (ctx.op === 'delete') {
        this.deletePolicy(name);
        return noContent;
      }
      const text = String(ctx.body.policy ?? ctx.body.rules ?? '');
      try {
        this.putPolicy(name, text);
      } catch (e) {
        return errorReply(400, (e as Error).message);
      }
      return noContent;
    }
    return errorReply(404, `no handler for route "${p}". route entry not found.`);
  }

  // ---- auth ----

  private tokenPaths(ctx: Ctx): Reply {
    const p = ctx.path;
    const t = ctx.token as TokenEntry;
    if (p === 'auth/token/lookup-self') {
      this.require(ctx, p, ctx.op === 'read' ? 'read' : 'update');
      const ttl = t.expiresAt === undefined ? 0 : Math.max(0, Math.round(t.expiresAt - this.now()));
      return ok({
        accessor: t.accessor, creation_time: Math.floor(t.created), creation_ttl: t.ttl, display_name: t.displayName,
        entity_id: '', expire_time: t.expiresAt === undefined ? null : new Date(t.expiresAt * 1000).toISOString(),
        explicit_max_ttl: 0, id: t.id, issue_time: new Date(t.created * 1000).toISOString(), meta: t.meta, num_uses: 0,
        orphan: true, path: t.path, policies: t.policies, renewable: t.ttl > 0, ttl, type: 'service',
      });
    }
    if (p === 'auth/token/create') {
      this.require(ctx, p, 'update');
      const policies = strList(ctx.body.policies);
      const isRoot = t.policies.includes('root');
      if (!isRoot && policies.some((x) => !t.policies.includes(x))) return errorReply(400, 'child policies must be subset of parent');
      const nt = this.issueToken(policies.length ? policies : t.policies.filter((x) => x !== 'default'), parseDurationSeconds(ctx.body.ttl), ctx.body.no_default_policy !== true, 'token', 'auth/token/create', null);
      return ok(null, { auth: this.authBlock(nt) });
    }
    if (p === 'auth/token/renew-self') {
      this.require(ctx, p, 'update');
      if (t.ttl > 0) t.expiresAt = this.now() + t.ttl;
      return ok(null, { auth: this.authBlock(t) });
    }
    if (p === 'auth/token/revoke-self') {
      this.require(ctx, p, 'update');
      this.tokens.delete(t.id);
      return noContent;
    }
    return errorReply(404, 'unsupported path');
  }

  private approleAdmin(ctx: Ctx): Reply {
    const m = /^auth\/approle\/role\/([^/]+)(?:\/(role-id|secret-id))?$/.exec(ctx.path);
    if (!m) return errorReply(404, 'unsupported path');
    const name = m[1] as string;
    const role = this.approles.get(name);
    this.require(ctx, ctx.path, this.capFor(ctx, !!role || !!m[2]));
    if (!m[2]) {
      const policies = strList(ctx.body.token_policies ?? ctx.body.policies);
      this.addAppRole(name, { policies, ttl: parseDurationSeconds(ctx.body.token_ttl) });
      (this.approles.get(name) as AppRole).secretIds.clear();
      return noContent;
    }
    if (!role) return errorReply(400, `role "${name}" does not exist`);
    if (m[2] === 'role-id') return ok({ role_id: role.roleId });
    const secretId = randomUUID();
    role.secretIds.add(secretId);
    return ok({ secret_id: secretId, secret_id_accessor: randomUUID(), secret_id_ttl: 0, secret_id_num_uses: 0 });
  }

  /** builtin/credential/approle/path_login.go */
  private approleLogin(ctx: Ctx): Reply {
    const roleId = String(ctx.body.role_id ?? '');
    if (!roleId) return errorReply(400, 'missing role_id');
    const role = [...this.approles.values()].find((r) => r.roleId === roleId);
    const secretId = String(ctx.body.secret_id ?? '');
    if (!role || !role.secretIds.has(secretId)) return errorReply(400, 'invalid role or secret ID');
    const t = this.issueToken(role.policies, role.ttl, true, 'approle', 'auth/approle/login', { role_name: [...this.approles].find(([, r]) => r === role)?.[0] ?? '' });
    return ok(null, { auth: this.authBlock(t) });
  }

  private certAdmin(ctx: Ctx): Reply {
    const name = ctx.path.slice('auth/cert/certs/'.length);
    this.require(ctx, ctx.path, this.capFor(ctx, this.certRoles.has(name)));
    if (ctx.op === 'delete') {
      this.certRoles.delete(name);
      return noContent;
    }
    try {
      this.addCertRole(name, { caPem: String(ctx.body.certificate ?? ''), policies: strList(ctx.body.token_policies ?? ctx.body.policies), ttl: parseDurationSeconds(ctx.body.token_ttl) });
    } catch {
      return errorReply(400, 'failed to parse certificate');
    }
    return noContent;
  }

  /** builtin/credential/cert/path_login.go: the TLS client certificate must chain to a configured cert role. */
  private certLogin(ctx: Ctx): Reply {
    const sock = ctx.socket;
    const peer = sock?.getPeerX509Certificate?.();
    if (!sock || !peer) return errorReply(400, 'client certificate must be supplied');
    const wanted = typeof ctx.body.name === 'string' && ctx.body.name ? ctx.body.name : undefined;
    const now = new Date(this.now() * 1000);
    for (const [name, role] of this.certRoles) {
      if (wanted && wanted !== name) continue;
      const trusted = peer.checkIssued(role.cert) && peer.verify(role.cert.publicKey) && new Date(peer.validTo) > now && new Date(peer.validFrom) <= now;
      if (trusted || peer.fingerprint256 === role.cert.fingerprint256) {
        const t = this.issueToken(role.policies, role.ttl, true, `cert-${name}`, 'auth/cert/login', { cert_name: name, common_name: peer.subject.replace(/^.*CN=/s, '') });
        return ok(null, { auth: this.authBlock(t) });
      }
    }
    return errorReply(400, 'invalid certificate or no client certificate supplied');
  }

  // ---- transit (builtin/logical/transit) ----

  private transit(ctx: Ctx, mount: string, keys: Map<string, TransitKey>): Reply {
    const rel = ctx.path.slice(mount.length);
    const mt = { mountType: 'transit' };
    if (rel === 'keys' || rel === '') {
      if (ctx.op !== 'list') return errorReply(405, 'unsupported operation');
      this.require(ctx, ctx.path, 'list');
      // sdk/logical/response_util.go RespondErrorCommon: an empty list is a 404 with no errors.
      if (!keys.size) return errorReply(404);
      return ok({ keys: [...keys.keys()].sort() }, mt);
    }
    let m = /^keys\/([^/]+)$/.exec(rel);
    if (m) return this.keysPath(ctx, m[1] as string, keys);
    m = /^keys\/([^/]+)\/(config|rotate)$/.exec(rel);
    if (m) {
      const name = m[1] as string;
      this.require(ctx, ctx.path, 'update');
      if (ctx.op !== 'update') return errorReply(405, 'unsupported operation');
      const k = keys.get(name);
      if (m[2] === 'rotate') {
        // path_rotate.go
        if (!k) return errorReply(400, 'key not found');
        k.rotate();
        return ok(k.describe(), mt);
      }
      if (!k) return errorReply(400, `no existing key named ${name} could be found`);
      return this.keyConfig(ctx, k);
    }
    m = /^(encrypt|decrypt|rewrap)\/([^/]+)$/.exec(rel);
    if (m) {
      const name = m[2] as string;
      if (ctx.op !== 'update') return errorReply(405, 'unsupported operation');
      let k = keys.get(name);
      if (m[1] === 'encrypt') {
        // path_encrypt.go: ExistenceCheck makes a write to a missing key a create (upsert).
        this.require(ctx, ctx.path, this.capFor(ctx, !!k));
      } else {
        this.require(ctx, ctx.path, 'update');
      }
      if (!k && m[1] === 'encrypt') {
        const type = String(ctx.body.type ?? 'aes256-gcm96');
        if (!KEY_TYPES.includes(type as TransitKeyType)) return errorReply(400, `unknown key type ${type}`);
        if (this.batchItems(ctx).some((it) => it.context)) return errorReply(400, 'key derivation is not supported by this test server');
        k = new TransitKey(name, type as TransitKeyType);
        keys.set(name, k);
      }
      return this.batchOp(ctx, m[1] as 'encrypt' | 'decrypt' | 'rewrap', k);
    }
    m = /^datakey\/([^/]+)\/([^/]+)$/.exec(rel);
    if (m) {
      this.require(ctx, ctx.path, 'update');
      return this.datakey(ctx, m[1] as string, keys.get(m[2] as string));
    }
    return errorReply(404, 'unsupported path');
  }

  private keysPath(ctx: Ctx, name: string, keys: Map<string, TransitKey>): Reply {
    const k = keys.get(name);
    const mt = { mountType: 'transit' };
    switch (ctx.op) {
      case 'read':
        this.require(ctx, ctx.path, 'read');
        return k ? ok(k.describe(), mt) : errorReply(404);
      case 'delete': {
        this.require(ctx, ctx.path, 'delete');
        // keysutil/lock_manager.go DeletePolicy, wrapped by path_keys.go
        if (!k) return errorReply(400, `error deleting policy ${name}: could not delete key; not found`);
        if (!k.deletionAllowed) return errorReply(400, `error deleting policy ${name}: deletion is not allowed for this key`);
        keys.delete(name);
        return noContent;
      }
      case 'update': {
        // path_keys.go pathPolicyWrite: no existence check, so `update`.
        this.require(ctx, ctx.path, 'update');
        if (k) return ok(k.describe(), mt);
        const type = String(ctx.body.type ?? 'aes256-gcm96');
        if (!KEY_TYPES.includes(type as TransitKeyType)) return errorReply(400, `unknown key type ${type}`);
        const nk = new TransitKey(name, type as TransitKeyType);
        keys.set(name, nk);
        return ok(nk.describe(), mt);
      }
      default:
        return errorReply(405, 'unsupported operation');
    }
  }

  /** path_config_keys.go */
  private keyConfig(ctx: Ctx, k: TransitKey): Reply {
    const orig = { d: k.minDecryptionVersion, e: k.minEncryptionVersion, del: k.deletionAllowed };
    const fail = (msg: string): Reply => {
      k.minDecryptionVersion = orig.d;
      k.minEncryptionVersion = orig.e;
      k.deletionAllowed = orig.del;
      return errorReply(400, msg);
    };
    const warnings: string[] = [];
    const int = (v: unknown): number => (typeof v === 'number' ? Math.trunc(v) : Number.parseInt(String(v), 10));
    if (ctx.body.min_decryption_version !== undefined) {
      let v = int(ctx.body.min_decryption_version);
      if (v < 0) return fail('min decryption version cannot be negative');
      if (v === 0) {
        v = 1;
        warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
      }
      if (v !== k.minDecryptionVersion) {
        if (v > k.latestVersion) return fail(`cannot set min decryption version of ${v}, latest key version is ${k.latestVersion}`);
        k.minDecryptionVersion = v;
      }
    }
    if (ctx.body.min_encryption_version !== undefined) {
      const v = int(ctx.body.min_encryption_version);
      if (v < 0) return fail('min encryption version cannot be negative');
      if (v !== k.minEncryptionVersion) {
        if (v > k.latestVersion) return fail(`cannot set min encryption version of ${v}, latest key version is ${k.latestVersion}`);
        k.minEncryptionVersion = v;
      }
    }
    if (k.minEncryptionVersion > 0 && k.minEncryptionVersion < k.minDecryptionVersion) {
      return fail(`cannot set min encryption/decryption values; min encryption version of ${k.minEncryptionVersion} must be greater than or equal to min decryption version of ${k.minDecryptionVersion}`);
    }
    if (ctx.body.deletion_allowed !== undefined) k.deletionAllowed = ctx.body.deletion_allowed === true || ctx.body.deletion_allowed === 'true';
    return ok(k.describe(), { mountType: 'transit', warnings });
  }

  private batchItems(ctx: Ctx): Record<string, unknown>[] {
    const raw = ctx.body.batch_input;
    if (raw === undefined || raw === null) return [ctx.body];
    if (!Array.isArray(raw)) throw new HttpError(500, `failed to parse batch input: source data must be an array or slice, got ${typeof raw}`);
    return raw.map((it, i) => {
      if (!it || typeof it !== 'object' || Array.isArray(it)) throw new HttpError(500, `failed to parse batch input: [${i}] expected a map, got '${typeof it}'`);
      return it as Record<string, unknown>;
    });
  }

  /**
   * path_encrypt.go / path_decrypt.go / path_rewrap.go: one item or batch_input. Per-item user
   * errors go into batch_results[i].error; with any failure the status is 400 (or
   * partial_failure_response_code when some succeeded) and the body is the normal envelope with
   * data.batch_results and no `errors` key (logical.RespondWithStatusCode).
   */
  private batchOp(ctx: Ctx, op: 'encrypt' | 'decrypt' | 'rewrap', k: TransitKey | undefined): Reply {
    const isBatch = ctx.body.batch_input !== undefined && ctx.body.batch_input !== null;
    const items = this.batchItems(ctx);
    if (isBatch && items.length === 0) return errorReply(400, 'missing batch input to process');
    if (!isBatch) {
      if (op === 'encrypt' && typeof ctx.body.plaintext !== 'string') return errorReply(400, 'missing plaintext to encrypt');
      if (op !== 'encrypt' && typeof ctx.body.ciphertext !== 'string') return errorReply(400, 'missing ciphertext to decrypt');
    }
    if (!k) return errorReply(400, 'encryption key not found');
    const results: Record<string, unknown>[] = [];
    let failures = 0;
    for (const it of items) {
      const out: Record<string, unknown> = {};
      try {
        const keyVersion = it.key_version === undefined ? 0 : Number(it.key_version);
        if (op === 'encrypt') {
          if (typeof it.plaintext !== 'string') throw new UserError("'plaintext' expected type 'string'");
          const r = k.encrypt(keyVersion, it.plaintext);
          out.ciphertext = r.ciphertext;
          out.key_version = r.version;
        } else {
          if (typeof it.ciphertext !== 'string' || it.ciphertext === '') throw new UserError('missing ciphertext to decrypt');
          const d = k.decrypt(it.ciphertext);
          if (op === 'decrypt') {
            out.plaintext = d.plaintext.toString('base64');
          } else {
            const r = k.encrypt(keyVersion, d.plaintext.toString('base64'));
            out.ciphertext = r.ciphertext;
            out.key_version = r.version;
          }
        }
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        out.error = e.message;
        failures++;
      }
      if (typeof it.reference === 'string') out.reference = it.reference;
      results.push(out);
    }
    const mt = { mountType: 'transit' };
    if (!isBatch) {
      const r = results[0] as Record<string, unknown>;
      if (r.error) return errorReply(400, r.error as string);
      delete r.reference;
      return ok(r, mt);
    }
    let status = 200;
    if (failures) {
      const partial = ctx.body.partial_failure_response_code;
      status = failures < items.length && typeof partial === 'number' && partial >= 200 && partial < 600 ? partial : 400;
    }
    return { status, body: envelope({ batch_results: results }, mt) };
  }

  /** path_datakey.go */
  private datakey(ctx: Ctx, type: string, k: TransitKey | undefined): Reply {
    if (type !== 'plaintext' && type !== 'wrapped') return errorReply(400, `invalid path, must be 'plaintext' or 'wrapped'`);
    if (!k) return errorReply(400, 'encryption key not found');
    const bits = ctx.body.bits === undefined ? 256 : Number(ctx.body.bits);
    if (![128, 256, 512].includes(bits)) return errorReply(400, 'invalid bits length');
    const plaintext = randomBytes(bits / 8);
    try {
      const r = k.encrypt(ctx.body.key_version === undefined ? 0 : Number(ctx.body.key_version), plaintext.toString('base64'));
      const data: Record<string, unknown> = { ciphertext: r.ciphertext, key_version: r.version };
      if (type === 'plaintext') data.plaintext = plaintext.toString('base64');
      return ok(data, { mountType: 'transit' });
    } catch (e) {
      if (e instanceof UserError) return errorReply(400, e.message);
      throw e;
    }
  }
}

/** Starts a server on 127.0.0.1 (random port unless `port` is given). */
export async function startTransitServer(opts: TransitServerOptions = {}): Promise<TransitServer> {
  return new TransitServer(opts).listen(opts.port ?? 0);
}

export { goStdDecode };
