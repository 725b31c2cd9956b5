/**
 * Issue 9, finding 4 (high, R): after a revocation, records sealed under the epoch it closed were still
 * accepted: R replaced a file's content and planted a new file, and `ls`, `get` and `verify` passed.
 *
 * Now a revocation lists the record files it kept (its manifest); a record under an epoch it closed
 * counts only if listed. Positive control: the same forged records written while R is still a member
 * are accepted (they authenticate). Run against the code before this change (commit e93c914), the
 * "after the revocation" case fails: the forged content and the planted file were listed and read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openVault } from '../../main/core/vault';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from '../core/vault/helpers';
import { copyKeys, forgeFile, stealEpochKeys } from './attacker';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

async function setup(): Promise<{ bob: Awaited<ReturnType<typeof member>>; bobSlot: string; e1: string; docId: string }> {
  sb = sandbox();
  const bob = await member();
  const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
  makeTree(path.join(sb.base, 'in'), { 'doc.txt': 'the real contract' });
  await vault.add([path.join(sb.base, 'in/doc.txt')]);
  const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
  const docId = vault.stat('doc.txt')?.id as string;
  const e1 = vault.epoch;
  vault.lock();
  return { bob, bobSlot, e1, docId };
}

async function read(v: Awaited<ReturnType<typeof open>>, p: string): Promise<string> {
  const out = path.join(sb.base, `out-${Math.random().toString(36).slice(2)}`);
  await v.get(p, out);
  return readFileSync(out, 'utf8');
}

describe('finding 4: a removed member forges records under the epoch the revocation closed', () => {
  it('positive control: the same forgeries by a current member are accepted', async () => {
    const { bob, bobSlot, e1, docId } = await setup();
    const keys = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);
    await forgeFile(sb.dir, keys, { id: docId, name: 'doc.txt', version: 5, content: 'forged contract' });
    await forgeFile(sb.dir, keys, { name: 'planted.txt', content: 'planted' });
    const v = await open(sb, { passphrase: 'pw' });
    expect(paths(v)).toEqual(['doc.txt', 'planted.txt']);
    expect(await read(v, 'doc.txt')).toBe('forged contract');
    v.lock();
  });

  it('after the revocation a replaced record and a planted one are reported by id and skipped', async () => {
    const { bob, bobSlot, e1, docId } = await setup();
    const kept = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);
    const owner = await open(sb, { passphrase: 'pw' });
    await owner.revoke(bobSlot);
    makeTree(path.join(sb.base, 'in2'), { 'after.txt': 'added after' });
    await owner.add([path.join(sb.base, 'in2/after.txt')]);
    owner.lock();
    // The attack: both records authenticate under e1, whose key Bob kept; the replacement has a
    // higher version so the replay check alone would take it.
    const keys = copyKeys(kept);
    await forgeFile(sb.dir, keys, { id: docId, name: 'doc.txt', version: 9, content: 'forged contract' });
    const planted = await forgeFile(sb.dir, keys, { name: 'planted.txt', content: 'planted' });

    for (const state of [sb.state, path.join(sb.base, 'fresh-state')]) {
      const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: state });
      expect(paths(v)).toEqual(['after.txt']);
      for (const id of [docId, planted]) {
        expect(v.problems).toContainEqual(expect.objectContaining({ severity: 'error', code: 'VAULT_TAMPERED', object: `records/${id}.rec`, message: expect.stringMatching(/closed/) }));
      }
      await expect(v.get('planted.txt', path.join(sb.base, 'x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const rep = await v.verify();
      expect(rep.ok).toBe(false);
      expect(rep.problems.filter((p) => p.code === 'VAULT_TAMPERED').map((p) => p.object).sort()).toEqual([`records/${docId}.rec`, `records/${planted}.rec`].sort());
      // The rest of the vault keeps working.
      expect(await read(v, 'after.txt')).toBe('added after');
      v.lock();
    }
  });

  it('records kept by the revocation stay readable under the epoch it closed (no re-encryption needed)', async () => {
    const { bobSlot, docId } = await setup();
    const before = readFileSync(path.join(sb.dir, 'records', `${docId}.rec`));
    const owner = await open(sb, { passphrase: 'pw' });
    await owner.revoke(bobSlot);
    owner.lock();
    // The record file as it was before the revocation (still sealed under e1) is in the manifest.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(sb.dir, 'records', `${docId}.rec`), before);
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'fresh-state') });
    expect(paths(v)).toEqual(['doc.txt']);
    expect(await read(v, 'doc.txt')).toBe('the real contract');
    v.lock();
  });
});
