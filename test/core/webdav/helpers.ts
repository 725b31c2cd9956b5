/** An in-process WebDAV drive on a fresh vault, and a small HTTP client for it. */
import http from 'node:http';
import { Readable } from 'node:stream';
import type { Vault } from '../../../main/core/vault';
import { DavServer } from '../../../main/core/webdav/server';
import { newVault, open, sandbox, type Sandbox } from '../vault/helpers';

export const USER = 'coffer';
export const PASSWORD = 'test-drive-password';
export const PASSPHRASE = 'correct horse';

export interface Drive {
  sb: Sandbox;
  vault: Vault;
  server: DavServer;
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startDrive(opts: { readOnly?: boolean; onRequest?: (line: string) => void } = {}): Promise<Drive> {
  const sb = sandbox();
  const { vault } = await newVault(sb, { passphrase: PASSPHRASE });
  const server = new DavServer({ vault, user: USER, password: PASSWORD, readOnly: opts.readOnly, onRequest: opts.onRequest });
  const { url, port } = await server.listen();
  return {
    sb, vault, server, port, url,
    stop: async () => {
      await server.close();
      vault.lock();
      sb.cleanup();
    },
  };
}

/** Another unlocked Vault object on the same folder: stands in for the CLI, the app or another process. */
export function otherWriter(d: Drive): Promise<Vault> {
  return open(d.sb, { passphrase: PASSPHRASE });
}

export interface DavResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** One request; `auth: null` sends none. `body` may be a stream (sent chunked). */
export function dav(d: { port: number }, method: string, path: string, opts: {
  headers?: Record<string, string>; body?: string | Buffer | Readable; auth?: string | null; host?: string;
} = {}): Promise<DavResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: opts.host ?? `127.0.0.1:${d.port}`, ...opts.headers };
    const auth = opts.auth === undefined ? basic(USER, PASSWORD) : opts.auth;
    if (auth !== null) headers.Authorization = auth;
    if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = http.request({ host: '127.0.0.1', port: d.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}
