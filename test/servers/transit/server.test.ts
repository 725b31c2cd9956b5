import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTransitServer, PERMISSION_DENIED, INVALID_TOKEN, SEALED, type TransitServer } from './server';
import { call, b64 } from './client';
import { ERR_TOO_OLD } from './keys';

let srv: TransitServer;
let root: string;
const post = (path: string, body: unknown, token = root) => call(srv.url, 'POST', path, body, { token });
const get = (path: string, token = root) => call(srv.url, 'GET', path, undefined, { token });

beforeAll(async () => {
  srv = await startTransitServer({ rootToken: 'root-test' });
  root = srv.rootToken;
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.unseal();
  srv.setStandby(undefined);
});

describe('response envelope (sdk/logical/translate_response.go, http/logical.go)', () => {
  it('wraps data in the standard envelope and prefixes ciphertexts with vault:vN:', async () => {
    await post('transit/keys/env', { type: 'aes256-gcm96' });
    const r = await post('transit/encrypt/env', { plaintext: b64('hello') });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['auth', 'data', 'lease_duration', 'lease_id', 'mount_type', 'renewable', 'request_id', 'warnings', 'wrap_info']);
    expect(r.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.lease_id).toBe('');
    expect(r.body.renewable).toBe(false);
    expect(r.body.lease_duration).toBe(0);
    expect(r.body.wrap_info).toBeNull();
    expect(r.body.auth).toBeNull();
    expect(r.body.data.key_version).toBe(1);
    expect(r.body.data.ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    const raw = Buffer.from((r.body.data.ciphertext as string).slice('vault:v1:'.length), 'base64');
    expect(raw.length).toBe(12 + 5 + 16); // nonce ‖ ciphertext ‖ tag
  });

  it('answers errors as {"errors":[…]} with Vault status codes', async () => {
    const r = await call(srv.url, 'GET', 'nope/thing', undefined, { token: root });
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ errors: ['no handler for route "nope/thing". route entry not found.'] });
    const bad = await call(srv.url, 'POST', 'transit/encrypt/env', '{not json', { token: root });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatch(/^failed to parse JSON input: /);
  });
});

describe('AEAD and ciphertexts (sdk/helper/keysutil/policy.go)', () => {
  for (const type of ['aes256-gcm96', 'chacha20-poly1305'] as const) {
    it(`${type}: round trip, tamper detected with Go's error string`, async () => {
      const name = `rt-${type}`;
      expect((await post(`transit/keys/${name}`, { type })).body.data.type).toBe(type);
      const pt = Buffer.from([0, 1, 2, 250, 251, 252]);
      const enc = await post(`transit/encrypt/${name}`, { plaintext: b64(pt) });
      const ct: string = enc.body.data.ciphertext;
      const dec = await post(`transit/decrypt/${name}`, { ciphertext: ct });
      expect(dec.status).toBe(200);
      expect(Buffer.from(dec.body.data.plaintext, 'base64')).toEqual(pt);
      const raw = Buffer.from(ct.slice(9), 'base64');
      raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 1;
      const bad = await post(`transit/decrypt/${name}`, { ciphertext: `vault:v1:${raw.toString('base64')}` });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ errors: [type === 'aes256-gcm96' ? 'cipher: message authentication failed' : 'chacha20poly1305: message authentication failed'] });
    });
  }

  it('rejects malformed ciphertexts with policy.go strings', async () => {
    await post('transit/keys/shape', {});
    const cases: [string, string][] = [
      ['abc', 'invalid ciphertext: no prefix'],
      ['vault:v1', 'invalid ciphertext: wrong number of fields'],
      ['vault:vX:AAAA', 'invalid ciphertext: version number could not be decoded'],
      ['vault:v9:AAAA', 'invalid ciphertext: version is too new'],
      ['vault:v1:A', 'invalid ciphertext: could not decode base64'],
      ['vault:v1:AAAA', 'invalid ciphertext length'],
    ];
    for (const [ciphertext, msg] of cases) {
      const r = await post('transit/decrypt/shape', { ciphertext });
      expect(r.status, ciphertext).toBe(400);
      expect(r.body, ciphertext).toEqual({ errors: [msg] });
    }
    expect((await post('transit/decrypt/shape', {})).body).toEqual({ errors: ['missing ciphertext to decrypt'] });
    expect((await post('transit/encrypt/shape', {})).body).toEqual({ errors: ['missing plaintext to encrypt'] });
  });

  it('decodes plaintext as Go StdEncoding does (padding required, newlines skipped)', async () => {
    await post('transit/keys/b64', {});
    const cases: [string, number, string?][] = [
      ['QQ', 400, 'illegal base64 data at input byte 0'],
      ['QQ=', 400, 'illegal base64 data at input byte 3'],
      ['Q Q=', 400, 'illegal base64 data at input byte 1'],
      ['QQ==QQ==', 400, 'illegal base64 data at input byte 4'],
      ['-_8=', 400, 'illegal base64 data at input byte 0'],
      ['QQ==', 200],
      ['YW\nJj', 200],
      ['', 200],
    ];
    for (const [plaintext, status, msg] of cases) {
      const r = await post('transit/encrypt/b64', { plaintext });
      expect(r.status, JSON.stringify(plaintext)).toBe(status);
      if (msg) expect(r.body).toEqual({ errors: [msg] });
    }
  });
});

