/**
 * What a computer remembers about a vault (main/core/vault/state.ts): here, its writer id in the version
 * clocks (docs/FORMAT.md §6.18), which must be this computer's alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { readMemory, writerId } from '../../../main/core/vault/state';
import { makeTree, newVault, open, paths, sandbox, type Sandbox } from './helpers';
import { syncMerge } from './sync-helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const VAULT = '0123456789abcdef0123456789abcdef';

describe('the writer id', () => {
  it('is chosen once and kept where it was chosen', async () => {
    sb = sandbox();
    const w = await writerId(sb.state, VAULT);
    expect(w).toMatch(/^[0-9a-f]{12}$/);
    expect(await writerId(sb.state, VAULT)).toBe(w);
    expect((await readMemory(sb.state, VAULT)).writer).toBe(w);
  });

  it('is not carried along when the state folder is copied (a cloned home folder, a restored backup)', async () => {
    sb = sandbox();
    const w = await writerId(sb.state, VAULT);
    const copy = path.join(sb.base, 'state-copy');
    cpSync(sb.state, copy, { recursive: true });
    const w2 = await writerId(copy, VAULT);
    expect(w2).toMatch(/^[0-9a-f]{12}$/);
    expect(w2).not.toBe(w); // before the fix: the same id on both
    expect(await writerId(sb.state, VAULT)).toBe(w);
    expect(await writerId(copy, VAULT)).toBe(w2);
  });
});

describe('two computers that started from one copied state folder', () => {
  it('keep both changes of a file changed once on one (then checkpointed) and twice on the other', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    makeTree(path.join(sb.base, 'in'), { 'shared.txt': 'v0' });
    await vault.add([path.join(sb.base, 'in/shared.txt')]);
    // The first write chose this computer's writer id; the second computer is a copy of the first.
    vault.lock();
    const base = path.join(sb.base, 'base');
    const b = path.join(sb.base, 'copyB');
    const stateB = path.join(sb.base, 'stateB');
    cpSync(sb.dir, base, { recursive: true });
    cpSync(sb.dir, b, { recursive: true });
    cpSync(sb.state, stateB, { recursive: true });
    const va = await open(sb, { passphrase: 'pw' }, sb.dir, sb.state);
    await va.mv('shared.txt', 'a1.txt');
    await va.mv('a1.txt', 'a2.txt');
    va.lock();
    const vb = await open(sb, { passphrase: 'pw' }, b, stateB);
    await vb.mv('shared.txt', 'b.txt');
    // A checkpoint holds B's record now: the sync client keeps A's record file, B's change is in B's pack.
    await vb.compact();
    vb.lock();
    syncMerge(base, sb.dir, b);
    for (const state of [sb.state, stateB]) {
      const v = await open(sb, { passphrase: 'pw' }, sb.dir, state);
      // Before the fix: ['a2.txt'] (both wrote under one id, so A's second change looked as if it had seen B's).
      expect(paths(v)).toEqual(['a2.txt', 'b.txt']);
      expect(v.list('').filter((e) => e.conflict)).toHaveLength(1); // a concurrent edit, shown as a conflict
      v.lock();
    }
  });
});
