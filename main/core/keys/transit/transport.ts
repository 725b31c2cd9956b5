/**
 * The HTTP transport under node-vault. node-vault 0.12 accepts a `request-promise`-style transport
 * (its documented `"request-promise"` option); Coffer supplies this one instead of node-vault's
 * built-in axios path because that path:
 *   - turns certificate checks off for ANY non-empty VAULT_SKIP_VERIFY ("false" included);
 *   - sends loopback traffic through HTTP(S)_PROXY (axios' proxy-from-env has no loopback rule);
 *   - follows redirects to any host with the X-Vault-Token header still attached.
 * Here: TLS 1.2 minimum, the configured CA only, optional client certificate, optional SPKI pins,
 * proxies only for non-loopback hosts outside NO_PROXY (HTTP CONNECT tunnel for https), 307/302
 * redirects (Vault standbys) followed only to allowlisted addresses, and every network or TLS
 * failure turned into a CofferError that says which failure it was.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { createHash, X509Certificate } from 'node:crypto';
import { CofferError } from '../../errors';
import { isLoopbackHost, type ResolvedTransitConfig } from './config';

export interface TransportRequest {
  readonly method: string;
  readonly uri: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
}

export interface TransportResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

export interface TlsDetails {
  readonly protocol: string | null;
  readonly cipher: string;
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: string;
  readonly subjectAltName: string;
  readonly spkiSha256: string;
}

export interface RequestEvent {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

export interface Transport {
  /** node-vault calls `defaults(rpDefaults)` and uses the returned function for every request. */
  defaults(rpDefaults: unknown): (req: TransportRequest) => Promise<TransportResponse>;
  /** TLS details of the most recent HTTPS connection (for `coffer transit status`). */
  lastTls(): TlsDetails | undefined;
  close(): void;
}

const MAX_BODY = 64 * 1024 * 1024;
const MAX_REDIRECTS = 3;

export function spkiSha256OfDer(der: Uint8Array): string {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Which proxy (if any) a request to `url` goes through, following curl/Go conventions; loopback never. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): URL | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const entry of noProxy) {
    if (entry === '*') return undefined;
    const [eh = '', ep] = entry.split(':');
    if (ep && ep !== port) continue;
    const bare = eh.replace(/^\*?\./, '');
    if (host === bare || host.endsWith('.' + bare)) return undefined;
  }
  const raw = url.protocol === 'https:' ? env.HTTPS_PROXY ?? env.https_proxy : env.HTTP_PROXY ?? env.http_proxy;
  if (!raw) return undefined;
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new CofferError('TRANSIT_CONFIG', `the proxy setting "${raw}" is not a URL`);
  }
}

const CHAIN_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_CHAIN_TOO_LONG', 'INVALID_PURPOSE',
]);
const CLIENT_CERT_CODES = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
]);
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused', ENOTFOUND: 'host name not found', EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable', ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset', EPIPE: 'connection closed', ECONNABORTED: 'connection aborted',
};

function describePeer(cert: X509Certificate | undefined): { names: string; validTo: string; validFrom: string } {
  if (!cert) return { names: 'another name', validTo: 'an earlier date', validFrom: 'a later date' };
  const names = (cert.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^(DNS|IP Address):/, '')).filter(Boolean);
  return { names: names.length ? names.join(', ') : cert.subject.replace(/\n/g, ', '), validTo: new Date(cert.validTo).toISOString(), validFrom: new Date(cert.validFrom).toISOString() };
}

