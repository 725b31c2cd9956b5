// The vault-transit slot kind (main/core/vault/transit-slot.ts), against the Transit test server over TLS.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeHarness, policyFor, type Harness } from '../keys/transit/harness';
import type { TransitServer } from '../../servers/transit/server';
import { setTransitClientSource } from '../../../main/core/keys/transit/slot';
import { transitSlotKind } from '../../../main/core/vault/transit-slot';
import { slotKind } from '../../../main/core/vault/slots';
import { initVault, openVault, readVaultInfo } from '../../../main/core/vault';
import { CofferError } from '../../../main/core/errors';
import type { TransitClient } from '../../../main/core/keys/vault-transit';

let h: Harness;
let srv: TransitServer;
let work: string;

beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  srv.createKey('team-kek');
  srv.putPolicy('team', policyFor('team-kek'));
  work = mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-slot-'));
});
afterAll(async () => {
  await h.cleanup();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => setTransitClientSource(undefined));

function useClient(c: TransitClient): TransitClient {
  setTransitClientSource(() => c);
  return c;
}

describe('the vault-transit slot kind', () => {
  it('is registered for vault-transit slots', () => {
    expect(slotKind('vault-transit')).toBe(transitSlotKind);
  });
});

describe('a vault with a Transit key slot', () => {
  it('init wraps the vault key with transit/encrypt; unlock is one transit/decrypt; files round-trip', async () => {
    const c = useClient(h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['team'] }) }));
    const dir = path.join(work, 'v1');
    const stateDir = path.join(work, 'state1');
    const { vault } = await initVault(dir, { name: 'Team', recipients: [{ recipient: 'vault-transit:transit/team-kek', label: 'Vault Transit team-kek' }], stateDir });
    const src = path.join(work, 'hello.txt');
    writeFileSync(src, 'hello transit');
    await vault.add([src]);
    vault.lock();
    const info = await readVaultInfo(dir);
    expect(info.slots.map((s) => s.type).sort()).toEqual(['recovery', 'vault-transit']);
    const before = c.requestCount;
    const v2 = await openVault(dir, { credentials: {}, stateDir });
    expect(c.requestCount - before).toBe(1);
    const out = path.join(work, 'hello.out');
    const src2 = path.join(work, 'more.txt');
    writeFileSync(src2, 'more');
    const afterUnlock = c.requestCount;
    await v2.add([src2]);
    await v2.get('hello.txt', out);
    expect(readFileSync(out, 'utf8')).toBe('hello transit');
    expect(v2.list('').length).toBe(2);
    expect(c.requestCount - afterUnlock).toBe(0); // key slot mode: Vault is needed at unlock only
    v2.lock();

    // Revoking the policy in Vault stops the next unlock, with Vault's reason.
    srv.putPolicy('team', 'path "transit/encrypt/team-kek" { capabilities = ["update"] }');
    try {
      const e = await openVault(dir, { credentials: {}, stateDir }).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(CofferError);
      expect((e as CofferError).message).toMatch(/permission denied on transit\/decrypt\/team-kek/);
    } finally {
      srv.putPolicy('team', policyFor('team-kek'));
    }
  });

  it('refuses a vault whose slot names a Vault outside the allowlist, without contacting it', async () => {
    const c = useClient(h.client(srv, { VAULT_TOKEN: srv.rootToken }));
    const dir = path.join(work, 'v2');
    const stateDir = path.join(work, 'state2');
    const { vault } = await initVault(dir, { recipients: [{ recipient: `vault-transit:transit/team-kek@${srv.url}` }], stateDir });
    vault.lock();
    // Same vault, but this machine is configured for another Vault.
    const other = await h.server();
    const elsewhere = useClient(h.client(other, { VAULT_TOKEN: other.rootToken }));
    const e = await openVault(dir, { credentials: {}, stateDir }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CofferError);
    expect((e as CofferError).message).toMatch(/not in your allowed Vault addresses/);
    expect(elsewhere.requestCount).toBe(0);
    expect(c.requestCount).toBeGreaterThan(0);
  });

  it('without Vault configured, a Transit-only vault says what to configure', async () => {
    useClient(h.client(srv, { VAULT_TOKEN: srv.rootToken }));
    const dir = path.join(work, 'v3');
    const stateDir = path.join(work, 'state3');
    (await initVault(dir, { recipients: [{ recipient: 'vault-transit:transit/team-kek' }], stateDir })).vault.lock();
    setTransitClientSource(undefined);
    const e = await openVault(dir, { credentials: {}, stateDir }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CofferError);
    expect((e as CofferError).code).toBe('TRANSIT_CONFIG');
    expect((e as CofferError).message).toMatch(/held by Vault Transit key transit\/team-kek, but Vault is not configured here/);
  });
});
