import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTransitServer, type TransitServer } from './server';
import { call } from './client';
import { makeTlsFixtures, spkiSha256, type TlsFixtures } from './tls-fixtures';

let fx: TlsFixtures;
const servers: TransitServer[] = [];
const start = async (clientCerts: 'none' | 'request' | 'require', cert = () => fx.server): Promise<TransitServer> => {
  const s = await startTransitServer({ rootToken: 'root', tls: { ...cert(), ca: fx.ca.cert, clientCerts } });
  servers.push(s);
  return s;
};

beforeAll(async () => {
  fx = await makeTlsFixtures();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('TLS fixtures', () => {
  it('pins are the SHA-256 of the server SPKI and differ per key', () => {
    expect(fx.serverSpkiSha256).toBe(spkiSha256(fx.server.cert));
    expect(fx.serverSpkiSha256).not.toBe(spkiSha256(fx.unknownCa.cert));
    expect(Buffer.from(fx.serverSpkiSha256, 'base64')).toHaveLength(32);
  });
});

describe('HTTPS server', () => {
  it('serves over TLS with the fixture CA; unknown CA, wrong host and expired certificates fail verification', async () => {
    const good = await start('none');
    expect((await call(good.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert })).status).toBe(200);
    // Node's TLS server sends its `ca` along with the leaf, so the client sees an untrusted root in the chain.
    await expect(call(good.url, 'GET', 'sys/health', undefined, { ca: fx.otherCa.cert })).rejects.toMatchObject({ code: expect.stringMatching(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/) });
    const stranger = await start('none', () => fx.unknownCa);
    await expect(call(stranger.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert })).rejects.toMatchObject({ code: expect.stringMatching(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/) });
    const wrong = await start('none', () => fx.wrongHost);
    await expect(call(wrong.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const expired = await start('none', () => fx.expired);
    await expect(call(expired.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert })).rejects.toMatchObject({ code: 'CERT_HAS_EXPIRED' });
  });

  it('clientCerts=require: no client certificate or a stranger’s is refused in the handshake; the CA’s is accepted', async () => {
    const s = await start('require');
    await expect(call(s.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert })).rejects.toThrow();
    await expect(call(s.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert, ...fx.strangerClient })).rejects.toThrow();
    const r = await call(s.url, 'GET', 'sys/health', undefined, { ca: fx.ca.cert, ...fx.client });
    expect(r.status).toBe(200);
  });

  it('cert login (builtin/credential/cert): token for a client certificate issued by a configured CA', async () => {
    const s = await start('request');
    s.putPolicy('cert-pol', 'path "transit/*" { capabilities = ["update"] }');
    expect((await call(s.url, 'POST', 'auth/cert/certs/team', { certificate: fx.ca.cert, token_policies: 'cert-pol', token_ttl: '10m' }, { ca: fx.ca.cert, token: 'root' })).status).toBe(204);
    const none = await call(s.url, 'POST', 'auth/cert/login', {}, { ca: fx.ca.cert });
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ errors: ['client certificate must be supplied'] });
    const login = await call(s.url, 'POST', 'auth/cert/login', { name: 'team' }, { ca: fx.ca.cert, ...fx.client });
    expect(login.status).toBe(200);
    expect(login.body.auth.policies).toEqual(['cert-pol', 'default']);
    expect(login.body.auth.lease_duration).toBe(600);
    expect(login.body.auth.metadata.cert_name).toBe('team');
  });
});
