/**
 * Issue 9, finding 5 (medium, R), with a freshness anchor: R restores a copy of the folder from before
 * the revocation, and a computer that has never opened the vault opens it. Without an anchor nothing in
 * the folder can tell (the positive control below: it opens, with the plain warning, exactly as before
 * this change). With the vault anchored to a dedicated Vault Transit key, the revocation rotated the key
 * and raised min_decryption_version, so the copy's newest epoch is wrapped under a version Vault no
 * longer accepts: the new computer refuses it. R's stronger variants (a fork from the old epoch that
 * omits the anchor, carrying the old Transit wrap, a relabelled one, or none) are refused too.
 * Against the Transit test server over TLS (test/servers/transit, which follows Vault's real behaviour).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initVault, openVault, type Vault } from '../../main/core/vault';
import { setTransitClientSource } from '../../main/core/keys/transit/slot';
import type { TransitClient } from '../../main/core/keys/vault-transit';
import { encodeHeader, parseHeader } from '../../main/core/format/header';
import { makeHarness, policyFor, type Harness } from '../core/keys/transit/harness';
import type { TransitServer } from '../servers/transit/server';
import { copyKeys, epochBody, forkEpoch, stealEpochKeys } from './attacker';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from './helpers';

const KEY = 'coffer-team-anchor';
/** One dedicated key per scenario. */
const KEYS = [KEY, 'not-anchored', 'fork-anchor', 'keep-anchor'];
let h: Harness;
let srv: TransitServer;
let client: TransitClient;
let sb: Sandbox;

beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  // The policy an anchored vault needs: the slot's paths, plus rotate and config on its dedicated key.
  srv.putPolicy('anchored', KEYS.map((k) => `${policyFor(k)}
path "transit/keys/${k}/rotate" { capabilities = ["update"] }
path "transit/keys/${k}/config" { capabilities = ["update"] }
`).join(''));
  client = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['anchored'] }) });
});
afterAll(async () => h.cleanup());
afterEach(() => {
  sb?.cleanup();
  setTransitClientSource(() => client);
});

const freshComputer = (name: string, credentials = { passphrase: 'pw' }): Promise<Vault> => openVault(sb.dir, { credentials, stateDir: path.join(sb.base, name) });

/**
 * A vault with the owner's passphrase, Bob, and a Transit slot; anchored or not; a file; Bob keeps a
 * copy of the folder (and the key of the epoch he knew); then Bob is revoked.
 */
async function scenario(keyName: string, anchored: boolean): Promise<{ oldCopy: string; bob: Awaited<ReturnType<typeof member>>; bobSlot: string; transitSlot: string; kept: string }> {
  sb = sandbox();
  srv.createKey(keyName);
  setTransitClientSource(() => client);
  const bob = await member();
  const { vault } = await newVault(sb, { passphrase: 'pw', members: [bob.recipient] });
  const t = await vault.grant(`vault-transit:transit/${keyName}`);
  if (anchored) {
    const a = await vault.anchorTransit();
    expect(a.anchor).toEqual({ slot: t.id, key: `transit/${keyName}`, version: 2 });
    expect(srv.key(keyName)).toMatchObject({ latestVersion: 2, minDecryptionVersion: 2 });
  }
  makeTree(path.join(sb.base, 'in'), { 'before.txt': 'old' });
  await vault.add([path.join(sb.base, 'in/before.txt')]);
  const bobSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
  const kept = vault.epoch;
  vault.lock();
  const oldCopy = path.join(sb.base, 'bob-kept-copy');
  cpSync(sb.dir, oldCopy, { recursive: true });
  const owner = await open(sb, { passphrase: 'pw' });
  await owner.revoke(bobSlot);
  owner.lock();
  return { oldCopy, bob, bobSlot, transitSlot: t.id, kept };
}

function restore(copy: string): void {
  rmSync(sb.dir, { recursive: true });
  cpSync(copy, sb.dir, { recursive: true });
}

