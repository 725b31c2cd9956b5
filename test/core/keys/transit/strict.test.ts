import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { makeHarness, policyFor, type Harness } from './harness';
import type { TransitServer } from '../../../servers/transit/server';
import { setTransitClientSource } from '../../../../main/core/keys/transit/slot';
import { TransitFileKeyGuard, fileKeyGuardFor } from '../../../../main/core/keys/transit/strict';
import { rewrapVaultTransit } from '../../../../main/core/vault/transit-rewrap';
import { initVault, openVault, type Vault } from '../../../../main/core/vault';
import { CofferError } from '../../../../main/core/errors';
import type { TransitClient } from '../../../../main/core/keys/vault-transit';

let h: Harness;
let srv: TransitServer;
let work: string;
const FILES = 1000;

beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  srv.createKey('team-kek');
  work = mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-strict-'));
  const src = path.join(work, 'docs');
  mkdirSync(src);
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(src, `f${String(i).padStart(4, '0')}.txt`), `file ${i}\n`);
});
afterAll(async () => {
  await h.cleanup();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => setTransitClientSource(undefined));

async function failure(p: Promise<unknown>): Promise<CofferError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(CofferError);
  return e as CofferError;
}

function readToString(v: Vault, vpath: string): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return v.readFile(vpath, out).then(() => Buffer.concat(chunks).toString('utf8'));
}