describe('keys: create, read, list, config, rotate, delete (path_keys.go, path_config_keys.go, path_rotate.go)', () => {
  it('reads a key, 404 with empty errors when missing', async () => {
    await post('transit/keys/readme', { type: 'chacha20-poly1305' });
    const r = await get('transit/keys/readme');
    expect(r.body.data).toMatchObject({ name: 'readme', type: 'chacha20-poly1305', latest_version: 1, min_decryption_version: 1, min_encryption_version: 0, deletion_allowed: false });
    expect(Object.keys(r.body.data.keys)).toEqual(['1']);
    const missing = await get('transit/keys/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ errors: [] });
    const unknown = await post('transit/keys/weird', { type: 'rot13' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ errors: ['unknown key type rot13'] });
  });

  it('lists with GET ?list=true and with the LIST method; empty mount is 404', async () => {
    await post('sys/mounts/empty-transit', { type: 'transit' });
    const empty = await call(srv.url, 'GET', '/v1/empty-transit/keys?list=true', undefined, { token: root });
    expect(empty.status).toBe(404);
    expect(empty.body).toEqual({ errors: [] });
    await post('empty-transit/keys/a', {});
    await post('empty-transit/keys/b', {});
    const viaGet = await call(srv.url, 'GET', '/v1/empty-transit/keys?list=true', undefined, { token: root });
    expect(viaGet.body.data.keys).toEqual(['a', 'b']);
    const viaList = await call(srv.url, 'LIST', 'empty-transit/keys', undefined, { token: root });
    expect(viaList.body.data.keys).toEqual(['a', 'b']);
  });

  it('rotates, enforces min_decryption_version ("too old") and min_encryption_version', async () => {
    await post('transit/keys/rot', {});
    const v1 = (await post('transit/encrypt/rot', { plaintext: b64('one') })).body.data.ciphertext as string;
    const rot = await post('transit/keys/rot/rotate', {});
    expect(rot.body.data.latest_version).toBe(2);
    const v2 = (await post('transit/encrypt/rot', { plaintext: b64('two') })).body.data;
    expect(v2.key_version).toBe(2);
    expect(v2.ciphertext).toMatch(/^vault:v2:/);
    // Explicit older version still allowed until min_encryption_version says otherwise.
    expect((await post('transit/encrypt/rot', { plaintext: b64('x'), key_version: 1 })).body.data.ciphertext).toMatch(/^vault:v1:/);

    const cfg = await post('transit/keys/rot/config', { min_decryption_version: 2 });
    expect(cfg.status).toBe(200);
    expect(cfg.body.data.min_decryption_version).toBe(2);
    // A read lists only versions that still decrypt (keysutil handleArchiving moved v1 to the archive).
    expect(Object.keys(cfg.body.data.keys as Record<string, number>)).toEqual(['2']);
    expect(Object.keys(rot.body.data.keys as Record<string, number>)).toEqual(['1', '2']);
    const old = await post('transit/decrypt/rot', { ciphertext: v1 });
    expect(old.status).toBe(400);
    expect(old.body).toEqual({ errors: [ERR_TOO_OLD] });
    expect(ERR_TOO_OLD).toBe('ciphertext or signature version is disallowed by policy (too old)');

    const tooHigh = await post('transit/keys/rot/config', { min_decryption_version: 5 });
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.body).toEqual({ errors: ['cannot set min decryption version of 5, latest key version is 2'] });
    const order = await post('transit/keys/rot/config', { min_encryption_version: 1 });
    expect(order.body).toEqual({ errors: ['cannot set min encryption/decryption values; min encryption version of 1 must be greater than or equal to min decryption version of 2'] });
    expect((await post('transit/keys/rot/config', { min_encryption_version: 2 })).status).toBe(200);
    const below = await post('transit/encrypt/rot', { plaintext: b64('x'), key_version: 1 });
    expect(below.body).toEqual({ errors: ['requested version for encryption is less than the minimum encryption key version'] });
    const above = await post('transit/encrypt/rot', { plaintext: b64('x'), key_version: 3 });
    expect(above.body).toEqual({ errors: ['requested version for encryption is higher than the latest key version'] });
    const missing = await post('transit/keys/ghost/config', { min_decryption_version: 1 });
    expect(missing.body).toEqual({ errors: ['no existing key named ghost could be found'] });
    expect((await post('transit/keys/ghost/rotate', {})).body).toEqual({ errors: ['key not found'] });
  });

  it('deletes only with deletion_allowed', async () => {
    await post('transit/keys/del', {});
    const refused = await call(srv.url, 'DELETE', 'transit/keys/del', undefined, { token: root });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ errors: ['error deleting policy del: deletion is not allowed for this key'] });
    await post('transit/keys/del/config', { deletion_allowed: true });
    expect((await call(srv.url, 'DELETE', 'transit/keys/del', undefined, { token: root })).status).toBe(204);
    expect((await get('transit/keys/del')).status).toBe(404);
  });

  it('"encryption key not found" (400) on decrypt, rewrap and datakey', async () => {
    for (const path of ['transit/decrypt/absent', 'transit/rewrap/absent']) {
      const r = await post(path, { ciphertext: 'vault:v1:AAAA' });
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ errors: ['encryption key not found'] });
    }
    const d = await post('transit/datakey/plaintext/absent', {});
    expect(d.status).toBe(400);
    expect(d.body).toEqual({ errors: ['encryption key not found'] });
  });
});

