/**
 * Issue 9, finding 5 (medium, R): R restores a copy of the folder from before the revocation. A
 * computer that has seen the newer state refuses it; a new computer accepted it silently, and files
 * added there were readable by R's key.
 *
 * Nothing in the folder can prove freshness to a computer with no state (R holds every key of the old
 * copy). Where the vault has a freshness anchor outside the folder, the new computer refuses the copy
 * (finding-05-rollback-transit-anchor.test.ts, finding-05-rollback-hardware-anchor.test.ts, for which this
 * file is the unanchored positive control); otherwise the first open on a computer says plainly that a
 * rollback cannot be ruled out
 * (`Vault.warnings`; the CLI prints it), and docs/SECURITY.md states the limit. Positive control: the
 * warning is absent where state exists, so it is not printed on every open; before this change
 * (commit e93c914) `Vault` had no warnings at all and the restored copy opened silently.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openVault } from '../../main/core/vault';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from '../core/vault/helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('finding 5: a copy from before the revocation, restored for a new computer', () => {
  it('is refused where the revocation was seen, and opened with a rollback warning on a new computer', async () => {
    sb = sandbox();
    const bob = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
    makeTree(path.join(sb.base, 'in'), { 'before.txt': 'old' });
    await vault.add([path.join(sb.base, 'in/before.txt')]);
    const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    vault.lock();
    const old = path.join(sb.base, 'bob-kept-copy');
    cpSync(sb.dir, old, { recursive: true });
    const owner = await open(sb, { passphrase: 'pw' });
    expect(owner.warnings).toEqual([]); // positive control: state exists, no warning
    await owner.revoke(bobSlot);
    owner.lock();
    // The attack: the folder is replaced by Bob's copy from before the revocation.
    rmSync(sb.dir, { recursive: true });
    cpSync(old, sb.dir, { recursive: true });
    // Where the revocation was seen: refused.
    await expect(open(sb, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'VAULT_ROLLBACK' });
    // A new computer: opened, but with the plain warning.
    const fresh = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'new-computer') });
    expect(paths(fresh)).toEqual(['before.txt']);
    expect(fresh.warnings).toHaveLength(1);
    expect(fresh.warnings[0]).toMatch(/has not opened vault .* before, so it cannot tell whether the folder was rolled back/);
    fresh.lock();
    // The second open on that computer has state: no warning any more.
    const again = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'new-computer') });
    expect(again.warnings).toEqual([]);
    again.lock();
  });

  it('a computer that saw the revocation refuses a restored copy even when R adds a newer-numbered fork to it', async () => {
    sb = sandbox();
    const bob = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
    const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    const e1 = vault.epoch;
    vault.lock();
    const { stealEpochKeys, forkEpoch } = await import('./attacker');
    const kept = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);
    const old = path.join(sb.base, 'bob-kept-copy');
    cpSync(sb.dir, old, { recursive: true });
    const owner = await open(sb, { passphrase: 'pw' });
    await owner.revoke(bobSlot);
    owner.lock();
    rmSync(sb.dir, { recursive: true });
    cpSync(old, sb.dir, { recursive: true });
    // A fork with a high number defeats a check on epoch numbers alone.
    await forkEpoch(sb.dir, kept, { n: 50 });
    await expect(open(sb, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'VAULT_ROLLBACK', message: expect.stringMatching(/revocation epoch/) });
  });
});