/** Turns a socket/TLS error into a CofferError naming the failure and what to do. */
export function classifyNetworkError(e: unknown, config: ResolvedTransitConfig, target: URL, peer: X509Certificate | undefined, afterHandshake = false): CofferError {
  if (e instanceof CofferError) return e;
  const err = e as NodeJS.ErrnoException & { reason?: string; cert?: { raw?: Buffer } };
  const code = err.code ?? '';
  const at = `Vault at ${target.origin}`;
  let certFromError: X509Certificate | undefined;
  try {
    certFromError = err.cert?.raw ? new X509Certificate(err.cert.raw) : undefined;
  } catch {
    certFromError = undefined;
  }
  const p = describePeer(peer ?? certFromError);
  if (code === 'ERR_COFFER_SPKI_PIN') {
    return new CofferError('TRANSIT_TLS', `${at}: TLS public key pin mismatch: the server's key (sha256/${err.message}) matches none of the ${config.pins.length} pinned key(s). If Vault's certificate key was replaced on purpose, update the pins in the Vault settings; otherwise the connection may be intercepted.`, { cause: e });
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return new CofferError('TRANSIT_TLS', `${at}: TLS certificate has expired (valid until ${p.validTo}); the Vault administrator must renew it. Coffer does not connect with an expired certificate.`, { cause: e });
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return new CofferError('TRANSIT_TLS', `${at}: TLS certificate is not valid yet (valid from ${p.validFrom}); check this computer's clock.`, { cause: e });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new CofferError('TRANSIT_TLS', `${at}: TLS certificate does not match the host name "${config.servername ?? target.hostname}" (the certificate is for: ${p.names}). Use the address the certificate names, or set VAULT_TLS_SERVER_NAME.`, { cause: e });
  }
  if (CHAIN_CODES.has(code)) {
    const ca = config.caSource ? `the CA certificate in ${config.caSource} does not sign it` : 'no CA is configured and the system CAs do not trust it';
    return new CofferError('TRANSIT_TLS', `${at}: TLS certificate chain is not trusted (${code}): ${ca}. Give Vault's CA with VAULT_CACERT or the CA file in the Vault settings.`, { cause: e });
  }
  // TLS 1.3: a server that rejects the client certificate may simply close the connection right
  // after the handshake, before any HTTP answer (the client never sees the alert).
  const resetAfterHandshake = afterHandshake && (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(err.message ?? ''));
  if (CLIENT_CERT_CODES.has(code) || /certificate required|alert number 116/i.test(err.message ?? '') || resetAfterHandshake) {
    const what = config.clientCert
      ? 'it did not accept the client certificate (VAULT_CLIENT_CERT); check that Vault trusts its issuer and that it has not expired'
      : 'it requires a client certificate (mTLS); set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, or the client certificate in the Vault settings';
    return new CofferError('TRANSIT_TLS', `${at}: TLS handshake refused: ${what}.`, { cause: e });
  }
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' || code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'
    || /alert protocol version|unsupported protocol|no protocols available/i.test(err.message ?? '')) {
    return new CofferError('TRANSIT_TLS', `${at}: the server offers no TLS version Coffer accepts (TLS 1.2 or newer is required).`, { cause: e });
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
    return new CofferError('TRANSIT_TLS', `${at}: the server did not answer with TLS (${code}); check the port, and whether the address should be http:// (loopback only).`, { cause: e });
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /certificate/i.test(code)) {
    return new CofferError('TRANSIT_TLS', `${at}: TLS failure (${code}): ${err.message}`, { cause: e });
  }
  const why = UNREACHABLE[code] ?? (code === 'ERR_COFFER_TIMEOUT' ? `no answer within ${config.timeoutMs / 1000} s` : err.message || code || 'unknown error');
  return new CofferError('TRANSIT_UNREACHABLE', `${at} is unreachable (${why}); check the address, the network and that Vault is running.`, { cause: e });
}

/** Reads the server certificate without verifying it, for error messages only; sends no data. */
function fetchPeerCertificate(target: URL, config: ResolvedTransitConfig): Promise<X509Certificate | undefined> {
  return new Promise((resolve) => {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const sock = tls.connect({ host, port: Number(target.port || 443), rejectUnauthorized: false, minVersion: 'TLSv1.2', ...(config.servername ? { servername: config.servername } : {}) });
    const done = (c: X509Certificate | undefined): void => {
      sock.destroy();
      resolve(c);
    };
    sock.setTimeout(3000, () => done(undefined));
    sock.once('secureConnect', () => done(sock.getPeerX509Certificate?.()));
    sock.once('error', () => done(undefined));
  });
}

export interface TransportOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly onRequest?: (e: RequestEvent) => void;
}

