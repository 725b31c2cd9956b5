import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { makeHarness, recordingUI, type Harness } from './harness';
import { startTransitServer, type TransitServer } from '../../../servers/transit/server';
import { TransitRecipient, TransitIdentity, resolveTransitConfig, checkNamedAddress, TransitClient } from '../../../../main/core/keys/vault-transit';
import { proxyFor } from '../../../../main/core/keys/transit/transport';
import { CofferError } from '../../../../main/core/errors';
import type { Stanza } from '../../../../main/core/keys/types';

let h: Harness;
const ref = { mount: 'transit', key: 'k' };

beforeAll(async () => {
  h = await makeHarness();
});
afterAll(() => h.cleanup());

async function failure(p: Promise<unknown>): Promise<CofferError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(CofferError);
  return e as CofferError;
}

/** Wrap then unwrap a key through `c`: proves the whole path works. */
async function roundTrip(c: TransitClient): Promise<void> {
  const key = randomBytes(32);
  const [st] = await new TransitRecipient(c, ref).wrap(key);
  expect(Buffer.from((await new TransitIdentity(c).unwrap([st as Stanza], recordingUI())) as Uint8Array)).toEqual(key);
}

async function serverWithKey(opts: Parameters<Harness['server']>[0] = {}): Promise<TransitServer> {
  const s = await h.server(opts);
  s.createKey('k');
  return s;
}

describe('certificate verification: each failure says which', () => {
  it('unknown CA: "chain is not trusted", naming the CA file in use', async () => {
    const s = await serverWithKey();
    const e = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken, VAULT_CACERT: h.files.otherCa })));
    expect(e.code).toBe('TRANSIT_TLS');
    expect(e.message).toMatch(new RegExp(`^Vault at ${s.url.replace(/[.]/g, '\\.')}: TLS certificate chain is not trusted`));
    expect(e.message).toContain(h.files.otherCa);
    const stranger = await serverWithKey({ pair: h.fx.unknownCa });
    expect((await failure(roundTrip(h.client(stranger, { VAULT_TOKEN: stranger.rootToken })))).message).toMatch(/chain is not trusted/);
  });

  it('wrong host: names the host and what the certificate is for', async () => {
    const s = await serverWithKey({ pair: h.fx.wrongHost });
    const e = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken })));
    expect(e.code).toBe('TRANSIT_TLS');
    expect(e.message).toMatch(/does not match the host name "127\.0\.0\.1" \(the certificate is for: wrong\.example\)/);
  });

  it('expired: says expired and until when', async () => {
    const s = await serverWithKey({ pair: h.fx.expired });
    const e = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken })));
    expect(e.code).toBe('TRANSIT_TLS');
    expect(e.message).toMatch(/TLS certificate has expired \(valid until \d{4}-\d\d-\d\dT/);
  });

  it('SPKI pins: a matching pin (with a backup) connects; only wrong pins are refused', async () => {
    const s = await serverWithKey();
    const backup = Buffer.alloc(32, 7).toString('base64');
    await roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken }, { spkiPins: [backup, h.fx.serverSpkiSha256] }));
    const e = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken }, { spkiPins: [backup] })));
    expect(e.code).toBe('TRANSIT_TLS');
    expect(e.message).toMatch(/pin mismatch/);
    expect(e.message).toContain(h.fx.serverSpkiSha256);
    expect(() => resolveTransitConfig({ address: s.url, spkiPins: ['short'] }, {})).toThrow(/not a base64 SHA-256/);
  });

  it('VAULT_SKIP_VERIFY is never obeyed: "true" is refused loudly, "false" keeps verification on', async () => {
    const s = await serverWithKey();
    for (const v of ['1', 'true', 'yes']) {
      const e = await failure(Promise.resolve().then(() => h.client(s, { VAULT_TOKEN: s.rootToken, VAULT_SKIP_VERIFY: v })));
      expect(e.code).toBe('TRANSIT_TLS');
      expect(e.message).toMatch(/never disables TLS certificate verification/);
    }
    await roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken, VAULT_SKIP_VERIFY: 'false' }));
    // node-vault alone would have turned verification off for this non-empty value.
    const e = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken, VAULT_SKIP_VERIFY: 'false', VAULT_CACERT: h.files.otherCa })));
    expect(e.message).toMatch(/chain is not trusted/);
  });

  it('TLS 1.2 is the minimum', async () => {
    const old = https.createServer({ cert: h.fx.server.cert, key: h.fx.server.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, (_q, r) => r.end('{}'));
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `https://127.0.0.1:${(old.address() as AddressInfo).port}`;
      const e = await failure(roundTrip(h.client(url, { VAULT_TOKEN: 't' })));
      expect(e.code).toBe('TRANSIT_TLS');
      expect(e.message).toMatch(/TLS 1\.2 or newer is required/);
    } finally {
      old.close();
    }
  });
});

