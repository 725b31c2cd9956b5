import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeHarness, policyFor, recordingUI, type Harness } from './harness';
import type { TransitServer } from '../../../servers/transit/server';
import {
  TransitRecipient, TransitIdentity, rewrapTransitStanzas, generateTransitKey, createWrappedTransitKey,
  parseTransitStanza, encodeTransitStanza, TRANSIT_STANZA, BATCH_MAX, type TransitClient,
} from '../../../../main/core/keys/vault-transit';
import { CofferError } from '../../../../main/core/errors';
import type { Stanza } from '../../../../main/core/keys/types';

let h: Harness;
let srv: TransitServer;
const ref = { mount: 'transit', key: 'team-kek' };

beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  srv.createKey('team-kek');
  srv.putPolicy('team', policyFor('team-kek'));
});
afterAll(() => h.cleanup());

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<CofferError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, `expected ${code}`).toBeInstanceOf(CofferError);
  expect((e as CofferError).code, (e as CofferError).message).toBe(code);
  if (message) expect((e as CofferError).message).toMatch(message);
  return e as CofferError;
}

const teamClient = (env: NodeJS.ProcessEnv = {}): TransitClient => h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['team'] }), ...env });

describe('wrap and unwrap over TLS with node-vault', () => {
  it('wraps a 32-byte key into a vault-transit stanza and unwraps it in one request', async () => {
    const c = teamClient();
    const key = randomBytes(32);
    const [st] = await new TransitRecipient(c, ref).wrap(key);
    expect(st?.type).toBe(TRANSIT_STANZA);
    expect(st?.args).toEqual(['transit', 'team-kek', '1']);
    expect(st?.body.length).toBe(12 + 32 + 16);
    const ui = recordingUI();
    const before = c.requestCount;
    const got = await new TransitIdentity(c).unwrap([st as Stanza], ui);
    expect(Buffer.from(got as Uint8Array)).toEqual(key);
    expect(c.requestCount - before).toBe(1);
    expect(ui.notices[0]?.kind).toBe('contacting');
    expect(c.lastTls()?.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('returns null for stanzas that are not vault-transit or not its key', async () => {
    const c = teamClient();
    const id = new TransitIdentity(c, { only: { key: 'other' } });
    const [st] = await new TransitRecipient(c, ref).wrap(randomBytes(32));
    expect(await id.unwrap([{ type: 'X25519', args: [], body: new Uint8Array(80) }], recordingUI())).toBeNull();
    expect(await id.unwrap([st as Stanza], recordingUI())).toBeNull();
  });

  it('datakey: a Vault-generated key and its stanza in one request; wrapped-only variant', async () => {
    const c = teamClient();
    const { key, stanza } = await generateTransitKey(c, ref);
    expect(key.length).toBe(32);
    expect(Buffer.from((await new TransitIdentity(c).unwrap([stanza], recordingUI())) as Uint8Array)).toEqual(Buffer.from(key));
    const root = h.client(srv, { VAULT_TOKEN: srv.rootToken });
    const wrapped = await createWrappedTransitKey(root, ref);
    expect(((await new TransitIdentity(root).unwrap([wrapped], recordingUI())) as Uint8Array).length).toBe(32);
  });

  it('reads the token from ~/.vault-token when VAULT_TOKEN is unset, and sends VAULT_NAMESPACE', async () => {
    const helper = path.join(h.dir, '.vault-token');
    writeFileSync(helper, srv.createToken({ policies: ['team'] }) + '\n', { mode: 0o600 });
    const c = h.client(srv, { VAULT_NAMESPACE: 'team-a' });
    rmSync(helper);
    srv.clearLog();
    const [st] = await new TransitRecipient(c, ref).wrap(randomBytes(32));
    expect(st).toBeDefined();
    expect(srv.requests.at(-1)).toMatchObject({ path: 'transit/encrypt/team-kek', namespace: 'team-a', status: 200 });
  });
});

describe('stanza format', () => {
  it('round-trips and parses strictly', () => {
    const st = encodeTransitStanza({ mount: 'team/transit', key: 'k.1' }, { ciphertext: `vault:v7:${randomBytes(60).toString('base64')}`, version: 7 });
    expect(parseTransitStanza(st)).toMatchObject({ mount: 'team/transit', key: 'k.1', version: 7 });
    const bad = (args: string[], body = new Uint8Array(60)): void => {
      expect(() => parseTransitStanza({ type: TRANSIT_STANZA, args, body })).toThrow(CofferError);
    };
    bad(['transit', 'k']);
    bad(['transit', 'k', '0']);
    bad(['transit', 'k', '01']);
    bad(['transit', 'k', '1', 'extra']);
    bad(['../sys', 'k', '1']);
    bad(['transit', 'k/x', '1']);
    bad(['transit', 'k', '1'], new Uint8Array(10));
    expect(parseTransitStanza({ type: 'X25519', args: [], body: new Uint8Array(80) })).toBeNull();
  });
});

describe('rotation', () => {
  it('rotate then rewrap: stanzas move to the latest version via transit/rewrap, key unchanged', async () => {
    srv.createKey('rot-kek');
    srv.putPolicy('rot', policyFor('rot-kek'));
    const c = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['rot'] }) });
    const r = { mount: 'transit', key: 'rot-kek' };
    const keys = [randomBytes(32), randomBytes(32)];
    const stanzas = [...(await new TransitRecipient(c, r).wrap(keys[0] as Buffer)), ...(await new TransitRecipient(c, r).wrap(keys[1] as Buffer))];
    const other: Stanza = { type: 'X25519', args: [], body: new Uint8Array(80) };
    srv.key('rot-kek')?.rotate();
    const before = c.requestCount;
    const out = await rewrapTransitStanzas(c, [other, ...stanzas]);
    expect(c.requestCount - before).toBe(2); // read key + one batched rewrap
    expect(out.rewrapped).toBe(2);
    expect(out.stanzas[0]).toBe(other);
    expect(out.stanzas[1]?.args).toEqual(['transit', 'rot-kek', '2']);
    const id = new TransitIdentity(c);
    expect(Buffer.from((await id.unwrap([out.stanzas[2] as Stanza], recordingUI())) as Uint8Array)).toEqual(keys[1]);
    // Nothing left to do at the latest version.
    expect((await rewrapTransitStanzas(c, out.stanzas)).rewrapped).toBe(0);
  });

  it('min_decryption_version: an old stanza fails with TRANSIT_VERSION_TOO_OLD and says what to do', async () => {
    const k = srv.createKey('old-kek');
    srv.putPolicy('old', policyFor('old-kek'));
    const c = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['old'] }) });
    const [st] = await new TransitRecipient(c, { mount: 'transit', key: 'old-kek' }).wrap(randomBytes(32));
    k.rotate();
    k.minDecryptionVersion = 2;
    const e = await rejectsWith(new TransitIdentity(c).unwrap([st as Stanza], recordingUI()), 'TRANSIT_VERSION_TOO_OLD', /version 1 of Transit key "old-kek"/);
    expect(e.message).toMatch(/min_decryption_version/);
    expect(e.message).toMatch(/coffer vault rewrap/);
  });
});

