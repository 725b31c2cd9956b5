// Freshness anchors (main/core/vault/anchor.ts, FORMAT.md §6.17): the Transit anchor's crash and outage
// paths, against the Transit test server over TLS. The attacks themselves are in
// test/hostile/finding-05-rollback-*-anchor.test.ts.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openVault } from '../../../main/core/vault';
import { validEpochAnchor } from '../../../main/core/vault/anchor';
import { setTransitClientSource } from '../../../main/core/keys/transit/slot';
import type { TransitClient } from '../../../main/core/keys/vault-transit';
import { makeHarness, type Harness } from '../keys/transit/harness';
import type { TransitServer } from '../../servers/transit/server';
import { member, newVault, open, sandbox, type Sandbox } from './helpers';

let h: Harness;
let srv: TransitServer;
let client: TransitClient;
let sb: Sandbox;
beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  client = h.client(srv, { VAULT_TOKEN: srv.rootToken });
});
afterAll(async () => h.cleanup());
afterEach(() => {
  sb?.cleanup();
  setTransitClientSource(undefined);
});

const epochs = (): string[] => readdirSync(path.join(sb.dir, 'epochs')).filter((f) => f.endsWith('.epoch')).sort();

describe('the Transit anchor', () => {
  it('an anchored change that stopped before raising min_decryption_version is finished by the next open', async () => {
    sb = sandbox();
    srv.createKey('crash-anchor');
    setTransitClientSource(() => client);
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    await vault.grant('vault-transit:transit/crash-anchor');
    const r = await vault.anchorTransit();
    vault.lock();
    expect(r.anchor.version).toBe(2);
    // As if the process died between committing the epoch and the config write.
    const key = srv.key('crash-anchor');
    if (!key) throw new Error('no key');
    key.minDecryptionVersion = 1;
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'fresh') });
    expect(v.warnings).toEqual([]);
    expect(key.minDecryptionVersion).toBe(2);
    v.lock();
  });

  it('Vault unreachable: a revocation of an anchored vault fails with nothing changed; opens go on', async () => {
    sb = sandbox();
    srv.createKey('outage-anchor');
    setTransitClientSource(() => client);
    const bob = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
    await vault.grant('vault-transit:transit/outage-anchor');
    await vault.anchorTransit();
    const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    vault.lock();
    const before = epochs();
    // Vault configured, but the address answers nothing (a closed port on loopback).
    const dead = h.client('https://127.0.0.1:9', { VAULT_TOKEN: 'x' }, { timeoutMs: 2000 });
    setTransitClientSource(() => dead);
    const v = await open(sb, { passphrase: 'pw' });
    expect(v.problems.some((p) => p.code === 'ANCHOR' && /could not be asked/.test(p.message))).toBe(true);
    await expect(v.revoke(bobSlot)).rejects.toMatchObject({ message: expect.stringMatching(/anchored to Vault Transit key transit\/outage-anchor: this change must rotate that key .* Nothing was changed\./) });
    v.lock();
    expect(epochs()).toEqual(before);
    expect(srv.key('outage-anchor')).toMatchObject({ latestVersion: 2, minDecryptionVersion: 2 });
  });

  it('epoch anchor fields are validated', () => {
    expect(validEpochAnchor(undefined)).toBe(true);
    expect(validEpochAnchor({ transit: { slot: '0123456789ab', key: 'transit/k', version: 3 } })).toBe(true);
    for (const bad of [null, [], { other: 1 }, { transit: { slot: 'x', key: 'transit/k', version: 1 } }, { transit: { slot: '0123456789ab', key: 'k', version: 1 } },
      { transit: { slot: '0123456789ab', key: 'transit/k', version: 0 } }, { transit: { slot: '0123456789ab', key: 'transit/k', version: 1.5 } }, { transit: 'x' }]) {
      expect(validEpochAnchor(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