describe('rewrap and datakey (path_rewrap.go, path_datakey.go)', () => {
  it('rewraps to the latest version without revealing the plaintext', async () => {
    await post('transit/keys/rw', {});
    const v1 = (await post('transit/encrypt/rw', { plaintext: b64('secret') })).body.data.ciphertext;
    await post('transit/keys/rw/rotate', {});
    const r = await post('transit/rewrap/rw', { ciphertext: v1 });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.data).sort()).toEqual(['ciphertext', 'key_version']);
    expect(r.body.data.key_version).toBe(2);
    expect(r.body.data.ciphertext).toMatch(/^vault:v2:/);
    const back = await post('transit/decrypt/rw', { ciphertext: r.body.data.ciphertext });
    expect(Buffer.from(back.body.data.plaintext, 'base64').toString()).toBe('secret');
  });

  it('datakey plaintext returns both; wrapped only the ciphertext; bits are checked', async () => {
    await post('transit/keys/dk', {});
    const p = await post('transit/datakey/plaintext/dk', {});
    expect(Buffer.from(p.body.data.plaintext, 'base64').length).toBe(32);
    const back = await post('transit/decrypt/dk', { ciphertext: p.body.data.ciphertext });
    expect(back.body.data.plaintext).toBe(p.body.data.plaintext);
    const w = await post('transit/datakey/wrapped/dk', { bits: 512 });
    expect(w.body.data.plaintext).toBeUndefined();
    expect(w.body.data.key_version).toBe(1);
    const wb = await post('transit/decrypt/dk', { ciphertext: w.body.data.ciphertext });
    expect(Buffer.from(wb.body.data.plaintext, 'base64').length).toBe(64);
    expect((await post('transit/datakey/wrapped/dk', { bits: 100 })).status).toBe(400);
    expect((await post('transit/datakey/other/dk', {})).status).toBe(400);
  });
});