describe('errors mapped to actions', () => {
  it('403 permission denied names the address and the path', async () => {
    srv.putPolicy('enc-only', 'path "transit/encrypt/team-kek" { capabilities = ["update"] }');
    const c = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['enc-only'] }) });
    const [st] = await new TransitRecipient(c, ref).wrap(randomBytes(32));
    const e = await rejectsWith(new TransitIdentity(c).unwrap([st as Stanza], recordingUI()), 'TRANSIT_DENIED');
    expect(e.message).toBe(`Vault at ${srv.url}: permission denied on transit/decrypt/team-kek; the token's policies must grant "update" on transit/decrypt/team-kek (see docs/VAULT-TRANSIT.md for the policy).`);
  });

  it('no token at all is an auth problem, not a policy one', async () => {
    const c = h.client(srv, {}, {});
    await rejectsWith(new TransitRecipient(c, { mount: 'transit', key: 'nope-no-token' }).wrap(randomBytes(32)), 'TRANSIT_AUTH', /no Vault token/);
  });

  it('400 encryption key not found', async () => {
    const c = h.client(srv, { VAULT_TOKEN: srv.rootToken });
    const st = encodeTransitStanza({ mount: 'transit', key: 'missing-kek' }, { ciphertext: `vault:v1:${randomBytes(60).toString('base64')}`, version: 1 });
    await rejectsWith(new TransitIdentity(c).unwrap([st], recordingUI()), 'TRANSIT_KEY_NOT_FOUND', /Transit key "missing-kek" not found/);
  });

  it('503 sealed', async () => {
    const c = teamClient();
    const [st] = await new TransitRecipient(c, ref).wrap(randomBytes(32));
    srv.seal();
    try {
      await rejectsWith(new TransitIdentity(c).unwrap([st as Stanza], recordingUI()), 'TRANSIT_SEALED', /is sealed/);
    } finally {
      srv.unseal();
    }
  });

  it('unreachable', async () => {
    const dead = await h.server();
    const url = dead.url;
    await dead.close();
    const c = h.client(url, { VAULT_TOKEN: 'x' });
    await rejectsWith(new TransitRecipient(c, ref).wrap(randomBytes(32)), 'TRANSIT_UNREACHABLE', /connection refused/);
  });

  it('307 from a standby is followed to an allowlisted active node, refused otherwise', async () => {
    const standby = await h.server();
    standby.setStandby(srv.url);
    const tok = srv.createToken({ policies: ['team'] });
    const allowed = h.client(standby, { VAULT_TOKEN: tok }, { allowedAddresses: [srv.url] });
    const [st] = await new TransitRecipient(allowed, ref).wrap(randomBytes(32));
    expect(st?.args[2]).toBe('1');
    expect(allowed.requestCount).toBe(2);
    const notAllowed = h.client(standby, { VAULT_TOKEN: tok });
    await rejectsWith(new TransitRecipient(notAllowed, ref).wrap(randomBytes(32)), 'TRANSIT_ADDRESS_NOT_ALLOWED', /redirected to/);
  });
});

