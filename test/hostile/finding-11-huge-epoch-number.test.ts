/**
 * Issue 9, finding 11 (low/medium, W): one unauthenticated epoch file with a huge number locked every
 * member out with "not among its members (revoked)", and the app then locked open sessions as revoked.
 *
 * Now the current epoch is chosen only among epochs that open with the keys given and are linked by
 * verified chains; others are reported, never make members look revoked, and do not push the next
 * epoch's number. Positive control: the planted file is a well-formed epoch that parses and names the
 * real epoch as its parent (the old code took it as the only head); against the code before this
 * change (commit e93c914) the open failed with NO_IDENTITY "...not among its members (revoked...)".
 */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { openVault } from '../../main/core/vault';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from '../core/vault/helpers';
import { epochBody, forkEpoch, plantEpoch } from './attacker';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('finding 11: one planted epoch with a huge number', () => {
  it('does not lock members out, is reported, and does not move the epoch numbers', async () => {
    sb = sandbox();
    const alice = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [alice.recipient] });
    makeTree(path.join(sb.base, 'in'), { 'a.txt': 'a' });
    await vault.add([path.join(sb.base, 'in/a.txt')]);
    const current = vault.epoch;
    vault.lock();
    const huge = plantEpoch(sb.dir, 99_999_999, [current]);
    // Positive control: it parses as an epoch of this vault naming the real one as parent.
    expect(epochBody(sb.dir, huge)).toMatchObject({ n: 99_999_999, parents: [current] });

    for (const creds of [{ passphrase: 'pw' }, { identities: [alice.id] }]) {
      const v = await open(sb, creds);
      expect(v.epoch).toBe(current);
      expect(paths(v)).toEqual(['a.txt']);
      expect(v.problems).toContainEqual(expect.objectContaining({ code: 'CONFLICT', object: `epochs/${huge}.epoch`, message: expect.stringMatching(/cannot be opened/) }));
      expect((await v.members()).slots.every((s) => s.status === 'active')).toBe(true);
      v.lock();
    }
    // An open session survives a reload, and the next epoch is numbered after the real history.
    const v = await open(sb, { passphrase: 'pw' });
    await v.load();
    const r = await v.rotate();
    expect(r.epoch.startsWith('00000002-')).toBe(true);
    v.lock();
  });

  it('an epoch made with a fresh key wrapped to the members (no link to the history) is never joined', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    const current = vault.epoch;
    vault.lock();
    // W knows only public keys: a fresh history of its own, with a slot for W, numbered far ahead.
    const w = await member();
    const fake = await forkEpoch(sb.dir, null, { n: 500, ownRecipient: w.recipient });
    const v = await open(sb, { passphrase: 'pw' });
    expect(v.epoch).toBe(current);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'FORK', object: `epochs/${fake.epoch}.epoch` }));
    expect((await v.members()).slots.find((s) => s.id === fake.slot)).toBeUndefined();
    await v.rotate();
    v.lock();
    // A computer with no state cannot tell the two histories apart, and says so instead of guessing.
    await expect(openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'new') })).rejects.toMatchObject({ code: 'VAULT_TAMPERED', message: expect.stringMatching(/two unrelated epoch histories/) });
  });

  it('a real revocation still ends the removed member\'s open session (on their own computer), as a fresh open would', async () => {
    sb = sandbox();
    const alice = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [alice.recipient] });
    const slot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    const av = await openVault(sb.dir, { credentials: { identities: [alice.id] }, stateDir: path.join(sb.base, 'alice-state') });
    // A planted epoch does not end it...
    plantEpoch(sb.dir, 99_999_999, [vault.epoch]);
    await av.load();
    // ...the revocation (which removes her key files) does.
    await vault.revoke(slot);
    vault.lock();
    await expect(av.load()).rejects.toMatchObject({ code: 'NO_IDENTITY', message: expect.stringMatching(/no longer among its members/) });
    av.lock();
  });
});