describe('finding 5 with a Transit anchor: a copy from before the revocation, on a new computer', () => {
  it('positive control: without the anchor the restored copy opens on a new computer, with the warning only', async () => {
    const { oldCopy } = await scenario('not-anchored', false);
    restore(oldCopy);
    const v = await freshComputer('new-computer');
    expect(paths(v)).toEqual(['before.txt']);
    expect(v.warnings).toHaveLength(1);
    expect(v.warnings[0]).toMatch(/has not opened vault .* before, so it cannot tell whether the folder was rolled back/);
    expect(v.freshnessAnchors).toEqual([]);
    v.lock();
  });

  it('anchored: the revocation raised min_decryption_version, and the restored copy is refused with VAULT_ROLLBACK', async () => {
    const { oldCopy } = await scenario(KEY, true);
    expect(srv.key(KEY)).toMatchObject({ latestVersion: 3, minDecryptionVersion: 3 });
    // The real folder opens on a new computer without the warning: the anchor confirmed it (a key read
    // and, since the passphrase opened it, one decrypt of the newest Transit wrap).
    const before = client.requestCount;
    const real = await freshComputer('another-computer');
    expect(client.requestCount - before).toBe(2);
    expect(real.warnings).toEqual([]);
    expect(real.freshnessAnchors).toEqual([`Vault Transit key transit/${KEY}`]);
    real.lock();

    restore(oldCopy);
    await expect(freshComputer('new-computer')).rejects.toMatchObject({
      code: 'VAULT_ROLLBACK',
      message: expect.stringMatching(new RegExp(`was rolled back: its newest epoch .* is wrapped with version 2 of Transit key transit/${KEY}, but that key accepts only versions 3 and later`)),
    });
    // Unlocking through the Transit slot itself fails too (Vault refuses the old wrap), and says why.
    await expect(freshComputer('transit-only', {} as { passphrase: string })).rejects.toMatchObject({ code: 'TRANSIT_VERSION_TOO_OLD', message: expect.stringMatching(/this folder is an older copy/) });
    // Vault not reachable: never silent, a warning names the anchor that could not be asked.
    setTransitClientSource(undefined);
    const blind = await freshComputer('offline-computer');
    expect(blind.warnings.join('\n')).toMatch(new RegExp(`anchored to Vault Transit key transit/${KEY}, but Vault could not be asked .* cannot rule out a rollback`));
    blind.lock();
  });

  it('R forks the old copy (no anchor field) carrying the old Transit wrap, a relabelled one, or none: refused', async () => {
    const { oldCopy, bob, bobSlot, transitSlot, kept } = await scenario('fork-anchor', true);
    const keys = await stealEpochKeys(oldCopy, bobSlot, bob.id, kept);
    const oldWrap = parseHeader(readFileSync(path.join(oldCopy, 'keys', `${transitSlot}.${kept}.key`)));
    for (const variant of ['copied', 'relabelled', 'none'] as const) {
      restore(oldCopy);
      // R has no Transit access: the fork wraps for everyone else, and handles the Transit slot by hand.
      const fork = await forkEpoch(sb.dir, copyKeys(keys), { n: 9, skipSlots: [transitSlot] });
      expect(epochBody(sb.dir, fork.epoch).anchor).toBeUndefined();
      if (variant !== 'none') {
        const stanzas = oldWrap.stanzas.map((s) => (variant === 'relabelled' ? { ...s, args: [s.args[0] as string, s.args[1] as string, '3'] } : s));
        writeFileSync(path.join(sb.dir, 'keys', `${transitSlot}.${fork.epoch}.key`), encodeHeader(stanzas, fork.keys.vk));
      }
      const e = await freshComputer(`new-computer-${variant}`).then(() => null, (x: unknown) => x);
      expect(e, variant).toMatchObject(variant === 'relabelled'
        ? { code: 'VAULT_TAMPERED', message: expect.stringMatching(/does not decrypt to that epoch's key: it was forged/) }
        : { code: 'VAULT_ROLLBACK', message: expect.stringMatching(variant === 'copied' ? /wrapped with version 2 .* accepts only versions 3/ : /has no key wrap for Transit key/) });
    }
  });

  it('the anchor slot cannot be revoked, and the anchor key must not be the strict-mode key', async () => {
    await scenario('keep-anchor', true);
    const v = await open(sb, { passphrase: 'pw' });
    const t = (await v.members()).slots.find((s) => s.type === 'vault-transit')?.id as string;
    await expect(v.revoke(t)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/anchors the freshness .* cannot be revoked/) });
    // A plain rotation advances the anchor too.
    await v.rotate();
    expect(srv.key('keep-anchor')).toMatchObject({ latestVersion: 4, minDecryptionVersion: 4 });
    v.lock();
    // A strict vault whose file keys are sealed by the same key: anchoring would strand them.
    const strictDir = path.join(sb.base, 'strict');
    srv.createKey('strict-kek');
    srv.putPolicy('anchored', `${policyFor('strict-kek')}path "transit/keys/strict-kek/rotate" { capabilities = ["update"] }\n`);
    const { vault: st } = await initVault(strictDir, { recipients: [{ recipient: 'vault-transit:transit/strict-kek' }], stateDir: sb.state, strict: 'vault-transit:transit/strict-kek' });
    await expect(st.anchorTransit()).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/also seals this strict vault's file keys/) });
    expect(srv.key('strict-kek')).toMatchObject({ latestVersion: 1, minDecryptionVersion: 1 });
    st.lock();
  });
});
