/**
 * Format 1 → 2 (docs/FORMAT.md §6.13): a format 1 vault opens unchanged, moves to format 2 on its
 * first change (or on `migrate()`), keeps every entry and every way in, and an interrupted migration
 * (descriptor written, epoch not yet) still opens and is finished by the next change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initSodium } from '../../../main/core/crypto/sodium';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { openVault } from '../../../main/core/vault';
import { makeTree, paths, sandbox, type Sandbox } from './helpers';

const VEC = path.resolve(__dirname, '../../vectors/vault');
const line = (f: string): string => (readFileSync(path.join(VEC, f), 'utf8').split('\n')[0] as string).trim();
const descriptor = (dir: string): { version: number } => JSON.parse(readFileSync(path.join(dir, 'coffer-vault.json'), 'utf8')) as { version: number };
const epochVersions = (dir: string): number[] => readdirSync(path.join(dir, 'epochs')).filter((n) => n.endsWith('.epoch')).sort()
  .map((n) => (JSON.parse(readFileSync(path.join(dir, 'epochs', n), 'utf8').split('\n')[0] as string) as { v: number }).v);

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('format 1 vaults', () => {
  it('open read-only without change, and migrate on the first write keeping everything', async () => {
    await initSodium();
    sb = sandbox();
    cpSync(path.join(VEC, 'v1'), sb.dir, { recursive: true });
    const v = await openVault(sb.dir, { credentials: { passphrase: line('passphrase.txt') }, stateDir: sb.state });
    expect(v.formatVersion).toBe(1);
    const before = paths(v);
    expect(descriptor(sb.dir).version).toBe(1);
    makeTree(path.join(sb.base, 'in'), { 'new.txt': 'after migration' });
    await v.add([path.join(sb.base, 'in/new.txt')]);
    expect(v.formatVersion).toBe(2);
    expect(descriptor(sb.dir).version).toBe(2);
    expect(epochVersions(sb.dir)).toEqual([1, 1, 2]);
    expect(paths(v)).toEqual([...before, 'new.txt'].sort());
    v.lock();
    for (const credentials of [{ passphrase: line('passphrase.txt') }, { recoveryKey: line('recovery-key.txt') }, { identities: [X25519Identity.parse(line('member.key'))] }]) {
      const o = await openVault(sb.dir, { credentials, stateDir: path.join(sb.base, 'other-computer') });
      expect(o.formatVersion).toBe(2);
      expect(paths(o)).toEqual([...before, 'new.txt'].sort());
      o.lock();
    }
  });

  it('migrate() on request; an interrupted migration opens and is finished by the next change', async () => {
    await initSodium();
    sb = sandbox();
    cpSync(path.join(VEC, 'v1'), sb.dir, { recursive: true });
    // Interrupted: the descriptor was rewritten as format 2, the new epoch never made it.
    const d = path.join(sb.dir, 'coffer-vault.json');
    writeFileSync(d, `${JSON.stringify({ ...JSON.parse(readFileSync(d, 'utf8')) as object, version: 2 }, null, 2)}\n`);
    const v = await openVault(sb.dir, { credentials: { passphrase: line('passphrase.txt') }, stateDir: sb.state });
    expect(v.formatVersion).toBe(1);
    expect(await v.migrate()).toBe(true);
    expect(v.formatVersion).toBe(2);
    expect(await v.migrate()).toBe(false);
    v.lock();
    const o = await openVault(sb.dir, { credentials: { passphrase: line('passphrase.txt') }, stateDir: sb.state });
    expect(o.formatVersion).toBe(2);
    o.lock();
    // Any other edit of the descriptor is still tampering.
    writeFileSync(d, readFileSync(d, 'utf8').replace('"Frozen vector"', '"Evil"'));
    await expect(openVault(sb.dir, { credentials: { passphrase: line('passphrase.txt') }, stateDir: sb.state })).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
  });
});