describe('auth: token expiry, AppRole and certificate login', () => {
  it('an expired static token fails clearly', async () => {
    const c = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['team'], ttl: 60 }) });
    const [st] = await new TransitRecipient(c, ref).wrap(randomBytes(32));
    srv.advanceClock(61);
    await rejectsWith(new TransitIdentity(c).unwrap([st as Stanza], recordingUI()), 'TRANSIT_AUTH', /token \(from VAULT_TOKEN\) is invalid or expired/);
  });

  it('AppRole logs in lazily and, when its token expires, logs in again once', async () => {
    const { roleId, secretId } = srv.addAppRole('coffer', { policies: ['team'], ttl: 60 });
    const c = h.client(srv, {}, { auth: { method: 'approle', roleId, secretId } });
    const key = randomBytes(32);
    const [st] = await new TransitRecipient(c, ref).wrap(key);
    expect(c.requestCount).toBe(2); // login + encrypt
    srv.advanceClock(61);
    const got = await new TransitIdentity(c).unwrap([st as Stanza], recordingUI());
    expect(Buffer.from(got as Uint8Array)).toEqual(key);
    expect(c.requestCount).toBe(5); // refused decrypt + login + decrypt
    const bad = h.client(srv, {}, { auth: { method: 'approle', roleId, secretId: 'wrong' } });
    await rejectsWith(new TransitRecipient(bad, ref).wrap(key), 'TRANSIT_AUTH', /AppRole login refused/);
  });

  it('a re-login that still gets 403 reports permission denied (policy removed)', async () => {
    srv.putPolicy('gone', policyFor('team-kek'));
    const { roleId, secretId } = srv.addAppRole('gone-role', { policies: ['gone'] });
    const c = h.client(srv, {}, { auth: { method: 'approle', roleId, secretId } });
    const [st] = await new TransitRecipient(c, ref).wrap(randomBytes(32));
    srv.deletePolicy('gone');
    await rejectsWith(new TransitIdentity(c).unwrap([st as Stanza], recordingUI()), 'TRANSIT_DENIED', /permission denied on transit\/decrypt\/team-kek/);
    expect(c.requestCount).toBe(5); // login + encrypt, then refused decrypt + one re-login + refused decrypt
    // A refusal right after a fresh login is a policy answer, not an expired token: no second login.
    const fresh = h.client(srv, {}, { auth: { method: 'approle', roleId, secretId } });
    await rejectsWith(new TransitIdentity(fresh).unwrap([st as Stanza], recordingUI()), 'TRANSIT_DENIED');
    expect(fresh.requestCount).toBe(2);
  });

  it('TLS certificate login (auth/cert/login) with VAULT_CLIENT_CERT', async () => {
    const s = await h.server({ clientCerts: 'request' });
    s.createKey('team-kek');
    s.putPolicy('team', policyFor('team-kek'));
    s.addCertRole('coffer', { caPem: h.fx.ca.cert, policies: ['team'] });
    const c = h.client(s, { VAULT_CLIENT_CERT: h.files.client, VAULT_CLIENT_KEY: h.files.clientKey }, { auth: { method: 'cert', name: 'coffer' } });
    const key = randomBytes(32);
    const [st] = await new TransitRecipient(c, ref).wrap(key);
    expect(Buffer.from((await new TransitIdentity(c).unwrap([st as Stanza], recordingUI())) as Uint8Array)).toEqual(key);
    expect(c.requestCount).toBe(3);
  });
});

