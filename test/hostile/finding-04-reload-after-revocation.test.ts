/**
 * Issue 9, finding 4 (high, R), in a long-lived session (the app, `coffer vault serve`): a vault that is
 * reloaded after another writer changed the folder must apply the revocation rules to what it already
 * holds, exactly as a fresh open does.
 *
 * The attack: R, already revoked on another computer, seals a record under the epoch the revocation
 * closed. The owner's open session sees R's record before the revocation epoch has synced (sync order is
 * arbitrary), and accepts it: nothing it knows closes that epoch yet. Then the revocation arrives. A fresh
 * open rejects the record (the revocation's manifest does not list it). Before the fix the reloaded
 * session kept it: its record cache skipped unchanged records under an epoch still in the history without
 * asking the manifests, so the forged file stayed listed and readable, and the session's next revocation
 * or re-encryption would have sealed it into the vault for good. Shown to fail on the old code (the
 * `refresh()` assertion below listed `invoice.txt`); the fresh open is the control.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openVault } from '../../main/core/vault';
import { copyKeys, forgeFile, stealEpochKeys } from './attacker';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

/** What a sync client does: make `dir`'s subfolder `sub` hold exactly what `from`'s holds. */
function syncFolder(from: string, dir: string, sub: string): void {
  rmSync(path.join(dir, sub), { recursive: true, force: true });
  cpSync(path.join(from, sub), path.join(dir, sub), { recursive: true });
}

describe('finding 4 on reload: a session that already holds the closed epoch re-checks its records', () => {
  it('a record R forged under the closed epoch, seen before the revocation synced, is dropped when it arrives', async () => {
    sb = sandbox();
    const bob = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
    makeTree(path.join(sb.base, 'in'), { 'plan.txt': 'the plan' });
    await vault.add([path.join(sb.base, 'in/plan.txt')]);
    const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    const e1 = vault.epoch;
    vault.lock();
    const kept = await stealEpochKeys(sb.dir, bobSlot, bob.id, e1);

    // The owner's long-lived session on this computer.
    const session = await open(sb, { passphrase: 'pw' });
    expect(paths(session)).toEqual(['plan.txt']);

    // Another computer (its own copy of the folder and its own state) revokes Bob.
    const other = path.join(sb.base, 'other-computer-copy');
    cpSync(sb.dir, other, { recursive: true });
    const admin = await openVault(other, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'other-state') });
    await admin.revoke(bobSlot);
    admin.lock();

    // Bob seals a file under E1 into the shared folder; it syncs here before the revocation does.
    await forgeFile(sb.dir, copyKeys(kept), { name: 'invoice.txt', content: 'pay Bob\n' });
    expect(await session.refresh()).toBe(true);
    expect(paths(session)).toEqual(['invoice.txt', 'plan.txt']); // nothing known closes E1 yet

    // The revocation syncs in: its epoch, manifest, key wraps and re-signed slots.
    for (const sub of ['epochs', 'keys', 'slots']) syncFolder(other, sb.dir, sub);
    expect(readdirSync(path.join(sb.dir, 'epochs')).some((f) => f.endsWith('.manifest'))).toBe(true);

    // Control: a fresh open of this very folder rejects the forged record.
    const fresh = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: path.join(sb.base, 'fresh-state') });
    expect(paths(fresh)).toEqual(['plan.txt']);
    expect(fresh.problems.some((p) => p.code === 'VAULT_TAMPERED' && /closed/.test(p.message))).toBe(true);
    fresh.lock();

    // The reloaded session must answer the same.
    expect(await session.refresh()).toBe(true);
    expect(session.epoch).not.toBe(e1);
    expect(paths(session)).toEqual(['plan.txt']);
    expect(session.problems.some((p) => p.code === 'VAULT_TAMPERED' && /closed/.test(p.message))).toBe(true);
    await expect(session.readFile('invoice.txt', process.stdout)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    session.lock();
  });
});