describe('batch_input (path_encrypt.go, path_decrypt.go, path_rewrap.go)', () => {
  it('all good: 200 with data.batch_results in order, references echoed', async () => {
    await post('transit/keys/batch', {});
    const enc = await post('transit/encrypt/batch', { batch_input: [{ plaintext: b64('a'), reference: 'r1' }, { plaintext: b64('b') }] });
    expect(enc.status).toBe(200);
    expect(enc.body.data.batch_results).toHaveLength(2);
    expect(enc.body.data.batch_results[0].reference).toBe('r1');
    const dec = await post('transit/decrypt/batch', { batch_input: enc.body.data.batch_results.map((r: { ciphertext: string }) => ({ ciphertext: r.ciphertext })) });
    expect(dec.body.data.batch_results.map((r: { plaintext: string }) => Buffer.from(r.plaintext, 'base64').toString())).toEqual(['a', 'b']);
  });

  it('partial failure: 400, data.batch_results with per-item error, and no `errors` key', async () => {
    const enc = await post('transit/encrypt/batch', { batch_input: [{ plaintext: b64('ok') }, { plaintext: 'not base64!' }, { plaintext: b64('ok2') }] });
    expect(enc.status).toBe(400);
    expect(enc.body.errors).toBeUndefined();
    const res = enc.body.data.batch_results;
    expect(res[0].ciphertext).toMatch(/^vault:v1:/);
    expect(res[1]).toEqual({ error: 'illegal base64 data at input byte 3' });
    expect(res[2].ciphertext).toMatch(/^vault:v1:/);

    const dec = await post('transit/decrypt/batch', { batch_input: [{ ciphertext: res[0].ciphertext }, { ciphertext: 'garbage' }] });
    expect(dec.status).toBe(400);
    expect(dec.body.errors).toBeUndefined();
    expect(dec.body.data.batch_results[1]).toEqual({ error: 'invalid ciphertext: no prefix' });
    expect(Buffer.from(dec.body.data.batch_results[0].plaintext, 'base64').toString()).toBe('ok');

    const partial = await post('transit/decrypt/batch', { partial_failure_response_code: 207, batch_input: [{ ciphertext: res[0].ciphertext }, { ciphertext: 'garbage' }] });
    expect(partial.status).toBe(207);
    const allBad = await post('transit/decrypt/batch', { partial_failure_response_code: 207, batch_input: [{ ciphertext: 'garbage' }] });
    expect(allBad.status).toBe(400);
    expect((await post('transit/decrypt/batch', { batch_input: [] })).body).toEqual({ errors: ['missing batch input to process'] });
  });
});