describe('strict mode batches', () => {
  it('wraps and unwraps 1,000 file keys in 2 requests each; revoking the policy stops the next open', async () => {
    srv.putPolicy('strict', policyFor('team-kek'));
    const tok = srv.createToken({ policies: ['strict'] });
    const c = h.client(srv, { VAULT_TOKEN: tok });
    const keys = Array.from({ length: 1000 }, () => randomBytes(32));
    const r0 = c.requestCount;
    const stanzas = await new TransitRecipient(c, ref).wrapMany(keys);
    expect(c.requestCount - r0).toBe(Math.ceil(1000 / BATCH_MAX));
    const r1 = c.requestCount;
    const id = new TransitIdentity(c);
    const res = await id.unwrapMany(stanzas);
    expect(c.requestCount - r1).toBe(Math.ceil(1000 / BATCH_MAX));
    expect(res.every((r, i) => r.ok && Buffer.from(r.value).equals(keys[i] as Buffer))).toBe(true);
    // The admin revokes the policy: the very next file open is refused by Vault.
    srv.deletePolicy('strict');
    await rejectsWith(id.unwrap([stanzas[0] as Stanza], recordingUI()), 'TRANSIT_DENIED');
    await rejectsWith(id.unwrapMany(stanzas.slice(0, 3)), 'TRANSIT_DENIED');
  });

  it('batch partial failure (400 with data.batch_results) gives per-item errors, the rest succeed', async () => {
    const c = teamClient();
    const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const stanzas = await new TransitRecipient(c, ref).wrapMany(keys);
    const body = Buffer.from((stanzas[1] as Stanza).body);
    body[body.length - 1] = (body[body.length - 1] as number) ^ 0xff;
    const tampered: Stanza = { ...(stanzas[1] as Stanza), body: new Uint8Array(body) };
    const res = await new TransitIdentity(c).unwrapMany([stanzas[0] as Stanza, tampered, stanzas[2] as Stanza]);
    expect(res[0]?.ok && Buffer.from(res[0].value).equals(keys[0] as Buffer)).toBe(true);
    expect(res[1]?.ok).toBe(false);
    if (res[1] && !res[1].ok) {
      expect(res[1].error.code).toBe('TRANSIT');
      expect(res[1].error.message).toMatch(/message authentication failed/);
    }
    expect(res[2]?.ok && Buffer.from(res[2].value).equals(keys[2] as Buffer)).toBe(true);
  });
});
