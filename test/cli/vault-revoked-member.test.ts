/**
 * Issue 9: the revoked-member scenarios end to end through the built CLI. The owner uses only
 * `coffer`; Bob, the removed member, keeps his identity file and the vault key of the last epoch he
 * knew, and writes into the folder with test/hostile/attacker.ts (what a modified client would do):
 *   1. fork: a new epoch from the last one he knew, wrapped for everyone, with a slot of his own;
 *   2. forge: a replaced and a planted record under the epoch the revocation closed;
 *   3. restore: his copy from before the revocation, opened on a computer with no state;
 *   4. the same restore against a vault anchored to a Vault Transit key (`grant --transit-key K --anchor`):
 *      refused on the computer with no state (3. is its positive control: without the anchor it opened).
 * Each attack succeeded against the code before this change (commit e93c914; see test/hostile/).
 */
import { cpSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initSodium } from '../../main/core/crypto/sodium';
import { parseIdentityText } from '../../main/core/keys/identity-file';
import type { X25519Identity } from '../../main/core/keys/x25519';
import { copyKeys, forgeFile, forkEpoch, stealEpochKeys } from '../hostile/attacker';
import { runCoffer, tempDir, type CliResult } from '../helpers/cli';
import type { EpochKeys } from '../../main/core/vault/crypto';
import { makeHarness, policyFor, type Harness } from '../core/keys/transit/harness';
import type { TransitServer } from '../servers/transit/server';

vi.setConfig({ testTimeout: 180_000 });

const tmp = tempDir('coffer-revoked-cli-');
afterAll(() => tmp.cleanup());
const p = (n: string): string => path.join(tmp.dir, n);
const PASS = ['--passphrase-file', p('pass')];
const stateOf = (name: string): NodeJS.ProcessEnv => ({ COFFER_STATE_DIR: p(name) });

const run = (args: string[], env: NodeJS.ProcessEnv = stateOf('owner-state')): Promise<CliResult> => runCoffer(['vault', ...args], { env });

