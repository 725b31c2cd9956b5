/**
 * Issue 9, finding 5 (medium, R), with a hardware anchor: R restores a copy of the folder from before
 * the revocation, and a computer that has never opened the vault opens it. The owner anchored the vault
 * to a hardware key (a private PKCS#11 data object `coffer-anchor:<vault id>` holding the newest epoch
 * made with the token present), and revoked R with the token present, so the token names the revocation
 * epoch: opening the copy with the token is refused, even after R adds a newer-numbered fork to it.
 * Positive control: the same copy opened on a new computer without the token opens with the plain
 * warning only, as before this change. A real SoftHSM2 token, per-test SOFTHSM2_CONF.
 */
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openVault, type Vault } from '../../main/core/vault';
import { enrollHardwareKey, PivP256Identity } from '../../main/core/keys/pkcs11-p256';
import type { ProviderUI } from '../../main/core/keys/types';
import { CofferError } from '../../main/core/errors';
import { readHardwareAnchor } from '../../main/core/vault/anchor';
import { createSoftHsm, type SoftHsm } from '../fixtures/softhsm';
import { copyKeys, forkEpoch, stealEpochKeys } from './attacker';
import { makeTree, member, newVault, paths, sandbox, type Sandbox } from './helpers';

const PIN = '135790';
let hsm: SoftHsm;
let sb: Sandbox;
let recipient: string;
let stubOf: () => PivP256Identity;
const prompts: string[] = [];
const ui: ProviderUI = {
  requestSecret(req) {
    prompts.push(req.prompt);
    return req.kind === 'pin' ? Promise.resolve(PIN) : Promise.reject(new CofferError('CANCELLED', 'no passphrase here'));
  },
  notify: () => undefined,
};

beforeAll(async () => {
  hsm = createSoftHsm();
  hsm.initToken('owner-token', PIN);
  const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'owner-token', mode: 'generate', label: 'coffer-owner', ui });
  recipient = r.recipient.toString();
  stubOf = () => new PivP256Identity(r.stub, { modulePath: hsm.modulePath });
});
afterAll(() => hsm?.destroy());
afterEach(() => sb?.cleanup());

const openWith = (state: string, withToken: boolean): Promise<Vault> => openVault(sb.dir, {
  credentials: { passphrase: 'pw', ...(withToken ? { identities: [stubOf()] } : {}) }, ui, stateDir: path.join(sb.base, state),
});

describe('finding 5 with a hardware anchor: a copy from before the revocation, on a new computer', () => {
  it('is refused when opened with the token, and opens with the warning only without it (positive control)', async () => {
    sb = sandbox();
    const bob = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
    await vault.grant(recipient, { label: 'owner token' });
    makeTree(path.join(sb.base, 'in'), { 'before.txt': 'old' });
    await vault.add([path.join(sb.base, 'in/before.txt')]);
    const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    const kept = vault.epoch;
    const vaultId = vault.id;
    vault.lock();

    // The owner anchors the vault to the token (with the token present: passphrase to open, PIN for the token).
    const owner = await openWith('state', true);
    expect(await owner.anchorHardware()).toEqual([expect.stringMatching(/^owner-token \(serial [0-9a-f]+\)$/)]);
    owner.lock();
    const oldCopy = path.join(sb.base, 'bob-kept-copy');
    cpSync(sb.dir, oldCopy, { recursive: true });
    const keys = await stealEpochKeys(oldCopy, bobSlot, bob.id, kept);

    // Revocation with the token present: the anchor now names the revocation epoch.
    prompts.length = 0;
    const again = await openWith('state', true);
    const r = await again.revoke(bobSlot);
    again.lock();
    expect(prompts.length).toBe(1); // one PIN, for the anchor's update at revoke (with state and the passphrase, the open does not ask the token)
    const onToken = await readHardwareAnchor(stubOf(), vaultId, ui);
    expect(onToken.anchor?.epoch).toBe(r.epoch);

    // The real folder on a new computer with the token: confirmed, no rollback warning.
    const real = await openWith('another-computer', true);
    expect(real.warnings).toEqual([]);
    expect(real.freshnessAnchors).toEqual([expect.stringMatching(/^hardware key owner-token \(serial/)]);
    real.lock();

    // The attack: the folder is replaced by Bob's copy from before the revocation.
    rmSync(sb.dir, { recursive: true });
    cpSync(oldCopy, sb.dir, { recursive: true });
    await expect(openWith('new-computer', true)).rejects.toMatchObject({
      code: 'VAULT_ROLLBACK', message: expect.stringMatching(new RegExp(`was rolled back: hardware key owner-token \\(serial \\w+\\) records epoch ${r.epoch} of this vault, which is not in the folder`)),
    });
    // Positive control: without the token nothing outside the folder is asked; it opens, with the warning.
    const blind = await openWith('new-computer-2', false);
    expect(paths(blind)).toEqual(['before.txt']);
    expect(blind.warnings.join('\n')).toMatch(/cannot tell whether the folder was rolled back/);
    blind.lock();

    // R adds a newer-numbered fork from the epoch he knew: still refused (it does not contain the anchored epoch).
    await forkEpoch(sb.dir, copyKeys(keys), { n: 50 });
    await expect(openWith('new-computer-3', true)).rejects.toMatchObject({ code: 'VAULT_ROLLBACK' });
  });
});