describe('tokens and ACL policies (vault/acl.go, vault/request_handling.go)', () => {
  it('403 permission denied without a token, on a denied path, and for an invalid token', async () => {
    srv.putPolicy('dec-only', 'path "transit/decrypt/team" { capabilities = ["update"] }');
    await post('transit/keys/team', {});
    const t = srv.createToken({ policies: ['dec-only'] });
    const none = await call(srv.url, 'POST', 'transit/encrypt/team', { plaintext: b64('x') });
    expect(none.status).toBe(403);
    expect(none.body).toEqual({ errors: [PERMISSION_DENIED] });
    const denied = await post('transit/encrypt/team', { plaintext: b64('x') }, t);
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ errors: [PERMISSION_DENIED] });
    expect(PERMISSION_DENIED).toContain('permission denied');
    const ct = (await post('transit/encrypt/team', { plaintext: b64('x') })).body.data.ciphertext;
    expect((await post('transit/decrypt/team', { ciphertext: ct }, t)).status).toBe(200);
    const bogus = await post('transit/decrypt/team', { ciphertext: ct }, 'hvs.bogus');
    expect(bogus.status).toBe(403);
    expect(bogus.body).toEqual({ errors: [INVALID_TOKEN] });
  });

  it('encrypt on a missing key is an upsert that needs `create`, not `update`', async () => {
    srv.putPolicy('enc-update', 'path "transit/encrypt/*" { capabilities = ["update"] }');
    srv.putPolicy('enc-create', 'path "transit/encrypt/*" { capabilities = ["create", "update"] }');
    const upd = srv.createToken({ policies: ['enc-update'] });
    const cre = srv.createToken({ policies: ['enc-create'] });
    expect((await post('transit/encrypt/upserted', { plaintext: b64('x') }, upd)).status).toBe(403);
    expect(srv.key('upserted')).toBeUndefined();
    const r = await post('transit/encrypt/upserted', { plaintext: b64('x'), type: 'chacha20-poly1305' }, cre);
    expect(r.status).toBe(200);
    expect(srv.key('upserted')?.type).toBe('chacha20-poly1305');
    expect((await post('transit/encrypt/upserted', { plaintext: b64('x') }, upd)).status).toBe(200);
  });

  it('token TTL: lookup-self reports it; after expiry the token is invalid', async () => {
    srv.putPolicy('p-ttl', 'path "transit/*" { capabilities = ["read"] }');
    const created = await post('auth/token/create', { policies: ['p-ttl'], ttl: '30s' });
    const tok = created.body.auth.client_token as string;
    expect(created.body.auth.lease_duration).toBe(30);
    expect(created.body.auth.policies).toEqual(['default', 'p-ttl']);
    const look = await get('auth/token/lookup-self', tok);
    expect(look.status).toBe(200);
    expect(look.body.data.ttl).toBeGreaterThan(25);
    expect(look.body.data.policies).toEqual(['default', 'p-ttl']);
    srv.advanceClock(31);
    const after = await get('auth/token/lookup-self', tok);
    expect(after.status).toBe(403);
    expect(after.body).toEqual({ errors: [INVALID_TOKEN] });
  });

  it('most specific rule wins and deny overrides', async () => {
    srv.putPolicy('glob', 'path "transit/decrypt/*" { capabilities = ["update"] }\npath "transit/decrypt/secret" { capabilities = ["deny"] }');
    await post('transit/keys/secret', {});
    await post('transit/keys/open', {});
    const t = srv.createToken({ policies: ['glob'] });
    const ct = (await post('transit/encrypt/open', { plaintext: b64('x') })).body.data.ciphertext;
    const ct2 = (await post('transit/encrypt/secret', { plaintext: b64('x') })).body.data.ciphertext;
    expect((await post('transit/decrypt/open', { ciphertext: ct }, t)).status).toBe(200);
    expect((await post('transit/decrypt/secret', { ciphertext: ct2 }, t)).status).toBe(403);
  });

  it('policies can be written over HTTP (sys/policies/acl)', async () => {
    expect((await call(srv.url, 'PUT', 'sys/policies/acl/http-pol', { policy: 'path "transit/keys/*" { capabilities = ["read"] }' }, { token: root })).status).toBe(204);
    const t = srv.createToken({ policies: ['http-pol'] });
    await post('transit/keys/polkey', {});
    expect((await get('transit/keys/polkey', t)).status).toBe(200);
    expect((await call(srv.url, 'PUT', 'sys/policies/acl/bad', { policy: 'path "x" { capabilities = ["fly"] }' }, { token: root })).status).toBe(400);
  });
});