export function createTransport(config: ResolvedTransitConfig, opts: TransportOptions = {}): Transport {
  const env = opts.env ?? process.env;
  let last: TlsDetails | undefined;
  const checkServerIdentity = (host: string, cert: tls.PeerCertificate): Error | undefined => {
    const base = tls.checkServerIdentity(host, cert);
    if (base) return base;
    if (config.pins.length) {
      const actual = spkiSha256OfDer(cert.raw);
      if (!config.pins.includes(actual)) {
        const e = new Error(actual) as NodeJS.ErrnoException;
        e.code = 'ERR_COFFER_SPKI_PIN';
        return e;
      }
    }
    return undefined;
  };
  const tlsOptions: tls.ConnectionOptions = {
    ca: config.ca, cert: config.clientCert, key: config.clientKey, minVersion: 'TLSv1.2', rejectUnauthorized: true,
    checkServerIdentity, ...(config.servername ? { servername: config.servername } : {}),
  };
  const httpsAgent = new https.Agent({ ...tlsOptions, keepAlive: true, maxSockets: 8 });
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  // TLS details are captured at handshake time (a kept-alive socket has no new handshake).
  const tlsBySocket = new WeakMap<object, TlsDetails>();
  // getPeerX509Certificate() answers only once per socket, so the caller passes the certificate in.
  const recordTls = (sock: tls.TLSSocket, peer: X509Certificate | undefined): void => {
    if (!peer) return;
    tlsBySocket.set(sock, {
      protocol: sock.getProtocol(), cipher: sock.getCipher()?.name ?? '', subject: peer.subject.replace(/\n/g, ', '),
      issuer: peer.issuer.replace(/\n/g, ', '), validTo: new Date(peer.validTo).toISOString(), subjectAltName: peer.subjectAltName ?? '',
      spkiSha256: spkiSha256OfDer(peer.raw),
    });
  };

  function tunnel(proxy: URL, target: URL): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const port = target.port || '443';
      const auth = proxy.username ? { 'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : {};
      const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${target.hostname}:${port}`, headers: { Host: `${target.hostname}:${port}`, ...auth }, timeout: config.timeoutMs });
      req.once('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new CofferError('TRANSIT_UNREACHABLE', `Vault at ${target.origin} is unreachable: the proxy ${proxy.origin} refused to connect (HTTP ${res.statusCode}); check HTTPS_PROXY/NO_PROXY`));
          return;
        }
        resolve(socket);
      });
      req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ERR_COFFER_TIMEOUT' })));
      req.once('error', (e) => reject(new CofferError('TRANSIT_UNREACHABLE', `Vault at ${target.origin} is unreachable: proxy ${proxy.origin} failed (${(e as NodeJS.ErrnoException).code ?? e.message}); check HTTPS_PROXY/NO_PROXY`)));
      req.end();
    });
  }

  async function once(req: TransportRequest, target: URL): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown }> {
    const payload = req.json !== undefined && typeof req.json === 'object' && req.json !== null ? Buffer.from(JSON.stringify(req.json)) : undefined;
    const headers: Record<string, string> = { Accept: 'application/json', ...(req.headers ?? {}) };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const isHttps = target.protocol === 'https:';
    const proxy = proxyFor(target, env);
    const reqOpts: https.RequestOptions = { method: req.method, headers, timeout: config.timeoutMs };
    let path = target.pathname + target.search;
    if (proxy && isHttps) {
      const socket = await tunnel(proxy, target);
      reqOpts.createConnection = () => tls.connect({ ...tlsOptions, socket, servername: config.servername ?? (isLoopbackHost(target.hostname) || /^[\d.]+$|:/.test(target.hostname) ? undefined : target.hostname) });
      reqOpts.agent = undefined;
    } else if (proxy) {
      path = target.href; // plain HTTP through a proxy: absolute-form request target
      reqOpts.agent = httpAgent;
    } else {
      reqOpts.agent = isHttps ? httpsAgent : httpAgent;
    }
    const mod = isHttps ? https : http;
    let peer: X509Certificate | undefined;
    let handshook = false;
    let responded = false;
    let reused = false;
    return new Promise((resolve, reject) => {
      const fail = (e: unknown): void => {
        const code = (e as NodeJS.ErrnoException).code;
        // OpenSSL does not hand over the certificate it rejected; for the message only, fetch it
        // again without verification (nothing is sent on that connection).
        const diagnose = !peer && !proxy && isHttps && (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID');
        // A kept-alive socket the server already closed: the request never arrived; say so to retry.
        if (reused && !responded && (code === 'ECONNRESET' || code === 'EPIPE')) {
          reject(Object.assign(new Error('stale keep-alive connection'), { code: 'ERR_COFFER_STALE_SOCKET' }));
          return;
        }
        void (diagnose ? fetchPeerCertificate(target, config) : Promise.resolve(undefined)).then((c) => {
          reject(classifyNetworkError(e, config, target, peer ?? c, handshook && !responded && !reused));
        });
      };
      const r = mod.request(proxy && !isHttps
        ? { ...reqOpts, host: proxy.hostname, port: proxy.port || 80, path }
        : { ...reqOpts, ...(isHttps && !(proxy && isHttps) ? tlsOptions : {}), hostname: target.hostname.replace(/^\[|\]$/g, ''), port: target.port || (isHttps ? 443 : 80), path, protocol: target.protocol }, (res) => {
        responded = true;
        if (isHttps) last = tlsBySocket.get(res.socket) ?? last;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) r.destroy(new Error('response too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (text) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          } else {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', fail);
      });
      r.on('socket', (s) => {
        reused = r.reusedSocket;
        if (!isHttps) return;
        const ts = s as tls.TLSSocket;
        const grab = (): void => {
          try {
            peer = ts.getPeerX509Certificate?.() ?? peer;
          } catch {
            /* no certificate yet */
          }
        };
        ts.once('secureConnect', () => {
          handshook = true;
          grab();
          recordTls(ts, peer);
        });
        ts.once('error', grab);
      });
      r.on('timeout', () => r.destroy(Object.assign(new Error('timeout'), { code: 'ERR_COFFER_TIMEOUT' })));
      r.on('error', fail);
      r.end(payload);
    });
  }

  async function send(req: TransportRequest): Promise<TransportResponse> {
    let target = new URL(req.uri);
    if (!config.allowed.includes(target.origin)) {
      throw new CofferError('TRANSIT_ADDRESS_NOT_ALLOWED', `refusing to contact ${target.origin}: not in the allowed Vault addresses`);
    }
    for (let hop = 0; ; hop++) {
      let res: Awaited<ReturnType<typeof once>>;
      try {
        res = await once(req, target);
      } catch (e) {
        // Retry once on a fresh connection (the agent drops the dead socket) when an idle
        // keep-alive socket turned out closed, as Node's documentation advises.
        if ((e as NodeJS.ErrnoException).code !== 'ERR_COFFER_STALE_SOCKET') throw e;
        res = await once(req, target).catch((e2: unknown) => {
          throw classifyNetworkError((e2 as NodeJS.ErrnoException).code === 'ERR_COFFER_STALE_SOCKET' ? Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }) : e2, config, target, undefined);
        });
      }
      opts.onRequest?.({ method: req.method, path: target.pathname.replace(/^\/v1\//, ''), status: res.status });
      if ((res.status === 307 || res.status === 302 || res.status === 308) && typeof res.headers.location === 'string') {
        // Vault standbys answer 307 with the active node's address (http/handler.go respondStandby).
        const next = new URL(res.headers.location, target);
        if (!config.allowed.includes(next.origin)) {
          throw new CofferError('TRANSIT_ADDRESS_NOT_ALLOWED', `Vault at ${target.origin} redirected to ${next.origin} (a standby pointing at its active node), which is not in your allowed Vault addresses; add ${next.origin} to them if it is your Vault cluster's node.`);
        }
        if (next.protocol === 'http:' && !isLoopbackHost(next.hostname)) {
          throw new CofferError('TRANSIT_TLS', `Vault at ${target.origin} redirected to plain HTTP ${next.origin}; refusing.`);
        }
        if (hop >= MAX_REDIRECTS) throw new CofferError('TRANSIT', `Vault at ${config.address}: too many redirects (last to ${next.origin})`);
        target = next;
        continue;
      }
      return { statusCode: res.status, body: res.body, request: { path: target.pathname } };
    }
  }

  return {
    defaults: () => send,
    lastTls: () => last,
    close: () => {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}