describe('strict mode: every file key sealed by Transit, in batches', () => {
  it('counts requests for unlock, add, list and get of 1,000 files (goal: at most 1 per 100 files)', async () => {
    srv.putPolicy('strict-team', policyFor('team-kek'));
    const client: TransitClient = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['strict-team'] }) });
    setTransitClientSource(() => client);
    const dir = path.join(work, 'strict');
    const stateDir = path.join(work, 'state');
    const { vault } = await initVault(dir, { name: 'Strict', recipients: [{ recipient: 'vault-transit:transit/team-kek' }], stateDir, strict: 'vault-transit:transit/team-kek' });
    expect(vault.strict).toBe('vault-transit:transit/team-kek');
    vault.lock();

    const figures: Record<string, number> = {};
    let mark = client.requestCount;
    const take = (name: string): number => {
      figures[name] = client.requestCount - mark;
      mark = client.requestCount;
      return figures[name] as number;
    };

    const v = await openVault(dir, { credentials: {}, stateDir });
    expect(take('unlock')).toBe(1);
    const added = await v.add([path.join(work, 'docs')]);
    expect(added.files).toBe(FILES);
    expect(take('add 1000')).toBeLessThanOrEqual(FILES / 100);
    expect(v.list('docs').length).toBe(FILES);
    expect(take('list 1000')).toBe(0);
    const out = path.join(work, 'out');
    await v.get('docs', out);
    expect(readdirSync(out)).toHaveLength(FILES);
    expect(readFileSync(path.join(out, 'f0999.txt'), 'utf8')).toBe('file 999\n');
    expect(take('get 1000')).toBe(Math.ceil(FILES / 500));
    expect(await readToString(v, 'docs/f0007.txt')).toBe('file 7\n');
    expect(take('open 1')).toBe(1);
    process.stdout.write(`vault-transit strict-mode request counts: ${JSON.stringify(figures)}\n`);
    v.lock();
  });

  it('revoking the policy stops the next open; sealed Vault stops it too; vault rotation and Transit rewrap stay batched', async () => {
    srv.putPolicy('strict-small', policyFor('team-kek'));
    const client: TransitClient = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['strict-small'] }) });
    setTransitClientSource(() => client);
    const dir = path.join(work, 'strict-small');
    const stateDir = path.join(work, 'state-small');
    const src = path.join(work, 'small');
    mkdirSync(src);
    for (let i = 0; i < 30; i++) writeFileSync(path.join(src, `s${i}.txt`), `small ${i}\n`);
    const { vault: v, recoveryKey } = await initVault(dir, { recipients: [{ recipient: 'vault-transit:transit/team-kek' }], stateDir, strict: 'vault-transit:transit/team-kek' });
    await v.add([src]);
    // The recovery key opens the vault key (names, sizes) but not content: every file key needs Vault.
    setTransitClientSource(undefined);
    const byRecovery = await openVault(dir, { credentials: { recoveryKey }, stateDir });
    expect(byRecovery.list('small').length).toBe(30);
    expect((await failure(readToString(byRecovery, 'small/s0.txt'))).code).toBe('TRANSIT_CONFIG');
    byRecovery.lock();
    setTransitClientSource(() => client);
    const beforeVerify = client.requestCount;
    const report = await v.verify();
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(client.requestCount - beforeVerify).toBe(1); // all 30 file keys in one batch

    // Sealed by Vault: with Vault sealed, even the unlocked vault cannot open a file.
    srv.seal();
    expect((await failure(readToString(v, 'small/s1.txt'))).code).toBe('TRANSIT_SEALED');
    srv.unseal();
    // The admin removes decrypt from the policy: the very next open is refused.
    srv.putPolicy('strict-small', 'path "transit/encrypt/team-kek" { capabilities = ["update"] }');
    const denied = await failure(readToString(v, 'small/s2.txt'));
    expect(denied.code).toBe('TRANSIT_DENIED');
    expect(denied.message).toMatch(/permission denied on transit\/decrypt\/team-kek/);
    expect((await failure(v.get('small', path.join(work, 'small-out')))).code).toBe('TRANSIT_DENIED');
    srv.putPolicy('strict-small', policyFor('team-kek'));
    expect(await readToString(v, 'small/s2.txt')).toBe('small 2\n');

    // Rotating the vault key rewrites records but needs only the slot's one wrap from Vault.
    let mark = client.requestCount;
    await v.rotate();
    expect(client.requestCount - mark).toBe(1);

    // The Transit key rotates; rewrap moves slot wraps and all sealed file keys to v2 in batches.
    srv.key('team-kek')?.rotate();
    mark = client.requestCount;
    const rep = await rewrapVaultTransit(v, client);
    expect(rep.fileKeys).toBe(30);
    expect(rep.wraps).toBeGreaterThanOrEqual(1);
    expect(rep.requests).toBe(client.requestCount - mark);
    expect(rep.requests).toBeLessThanOrEqual(4); // key read + rewrap for the wraps, key read + rewrap for the file keys
    const key = srv.key('team-kek');
    if (key) key.minDecryptionVersion = 2;
    expect(await readToString(v, 'small/s3.txt')).toBe('small 3\n');
    v.lock();
    const again = await openVault(dir, { credentials: {}, stateDir });
    expect(await readToString(again, 'small/s4.txt')).toBe('small 4\n');
    again.lock();
    if (key) key.minDecryptionVersion = 1;
  });
});

describe('file key guard', () => {
  it('seals, opens, reports per-item failures, and rejects keys sealed by another guard', async () => {
    const client = h.client(srv, { VAULT_TOKEN: srv.rootToken });
    srv.createKey('g1');
    const g = new TransitFileKeyGuard(client, { mount: 'transit', key: 'g1' });
    const keys = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const sealed = await g.seal(keys);
    expect(sealed[0]).toMatch(/^vault-transit:transit\/g1:vault:v1:/);
    const other = sealed[1]?.replace('transit/g1', 'transit/g2') as string;
    const res = await g.open([sealed[0] as string, other, sealed[1] as string]);
    expect(res[0]?.ok && Buffer.from(res[0].value).equals(Buffer.from(keys[0] as Uint8Array))).toBe(true);
    expect(res[1]?.ok).toBe(false);
    expect(res[2]?.ok).toBe(true);
    expect(fileKeyGuardFor('vault-transit:transit/g1').id).toBe('vault-transit:transit/g1');
    expect(() => fileKeyGuardFor('kms:thing')).toThrow(/does not know/);
  });
});