describe('AppRole login (builtin/credential/approle)', () => {
  it('configures a role over HTTP, logs in, rejects a wrong secret_id', async () => {
    srv.putPolicy('ar', 'path "transit/keys/*" { capabilities = ["read"] }');
    expect((await post('auth/approle/role/app', { token_policies: ['ar'], token_ttl: '1h' })).status).toBe(204);
    const roleId = (await get('auth/approle/role/app/role-id')).body.data.role_id;
    const secretId = (await post('auth/approle/role/app/secret-id', {})).body.data.secret_id;
    const login = await call(srv.url, 'POST', 'auth/approle/login', { role_id: roleId, secret_id: secretId });
    expect(login.status).toBe(200);
    expect(login.body.auth.client_token).toMatch(/^hvs\./);
    expect(login.body.auth.policies).toEqual(['ar', 'default']);
    expect(login.body.auth.lease_duration).toBe(3600);
    const bad = await call(srv.url, 'POST', 'auth/approle/login', { role_id: roleId, secret_id: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ errors: ['invalid role or secret ID'] });
  });
});

describe('seal, health, mounts and standby (http/sys_health.go, http/sys_seal.go, http/handler.go)', () => {
  it('503 "Vault is sealed" on every request while sealed; sys/health says so; unseal over HTTP', async () => {
    expect((await get('sys/health')).status).toBe(200);
    expect((await call(srv.url, 'PUT', 'sys/seal', undefined, { token: root })).status).toBe(204);
    const r = await post('transit/encrypt/env', { plaintext: b64('x') });
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ errors: [SEALED] });
    expect(SEALED).toBe('Vault is sealed');
    const h = await get('sys/health');
    expect(h.status).toBe(503);
    expect(h.body.sealed).toBe(true);
    expect((await get('sys/seal-status')).body.sealed).toBe(true);
    expect((await call(srv.url, 'PUT', 'sys/unseal', { key: srv.unsealKey })).body.sealed).toBe(false);
    expect((await post('transit/encrypt/env', { plaintext: b64('x') })).status).toBe(200);
  });

  it('sys/mounts lists transit/ (top level and under data); enabling twice is refused', async () => {
    const m = await get('sys/mounts');
    expect(m.body['transit/'].type).toBe('transit');
    expect(m.body.data['transit/'].type).toBe('transit');
    expect((await post('sys/mounts/team/transit', { type: 'transit' })).status).toBe(204);
    const again = await post('sys/mounts/team/transit', { type: 'transit' });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ errors: ['path is already in use at team/transit/'] });
    await post('team/transit/keys/nested', {});
    expect((await post('team/transit/encrypt/nested', { plaintext: b64('x') })).status).toBe(200);
  });

  it('a standby answers 307 to the active node with the same path and query; health 429', async () => {
    srv.setStandby('https://active.example:8200');
    const r = await call(srv.url, 'GET', '/v1/transit/keys?list=true', undefined, { token: root });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('https://active.example:8200/v1/transit/keys?list=true');
    expect((await get('sys/health')).status).toBe(429);
    expect((await call(srv.url, 'GET', '/v1/sys/health?standbyok=true')).status).toBe(200);
  });

  it('records requests with namespace and batch size (for request-count figures)', async () => {
    srv.clearLog();
    await call(srv.url, 'POST', 'transit/encrypt/env', { batch_input: [{ plaintext: '' }, { plaintext: '' }] }, { token: root, namespace: 'team-a' });
    expect(srv.requests).toEqual([{ method: 'POST', path: 'transit/encrypt/env', status: 200, namespace: 'team-a', batchSize: 2 }]);
  });
});