function ok(r: CliResult): string {
  expect(r.stderr.split('\n').filter((l) => l.startsWith('coffer:') && !l.startsWith('coffer: warning:')), r.stderr).toEqual([]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.toString();
}

async function keygen(name: string): Promise<{ recipient: string; id: X25519Identity; file: string }> {
  const k = await runCoffer(['keygen', '-o', p(name)]);
  const id = parseIdentityText(readFileSync(p(name), 'utf8'), name).identities[0] as X25519Identity;
  return { recipient: k.stdout.toString().trim(), id, file: p(name) };
}

interface Members { epoch: string; slots: { id: string; type: string; label: string; status: string }[] }

/** A vault with the owner's passphrase and Bob; a file; Bob keeps his epoch key and a copy; Bob is revoked. */
async function scenario(name: string): Promise<{ dir: string; bobSlot: string; kept: EpochKeys; oldCopy: string; bob: Awaited<ReturnType<typeof keygen>> }> {
  const dir = p(name);
  const bob = await keygen(`${name}-bob.key`);
  ok(await run(['init', dir, '--name', 'Team', ...PASS, '--kdf-params', '1:8', '-r', bob.recipient]));
  mkdirSync(p(`${name}-src`), { recursive: true });
  writeFileSync(p(`${name}-src/plan.txt`), 'the plan\n');
  ok(await run(['add', dir, p(`${name}-src/plan.txt`), ...PASS]));
  const m = JSON.parse(ok(await run(['members', dir, '--json', ...PASS]))) as Members;
  const bobSlot = m.slots.find((s) => s.type === 'x25519')?.id as string;
  const kept = await stealEpochKeys(dir, bobSlot, bob.id, m.epoch);
  const oldCopy = p(`${name}-bob-copy`);
  cpSync(dir, oldCopy, { recursive: true });
  ok(await run(['revoke', dir, bobSlot, ...PASS]));
  return { dir, bobSlot, kept, oldCopy, bob };
}

beforeAll(async () => {
  await initSodium();
  writeFileSync(p('pass'), 'owner passphrase\n');
});

describe('revoked member, through the CLI', () => {
  it('fork: not joined, his new slot is no member, and he cannot read what is added later', async () => {
    const { dir, bobSlot, kept } = await scenario('fork');
    const laptop = await keygen('fork-laptop.key');
    const fork = await forkEpoch(dir, copyKeys(kept), { ownRecipient: laptop.recipient, n: 9 });
    const ls = await run(['ls', dir, ...PASS]);
    expect(ls.stdout.toString()).toBe('plan.txt\n');
    expect(ls.stderr).toMatch(new RegExp(`coffer: warning: epochs/${fork.epoch}\\.epoch: .*not joined`));
    const m = JSON.parse(ok(await run(['members', dir, '--json', ...PASS]))) as Members;
    expect(m.slots.map((s) => s.id)).not.toContain(fork.slot);
    expect(m.slots.map((s) => s.id)).not.toContain(bobSlot);
    writeFileSync(p('after.txt'), 'not for Bob\n');
    ok(await run(['add', dir, p('after.txt'), ...PASS]));
    ok(await run(['rotate', dir, ...PASS]));
    // Bob with his new key, on his own computer: his fork only, nothing added after the revocation.
    const bls = await run(['ls', dir, '-i', laptop.file], stateOf('bob-state'));
    expect(bls.stdout.toString()).not.toMatch(/after\.txt/);
    const bget = await run(['get', dir, 'after.txt', '-o', p('stolen.txt'), '-i', laptop.file], stateOf('bob-state'));
    expect(bget.code).toBe(1);
    expect(() => readFileSync(p('stolen.txt'))).toThrow();
  });

  it('forge under the closed epoch: ls, get and verify report the records by id and skip them', async () => {
    const { dir, kept } = await scenario('forge');
    const planId = (JSON.parse(ok(await run(['ls', dir, '--json', ...PASS]))) as { id: string; name: string }[]).find((e) => e.name === 'plan.txt')?.id as string;
    const keys = copyKeys(kept);
    await forgeFile(dir, keys, { id: planId, name: 'plan.txt', version: 7, content: 'a forged plan\n' });
    const planted = await forgeFile(dir, keys, { name: 'invoice.txt', content: 'pay Bob\n' });
    const ls = await run(['ls', dir, ...PASS]);
    expect(ls.code).toBe(1);
    expect(ls.stdout.toString()).toBe('');
    for (const id of [planId, planted]) expect(ls.stderr).toMatch(new RegExp(`records/${id}\\.rec: record is sealed under epoch .* closed`));
    const get = await run(['get', dir, 'invoice.txt', '-o', p('invoice.out'), ...PASS]);
    expect(get.code).toBe(1);
    expect(() => readFileSync(p('invoice.out'))).toThrow();
    const ver = await run(['verify', dir, '--json', ...PASS]);
    expect(ver.code).toBe(1);
    const rep = JSON.parse(ver.stdout.toString()) as { ok: boolean; problems: { code: string; object: string }[] };
    expect(rep.ok).toBe(false);
    expect(rep.problems.filter((x) => x.code === 'VAULT_TAMPERED').map((x) => x.object).sort()).toEqual([`records/${planId}.rec`, `records/${planted}.rec`].sort());
  });

  it('restore an old copy: refused where the revocation was seen; a fresh state folder opens it with a warning', async () => {
    const { dir, oldCopy } = await scenario('restore');
    rmSync(dir, { recursive: true });
    cpSync(oldCopy, dir, { recursive: true });
    const seen = await run(['ls', dir, ...PASS]);
    expect(seen.code).toBe(1);
    expect(seen.stderr).toMatch(/^coffer: vault Team: this computer has seen revocation epoch .* rolled back/m);
    const fresh = await run(['ls', dir, ...PASS], stateOf('new-computer'));
    expect(fresh.code).toBe(0);
    expect(fresh.stdout.toString()).toBe('plan.txt\n');
    expect(fresh.stderr).toMatch(/^coffer: warning: this computer has not opened vault Team before, so it cannot tell whether the folder was rolled back/m);
    // Once the computer has state, the warning is not repeated.
    const again = await run(['ls', dir, ...PASS], stateOf('new-computer'));
    expect(again.stderr).toBe('');
  });
});

describe('revoked member against a freshness anchor, through the CLI', () => {
  let h: Harness;
  let srv: TransitServer;
  let vaultEnv: NodeJS.ProcessEnv;
  const KEY = 'team-anchor';
  beforeAll(async () => {
    h = await makeHarness();
    srv = await h.server();
    srv.createKey(KEY);
    srv.putPolicy('anchored', `${policyFor(KEY)}path "transit/keys/${KEY}/rotate" { capabilities = ["update"] }\npath "transit/keys/${KEY}/config" { capabilities = ["update"] }\n`);
    vaultEnv = { VAULT_ADDR: srv.url, VAULT_CACERT: h.files.ca, VAULT_TOKEN: srv.createToken({ policies: ['anchored'] }) };
  });
  afterAll(async () => h?.cleanup());

  it('restore an old copy of a Transit-anchored vault: a fresh state folder refuses it (the unanchored one above opened)', async () => {
    const dir = p('anchored');
    const withVault = (state: string): NodeJS.ProcessEnv => ({ ...stateOf(state), ...vaultEnv });
    const bob = await keygen('anchored-bob.key');
    ok(await run(['init', dir, '--name', 'Team', ...PASS, '--kdf-params', '1:8', '-r', bob.recipient]));
    const granted = ok(await run(['grant', dir, '--transit-key', KEY, '--anchor', ...PASS], withVault('owner-state')));
    expect(granted).toMatch(new RegExp(`anchored: epoch \\S+; Vault Transit key transit/${KEY} now decrypts only version 2 and later`));
    mkdirSync(p('anchored-src'), { recursive: true });
    writeFileSync(p('anchored-src/plan.txt'), 'the plan\n');
    ok(await run(['add', dir, p('anchored-src/plan.txt'), ...PASS], withVault('owner-state')));
    const m = JSON.parse(ok(await run(['members', dir, '--json', ...PASS], withVault('owner-state')))) as Members;
    const bobSlot = m.slots.find((s) => s.type === 'x25519')?.id as string;
    const transitSlot = m.slots.find((s) => s.type === 'vault-transit')?.id as string;
    const oldCopy = p('anchored-bob-copy');
    cpSync(dir, oldCopy, { recursive: true });
    // The anchor slot cannot be revoked; Bob can, and his revocation advances the anchor.
    const refused = await run(['revoke', dir, transitSlot, ...PASS], withVault('owner-state'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/anchors the freshness of vault Team and cannot be revoked/);
    ok(await run(['revoke', dir, bobSlot, ...PASS], withVault('owner-state')));
    expect(srv.key(KEY)).toMatchObject({ latestVersion: 3, minDecryptionVersion: 3 });

    // The real folder on a new computer: no rollback warning, the anchor confirmed it.
    const real = await run(['ls', dir, ...PASS], withVault('laptop'));
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout.toString()).toBe('plan.txt\n');
    expect(real.stderr).not.toMatch(/warning|rolled back/);

    // The attack: Bob's copy from before his revocation replaces the folder.
    rmSync(dir, { recursive: true });
    cpSync(oldCopy, dir, { recursive: true });
    const fresh = await run(['ls', dir, ...PASS], withVault('new-computer'));
    expect(fresh.code).toBe(1);
    expect(fresh.stdout.toString()).toBe('');
    expect(fresh.stderr).toMatch(new RegExp(`^coffer: vault Team was rolled back: its newest epoch \\S+ is wrapped with version 2 of Transit key transit/${KEY}, but that key accepts only versions 3 and later`, 'm'));
    // Adding to it is refused the same way: nothing reaches Bob's copy.
    writeFileSync(p('secret.txt'), 'not for Bob\n');
    const add = await run(['add', dir, p('secret.txt'), ...PASS], withVault('new-computer'));
    expect(add.code).toBe(1);
    expect(readFileSync(p('secret.txt'), 'utf8')).toBe('not for Bob\n');
    // Without Vault configured the same open is not silent: a warning names the anchor it could not ask.
    const blind = await run(['ls', dir, ...PASS], stateOf('offline-computer'));
    expect(blind.code).toBe(0);
    expect(blind.stderr).toMatch(new RegExp(`^coffer: warning: vault Team is anchored to Vault Transit key transit/${KEY}, but Vault could not be asked`, 'm'));
  });
});
