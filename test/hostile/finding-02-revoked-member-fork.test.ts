/**
 * Issue 9, finding 2 (critical, R): a removed member forks the vault from the last epoch they knew,
 * wraps the fork for every remaining member and adds a slot for a fresh key of their own. The owner's
 * next open used to join the fork automatically, which re-admitted R.
 *
 * Positive control: the same fork made by R while still a member IS joined and R's new slot becomes a
 * member (a member may add members), so the objects are valid and only the revocation rule stops them.
 * Run against the code before this change (commit e93c914), the "after the revocation" case fails:
 * the fork was joined, R's slot listed as active, and R read files added after the revocation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { openVault } from '../../main/core/vault';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from '../core/vault/helpers';
import { openRecord, sealRecord, signObject } from '../../main/core/vault/crypto';
import { copyKeys, epochIds, forgeFile, forkEpoch, slotBodies, stealEpochKeys } from './attacker';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

async function setup(): Promise<{ bob: Awaited<ReturnType<typeof member>>; bobSlot: string; e1: string; recoveryKey: string }> {
  sb = sandbox();
  const bob = await member();
  const { vault, recoveryKey } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
  makeTree(path.join(sb.base, 'in'), { 'before.txt': 'shared with Bob' });
  await vault.add([path.join(sb.base, 'in/before.txt')]);
  const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
  const e1 = vault.epoch;
  vault.lock();
  return { bob, bobSlot, e1, recoveryKey };
}

describe('finding 2: a removed member forks from the last epoch they knew', () => {
  it('positive control: the same fork by a current member is joined and its new slot is a member', async () => {
    const { bob, bobSlot, e1 } = await setup();
    const kept = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);
    const laptop = await member();
    const fork = await forkEpoch(sb.dir, kept, { ownRecipient: laptop.recipient });
    const v = await open(sb, { passphrase: 'pw' });
    expect((await v.members()).slots.find((s) => s.id === fork.slot)?.status).toBe('active');
    v.lock();
    const lv = await open(sb, { identities: [laptop.id] });
    expect(paths(lv)).toEqual(['before.txt']);
    lv.lock();
  });

  it('after the revocation the fork is reported, never joined; its slot gets no keys; R reads nothing added later', async () => {
    const { bob, bobSlot, e1 } = await setup();
    // Bob keeps the key of the last epoch he knew, then is revoked.
    const kept = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);
    const owner = await open(sb, { passphrase: 'pw' });
    const rev = await owner.revoke(bobSlot);
    owner.lock();
    // The attack: a fork from e1, wrapped for everyone listed, plus a fresh key of Bob's own.
    const laptop = await member();
    const fork = await forkEpoch(sb.dir, copyKeys(kept), { ownRecipient: laptop.recipient, n: 7 });

    const v = await open(sb, { passphrase: 'pw' });
    expect(v.epoch).toBe(rev.epoch);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'FORK', object: `epochs/${fork.epoch}.epoch` }));
    const ms = await v.members();
    expect(ms.slots.find((s) => s.id === fork.slot)).toBeUndefined();
    expect(ms.slots.find((s) => s.id === bobSlot)).toBeUndefined();
    // Changes go on: a new file, a rotation. Neither joins the fork or wraps anything for Bob's keys.
    makeTree(path.join(sb.base, 'in2'), { 'after.txt': 'not for Bob' });
    await v.add([path.join(sb.base, 'in2/after.txt')]);
    const rot = await v.rotate();
    expect(v.problems.filter((p) => p.code === 'FORK').length).toBeGreaterThan(0);
    v.lock();
    expect(epochIds(sb.dir).filter((e) => e > rev.epoch && e !== fork.epoch)).toEqual([rot.epoch]);
    const wraps = readdirSync(path.join(sb.dir, 'keys'));
    expect(wraps.filter((n) => n.startsWith(`${fork.slot as string}.`) && !n.includes(fork.epoch))).toEqual([]);
    // Bob, with his fresh key, reaches only his own fork and what he already had.
    const bv = await openVault(sb.dir, { credentials: { identities: [laptop.id] }, stateDir: path.join(sb.base, 'bob-state') });
    expect(bv.epoch).toBe(fork.epoch);
    // (before.txt is still sealed under e1, whose key he had: nothing new to him.)
    expect(paths(bv)).toEqual(['before.txt']);
    await expect(bv.readFile('after.txt', process.stdout)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    bv.lock();
    // And the owner on a computer that never saw the revocation before (no state): still not joined.
    const fresh = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'fresh-state') });
    expect(fresh.epoch).toBe(rot.epoch);
    expect((await fresh.members()).slots.find((s) => s.id === fork.slot)).toBeUndefined();
    expect(paths(fresh)).toEqual(['after.txt', 'before.txt']);
    fresh.lock();
  });

  // A closed fork's records count as far as the revocation's manifest lists their content (FORMAT 6.15), so
  // that a copy which rotated before it saw the revocation keeps what its checkpoint rewrote. R gains nothing.
  for (const who of ['R (from the key R kept)', 'W (a fresh key, wrapped to the members\' public keys)'] as const) {
    it(`records under ${who}'s fork: new content is refused${who.startsWith('R') ? '; an old record re-sealed there changes nothing (before the change: before.txt vanished)' : ' (W cannot know listed content)'}`, async () => {
      const { bob, bobSlot, e1 } = await setup();
      const kept = copyKeys(await stealEpochKeys(sb.dir, bobSlot, bob.id, e1));
      const owner = await open(sb, { passphrase: 'pw' });
      await owner.revoke(bobSlot);
      const before = owner.stat('before.txt') as { id: string };
      owner.lock();
      const fork = await forkEpoch(sb.dir, who.startsWith('R') ? kept : null, { n: 7 });
      const planted = await forgeFile(sb.dir, fork.keys, { name: 'planted.txt', content: 'from the fork' });
      // R re-seals before.txt's record (its exact content, which the revocation listed) under the fork.
      const rec = path.join(sb.dir, 'records', `${before.id}.rec`);
      const body = openRecord(kept, before.id, readFileSync(rec, 'latin1'));
      if (who.startsWith('R')) writeFileSync(rec, sealRecord(fork.keys, before.id, body));
      const v = await open(sb, { passphrase: 'pw' });
      try {
        expect(paths(v)).toEqual(['before.txt']);
        expect(v.problems).toContainEqual(expect.objectContaining({ code: 'FORK', object: `records/${planted}.rec` }));
        expect(v.problems.filter((p) => p.object === `records/${before.id}.rec`)).toEqual([]);
        const out: Buffer[] = [];
        const sink = new PassThrough();
        sink.on('data', (c: Buffer) => out.push(c));
        await v.readFile('before.txt', sink);
        expect(Buffer.concat(out).toString()).toBe('shared with Bob');
      } finally {
        v.lock();
      }
    });
  }

  it('a slot R signs under the closed epoch (here: a member\'s slot re-pointed at R\'s key) gets no keys', async () => {
    const { bob, bobSlot, e1, recoveryKey } = await setup();
    const kept = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);
    const owner = await open(sb, { passphrase: 'pw' });
    await owner.revoke(bobSlot);
    const passSlot = (await owner.members()).slots.find((s) => s.type === 'passphrase')?.id as string;
    owner.lock();
    const laptop = await member();
    // The passphrase slot is a member of the revocation epoch; R re-signs it under e1, pointing at R's key.
    const pass = slotBodies(sb.dir).find((s) => s.slot === passSlot);
    if (!pass) throw new Error('no passphrase slot');
    const { secret: _drop, ...rest } = pass;
    void _drop;
    writeFileSync(path.join(sb.dir, 'slots', `${passSlot}.slot`), signObject('slot', { ...rest, type: 'x25519', recipient: laptop.recipient, epoch: e1 }, kept.mac));
    const v = await open(sb, { recoveryKey });
    expect((await v.members()).slots.find((s) => s.id === passSlot)?.status).toBe('unconfirmed');
    const rot = await v.rotate();
    v.lock();
    expect(readdirSync(path.join(sb.dir, 'keys')).filter((n) => n === `${passSlot}.${rot.epoch}.key`)).toEqual([]);
    await expect(openVault(sb.dir, { credentials: { identities: [laptop.id] }, stateDir: path.join(sb.base, 'bob-state') })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
  });
});
