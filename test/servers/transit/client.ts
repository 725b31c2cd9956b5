/**
 * A bare HTTP(S) client for the server's own tests (and for seeding it): it returns the raw status,
 * headers and JSON body, with no follow-up of redirects and no error interpretation, so the tests
 * see exactly what Vault's wire format would be.
 */
import http from 'node:http';
import https from 'node:https';

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  // The body of a JSON answer; tests index into it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export interface CallOptions {
  readonly token?: string;
  readonly namespace?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
}

export function call(base: string, method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<RawResponse> {
  const url = new URL(path.startsWith('/') ? path : `/v1/${path}`, base);
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string> = {};
  if (opts.token) headers['X-Vault-Token'] = opts.token;
  if (opts.namespace) headers['X-Vault-Namespace'] = opts.namespace;
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  const isHttps = url.protocol === 'https:';
  const mod = isHttps ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method, headers, agent: false,
      ...(isHttps ? { ca: opts.ca, cert: opts.cert, key: opts.key, servername: opts.servername } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