describe('mTLS', () => {
  it('required by the server: no client certificate or an untrusted one is refused with a clear message; VAULT_CLIENT_CERT works', async () => {
    const s = await serverWithKey({ clientCerts: 'require' });
    const none = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken })));
    expect(none.code).toBe('TRANSIT_TLS');
    expect(none.message).toMatch(/requires a client certificate \(mTLS\); set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY/);
    const stranger = await failure(roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken, VAULT_CLIENT_CERT: h.files.stranger, VAULT_CLIENT_KEY: h.files.strangerKey })));
    expect(stranger.code).toBe('TRANSIT_TLS');
    expect(stranger.message).toMatch(/did not accept the client certificate/);
    await roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken, VAULT_CLIENT_CERT: h.files.client, VAULT_CLIENT_KEY: h.files.clientKey }));
  });

  it('a certificate without its key is a configuration error', () => {
    expect(() => resolveTransitConfig({ address: 'https://vault.example.com' }, { VAULT_CLIENT_CERT: h.files.client })).toThrow(/needs both the certificate and its key/);
  });
});

describe('addresses: HTTPS unless loopback, allowlist, proxies', () => {
  it('refuses plain HTTP except to loopback, where it works', async () => {
    expect(() => resolveTransitConfig({ address: 'http://vault.example.com:8200' }, {})).toThrow(/refusing plain HTTP/);
    expect(() => resolveTransitConfig({}, {})).toThrow(/no Vault address/);
    expect(() => resolveTransitConfig({ address: 'https://vault.example.com/v1/x' }, {})).toThrow(/just scheme, host and port/);
    expect(resolveTransitConfig({}, { VAULT_ADDR: 'https://vault.example.com:8200/' }).address).toBe('https://vault.example.com:8200');
    const plain = await startTransitServer({ rootToken: 'r' });
    try {
      plain.createKey('k');
      await roundTrip(TransitClient.fromSettings({}, { VAULT_ADDR: plain.url, VAULT_TOKEN: 'r' }, h.dir));
      await roundTrip(TransitClient.fromSettings({}, { VAULT_ADDR: plain.url.replace('127.0.0.1', 'localhost'), VAULT_TOKEN: 'r' }, h.dir));
    } finally {
      await plain.close();
    }
  });

  it('settings win over VAULT_ADDR; an address a vault names must be allowlisted', () => {
    const cfg = resolveTransitConfig({ address: 'https://a.example:8200', allowedAddresses: ['https://b.example:8200/'] }, { VAULT_ADDR: 'https://evil.example' });
    expect(cfg.address).toBe('https://a.example:8200');
    expect(() => checkNamedAddress('https://b.example:8200', cfg)).not.toThrow();
    expect(() => checkNamedAddress('https://evil.example', cfg)).toThrow(/not in your allowed Vault addresses/);
    try {
      checkNamedAddress('https://evil.example', cfg);
    } catch (e) {
      expect((e as CofferError).code).toBe('TRANSIT_ADDRESS_NOT_ALLOWED');
    }
  });

  it('proxy variables never capture loopback; NO_PROXY is honoured', async () => {
    const env = { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '.corp.example,other.example:8443' };
    expect(proxyFor(new URL('https://127.0.0.1:8200'), env)).toBeUndefined();
    expect(proxyFor(new URL('https://localhost:8200'), env)).toBeUndefined();
    expect(proxyFor(new URL('http://[::1]:8200'), env)).toBeUndefined();
    expect(proxyFor(new URL('https://vault.corp.example'), env)).toBeUndefined();
    expect(proxyFor(new URL('https://other.example:8443'), env)).toBeUndefined();
    expect(proxyFor(new URL('https://other.example:8200'), env)?.port).toBe('9');
    expect(proxyFor(new URL('https://vault.example.com'), env)?.href).toBe('http://127.0.0.1:9/');
    // End to end: a dead proxy is set, loopback Vault still answers.
    const s = await serverWithKey();
    await roundTrip(h.client(s, { VAULT_TOKEN: s.rootToken, ...env }));
  });

  it('reaches a non-loopback name through an HTTPS_PROXY CONNECT tunnel, with full verification', async () => {
    const cert = await h.fx.issueServer(['vault.test']);
    const s = await h.server({ pair: cert });
    s.createKey('k');
    const port = new URL(s.url).port;
    const seen: string[] = [];
    const proxy = http.createServer((_q, r) => r.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      seen.push(req.url ?? '');
      const [host, p] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(p), host === 'vault.test' ? '127.0.0.1' : (host as string), () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      await roundTrip(h.client(`https://vault.test:${port}`, { VAULT_TOKEN: s.rootToken, HTTPS_PROXY: proxyUrl }));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((u) => u === `vault.test:${port}`)).toBe(true);
      // Same tunnel, but the certificate is for 127.0.0.1 only: still a host-name failure.
      const e = await failure(roundTrip(h.client(`https://vault.test:${port}`, { VAULT_TOKEN: s.rootToken, HTTPS_PROXY: proxyUrl }, { spkiPins: [Buffer.alloc(32).toString('base64')] })));
      expect(e.message).toMatch(/pin mismatch/);
    } finally {
      proxy.close();
    }
  });
});
