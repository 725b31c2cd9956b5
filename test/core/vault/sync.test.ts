import { describe, expect, it, afterEach } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseObjectName } from '../../../main/core/vault';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from './helpers';
import { dropboxName, gdriveName, onedriveName, syncMerge, syncthingName } from './sync-helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const ID = '0123456789abcdef0123456789abcdef';

describe('conflict copy names', () => {
  it.each([
    [`${ID} (conflicted copy 2026-11-29).rec`, 'dropbox'],
    [`${ID} (Alice's conflicted copy 2026-11-29).rec`, 'dropbox'],
    [`${ID} (conflicted copy 2026-11-29 120102).rec`, 'nextcloud'],
    [`${ID}-DESKTOP-7Q2.rec`, 'onedrive'],
    [`${ID}-LAPTOP-2.rec`, 'onedrive'],
    [`${ID}.sync-conflict-20261129-120102-ABCDEF7.rec`, 'syncthing'],
    [`${ID} (1).rec`, 'google-drive'],
    [`${ID} (12).rec`, 'google-drive'],
  ])('%s is a %s conflict copy of the record', (name, source) => {
    expect(parseObjectName(name, '.rec', '[0-9a-f]{32}')).toEqual({ id: ID, conflict: expect.objectContaining({ source }) });
  });
  it('plain names are originals; other names are not objects', () => {
    expect(parseObjectName(`${ID}.rec`, '.rec', '[0-9a-f]{32}')).toEqual({ id: ID, conflict: null });
    expect(parseObjectName(`${ID}.rec.tmp`, '.rec', '[0-9a-f]{32}')).toBeNull();
    expect(parseObjectName(`notes.rec`, '.rec', '[0-9a-f]{32}')).toBeNull();
    expect(parseObjectName(`${ID} (weird).rec`, '.rec', '[0-9a-f]{32}')).toBeNull();
  });
});

async function prepare(): Promise<{ base: string; a: string; b: string; stateA: string; stateB: string }> {
  const { vault } = await newVault(sb, { passphrase: 'pw' });
  makeTree(path.join(sb.base, 'in'), { 'shared.txt': 'v0', 'gone.txt': 'bye', 'keep.txt': 'keep' });
  await vault.add([path.join(sb.base, 'in/shared.txt'), path.join(sb.base, 'in/gone.txt'), path.join(sb.base, 'in/keep.txt')]);
  vault.lock();
  const base = path.join(sb.base, 'base');
  const b = path.join(sb.base, 'copyB');
  cpSync(sb.dir, base, { recursive: true });
  cpSync(sb.dir, b, { recursive: true });
  const stateB = path.join(sb.base, 'stateB');
  cpSync(sb.state, stateB, { recursive: true });
  return { base, a: sb.dir, b, stateA: sb.state, stateB };
}

