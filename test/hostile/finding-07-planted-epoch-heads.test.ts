/**
 * Issue 9, finding 7 (medium, W): a planted passphrase slot was derived again for every planted epoch
 * head, and again on every change: `ls` went from 1.4 s to 15 s with 12 fake epoch files.
 *
 * Now each slot is derived at most once per open (a failure is remembered too), only where a key wrap
 * of the epoch being tried exists for it, and later loads of the same session derive nothing again.
 * The test counts Argon2id derivations. Positive control: without the planted files the open costs
 * exactly one derivation, so the spy sees real work. Against the code before this change (commit
 * e93c914) this test fails: the planted wraps there even hid the real one (the open failed with
 * VAULT_TAMPERED), and the planted slot was derived once per head and again on every change.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import { sodium } from '../../main/core/crypto/sodium';
import { makeTree, newVault, open, paths, sandbox, type Sandbox } from '../core/vault/helpers';
import { epochBody, plantEpoch, plantPassphraseSlot, slotBodies } from './attacker';

let sb: Sandbox;
afterEach(() => {
  vi.restoreAllMocks();
  sb?.cleanup();
});

describe('finding 7: 12 planted epoch heads and a planted passphrase slot', () => {
  it('positive control: an open of the untouched vault costs one derivation', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    vault.lock();
    const spy = vi.spyOn(sodium(), 'argon2id');
    const v = await open(sb, { passphrase: 'pw' });
    expect(spy).toHaveBeenCalledTimes(1);
    v.lock();
  });

  it('each slot is derived at most once per open, and not again on later changes', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    makeTree(path.join(sb.base, 'in'), { 'a.txt': 'a', 'b.txt': 'b' });
    await vault.add([path.join(sb.base, 'in/a.txt')]);
    const current = vault.epoch;
    vault.lock();
    const n = epochBody(sb.dir, current).n;
    // W: 12 unauthenticated heads above the real one (naming it as parent), a passphrase slot of
    // W's own, and key wraps for it and for the real passphrase slot under every epoch.
    const planted = Array.from({ length: 12 }, (_, i) => plantEpoch(sb.dir, n + 1 + i, [current]));
    const realPass = slotBodies(sb.dir).filter((s) => s.type === 'passphrase');
    await plantPassphraseSlot(sb.dir, [current, ...planted], realPass);

    const spy = vi.spyOn(sodium(), 'argon2id');
    const v = await open(sb, { passphrase: 'pw' });
    // The real slot once, the planted one at most once.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(2);
    expect(v.epoch).toBe(current);
    expect(paths(v)).toEqual(['a.txt']);
    const after = spy.mock.calls.length;
    await v.add([path.join(sb.base, 'in/b.txt')]);
    await v.mkdir('folder');
    await v.load();
    expect(paths(v)).toEqual(['a.txt', 'b.txt', 'folder/']);
    expect(spy.mock.calls.length).toBe(after);
    v.lock();
  });
});