describe('merging two independently changed copies', () => {
  for (const [label, namer] of [['Dropbox', dropboxName], ['Syncthing', syncthingName], ['OneDrive', onedriveName], ['Google Drive', gdriveName]] as const) {
    it(`keeps every change, and both versions of an entry changed on both sides (${label})`, async () => {
      sb = sandbox();
      const { base, a, b, stateA, stateB } = await prepare();
      makeTree(path.join(sb.base, 'newA'), { 'fromA.txt': 'A' });
      makeTree(path.join(sb.base, 'newB'), { 'fromB.txt': 'B' });
      const va = await open(sb, { passphrase: 'pw' }, a, stateA);
      await va.add([path.join(sb.base, 'newA/fromA.txt')]);
      await va.mv('shared.txt', 'shared-by-A.txt');
      await va.mkdir('folderA');
      va.lock();
      const vb = await open(sb, { passphrase: 'pw' }, b, stateB);
      await vb.add([path.join(sb.base, 'newB/fromB.txt')]);
      await vb.mv('shared.txt', 'shared-by-B.txt');
      await vb.rm('gone.txt');
      vb.lock();
      syncMerge(base, a, b, namer);
      for (const state of [stateA, stateB]) {
        const v = await open(sb, { passphrase: 'pw' }, a, state);
        expect(paths(v)).toEqual(['folderA/', 'fromA.txt', 'fromB.txt', 'keep.txt', 'shared-by-A.txt', 'shared-by-B.txt']);
        const conflicts = v.list('').filter((e) => e.conflict);
        expect(conflicts).toHaveLength(1);
        const rep = await v.verify();
        expect(rep.problems.filter((p) => p.code === 'CONFLICT')).toHaveLength(1);
        expect(rep.ok).toBe(true);
        v.lock();
      }
      // Resolving: keep the conflict version as its own entry (mv), then both are ordinary entries.
      const v = await open(sb, { passphrase: 'pw' }, a, stateA);
      const c = v.list('').find((e) => e.conflict) as { path: string };
      await v.mv(c.path, 'resolved.txt');
      expect(v.list('').filter((e) => e.conflict)).toHaveLength(0);
      await v.get('resolved.txt', path.join(sb.base, 'resolved.out'));
      expect(readFileSync(path.join(sb.base, 'resolved.out'), 'utf8')).toBe('v0');
      v.lock();
    });
  }

  it('keeps membership changes from both sides (grant on one, grant and rotate on the other)', async () => {
    sb = sandbox();
    const { base, a, b, stateA, stateB } = await prepare();
    const alice = await member();
    const carol = await member();
    const va = await open(sb, { passphrase: 'pw' }, a, stateA);
    await va.grant(alice.recipient, { label: 'Alice' });
    va.lock();
    const vb = await open(sb, { passphrase: 'pw' }, b, stateB);
    await vb.grant(carol.recipient, { label: 'Carol' });
    await vb.rotate();
    vb.lock();
    syncMerge(base, a, b);
    const v = await open(sb, { passphrase: 'pw' }, a, stateA);
    const m = await v.members();
    expect(m.slots.filter((s) => s.status === 'active').map((s) => s.label).sort()).toEqual(['Alice', 'Carol', 'passphrase', 'recovery key']);
    v.lock();
    for (const who of [alice, carol]) {
      const mv = await open(sb, { identities: [who.id] }, a, stateA);
      expect(paths(mv)).toEqual(['gone.txt', 'keep.txt', 'shared.txt']);
      mv.lock();
    }
  });

  it('joins two concurrent rotations into one epoch that every member opens', async () => {
    sb = sandbox();
    const { base, a, b, stateA, stateB } = await prepare();
    const va = await open(sb, { passphrase: 'pw' }, a, stateA);
    const ra = await va.rotate();
    makeTree(path.join(sb.base, 'nA'), { 'a2.txt': 'a2' });
    await va.add([path.join(sb.base, 'nA/a2.txt')]);
    va.lock();
    const vb = await open(sb, { passphrase: 'pw' }, b, stateB);
    const rb = await vb.rotate();
    makeTree(path.join(sb.base, 'nB'), { 'b2.txt': 'b2' });
    await vb.add([path.join(sb.base, 'nB/b2.txt')]);
    vb.lock();
    syncMerge(base, a, b);
    const v = await open(sb, { passphrase: 'pw' }, a, stateA);
    expect(v.epoch).not.toBe(ra.epoch);
    expect(v.epoch).not.toBe(rb.epoch);
    expect(v.epoch.startsWith('00000003-')).toBe(true);
    expect(paths(v)).toEqual(['a2.txt', 'b2.txt', 'gone.txt', 'keep.txt', 'shared.txt']);
    await v.rotate();
    expect((await v.verify()).problems.filter((p) => p.severity !== 'info')).toEqual([]);
    v.lock();
  });

  it('a grant made concurrently with a revocation is kept, held for confirmation, and confirmed by grant', async () => {
    sb = sandbox();
    const bob = await member();
    const alice = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
    const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    vault.lock();
    const base = path.join(sb.base, 'base');
    const b = path.join(sb.base, 'copyB');
    cpSync(sb.dir, base, { recursive: true });
    cpSync(sb.dir, b, { recursive: true });
    const stateB = path.join(sb.base, 'stateB');
    cpSync(sb.state, stateB, { recursive: true });
    const va = await open(sb, { passphrase: 'pw' });
    await va.grant(alice.recipient, { label: 'Alice' });
    va.lock();
    const vb = await open(sb, { passphrase: 'pw' }, b, stateB);
    await vb.revoke(bobSlot);
    vb.lock();
    syncMerge(base, sb.dir, b);
    const v = await open(sb, { passphrase: 'pw' });
    const m = await v.members();
    expect(m.slots.find((s) => s.label === 'Alice')?.status).toBe('unconfirmed');
    expect(m.slots.find((s) => s.id === bobSlot)).toBeUndefined();
    await expect(open(sb, { identities: [bob.id] })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    await v.grant(alice.recipient);
    expect((await v.members()).slots.find((s) => s.label === 'Alice')?.status).toBe('active');
    v.lock();
    const av = await open(sb, { identities: [alice.id] });
    av.lock();
  });

  it('folders moved into each other on two copies are both still shown', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    await vault.mkdir('X');
    await vault.mkdir('Y');
    makeTree(path.join(sb.base, 'in'), { 'x.txt': 'x', 'y.txt': 'y' });
    await vault.add([path.join(sb.base, 'in/x.txt')], 'X');
    await vault.add([path.join(sb.base, 'in/y.txt')], 'Y');
    vault.lock();
    const base = path.join(sb.base, 'base');
    const b = path.join(sb.base, 'copyB');
    cpSync(sb.dir, base, { recursive: true });
    cpSync(sb.dir, b, { recursive: true });
    const stateB = path.join(sb.base, 'stateB');
    cpSync(sb.state, stateB, { recursive: true });
    const va = await open(sb, { passphrase: 'pw' });
    await va.mv('X', 'Y');
    va.lock();
    const vb = await open(sb, { passphrase: 'pw' }, b, stateB);
    await vb.mv('Y', 'X');
    vb.lock();
    syncMerge(base, sb.dir, b);
    const v = await open(sb, { passphrase: 'pw' });
    const all = paths(v);
    expect(all.filter((p) => p.endsWith('x.txt'))).toHaveLength(1);
    expect(all.filter((p) => p.endsWith('y.txt'))).toHaveLength(1);
    expect(v.list('').some((e) => e.conflict?.source === 'orphan')).toBe(true);
    v.lock();
  });
});
