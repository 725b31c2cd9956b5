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
import { openVault, type Vault } from '../../../main/core/vault';
import type { UnlockCredentials } from '../../../main/core/vault/slots';
import { makeTree, paths, sandbox, sha256hex, treeRows, type Sandbox, type TreeRow } from './helpers';

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

/**
 * A migrated vault keeps working under load: the first write migrates it, then a few hundred adds,
 * replacements, moves, removals and two rotations, checked against a model of the tree after every
 * step and after reopening with each of the vector's three credentials (test/vectors/vault/expected.json).
 */
describe('a format 1 vault migrated on its first write, then changed many times', () => {
  const expectedV1 = JSON.parse(readFileSync(path.join(VEC, 'expected.json'), 'utf8')) as {
    entries: { path: string; type: 'file' | 'dir'; conflict: string | null; sha256: string | null }[];
  };
  type Model = Map<string, TreeRow>;
  const sorted = (rows: Iterable<TreeRow>): TreeRow[] => [...rows].sort((a, b) => a.path.localeCompare(b.path));

  /** Writes `count` small files under `root/rel` (contents depend on `tag`) and records them in the model under `vdir`. */
  function addToModel(model: Model, srcRoot: string, rel: string, vdir: string, count: number, tag: string): void {
    const files: Record<string, string> = {};
    for (let i = 0; i < count; i++) files[`${rel}/f${String(i).padStart(3, '0')}.txt`] = `${tag} ${i} ${'x'.repeat(i % 50)}`;
    makeTree(srcRoot, files);
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = [vdir, ...parts.slice(0, i)].filter(Boolean).join('/');
      if (!model.has(p)) model.set(p, { path: p, type: 'dir', conflict: null, sha256: null });
    }
    for (const [f, content] of Object.entries(files)) {
      const p = [vdir, f].filter(Boolean).join('/');
      model.set(p, { path: p, type: 'file', conflict: null, sha256: sha256hex(content) });
    }
  }
  function mvInModel(model: Model, from: string, to: string): void {
    for (const [p, row] of [...model]) {
      if (p === from || p.startsWith(`${from}/`)) {
        model.delete(p);
        const q = to + p.slice(from.length);
        model.set(q, { ...row, path: q });
      }
    }
  }
  function rmInModel(model: Model, target: string): void {
    for (const p of [...model.keys()]) if (p === target || p.startsWith(`${target}/`)) model.delete(p);
  }

  /**
   * Run after each batch of changes: re-reads the folder and checks the tree against the model, then
   * writes a checkpoint (compaction of the record packs, FORMAT §6.18) and checks again, so every later
   * step runs on a compacted vault as well.
   */
  async function settleAndCheck(v: Vault, model: Model): Promise<void> {
    await v.refresh();
    expect(sorted(await treeRows(v))).toEqual(sorted(model.values()));
    await v.compact();
    await v.refresh();
    expect(sorted(await treeRows(v))).toEqual(sorted(model.values()));
  }

  it('keeps every entry across hundreds of changes and reopens with each credential to exactly the expected tree', async () => {
    await initSodium();
    sb = sandbox();
    cpSync(path.join(VEC, 'v1'), sb.dir, { recursive: true });
    const model: Model = new Map(expectedV1.entries.map((e) => [e.path, { path: e.path, type: e.type, conflict: e.conflict, sha256: e.sha256 }]));
    const v = await openVault(sb.dir, { credentials: { passphrase: line('passphrase.txt') }, stateDir: sb.state });
    expect(v.formatVersion).toBe(1);
    expect(sorted(await treeRows(v))).toEqual(sorted(model.values()));

    // 1. The first write (300 files in three folders) migrates the vault.
    const src1 = path.join(sb.base, 'src1');
    for (const b of ['b0', 'b1', 'b2']) addToModel(model, src1, `batch/${b}`, '', 100, `first ${b}`);
    await v.add([path.join(src1, 'batch')]);
    expect(v.formatVersion).toBe(2);
    expect(descriptor(sb.dir).version).toBe(2);
    await settleAndCheck(v, model);

    // 2. Moves (a folder of the vector, a file of it, a new folder), removals, replacements.
    await v.mv('docs/deep', 'deep');
    mvInModel(model, 'docs/deep', 'deep');
    await v.mv('docs/empty.txt', 'empty folder/empty.txt');
    mvInModel(model, 'docs/empty.txt', 'empty folder/empty.txt');
    await v.mv('batch/b2', 'empty folder/b2');
    mvInModel(model, 'batch/b2', 'empty folder/b2');
    await v.rm('batch/b1', { recursive: true });
    rmInModel(model, 'batch/b1');
    for (const i of [3, 17, 42]) {
      const p = `batch/b0/f${String(i).padStart(3, '0')}.txt`;
      await v.rm(p);
      rmInModel(model, p);
    }
    const src2 = path.join(sb.base, 'src2');
    makeTree(src2, { 'f001.txt': 'replaced one', 'f099.txt': 'replaced ninety-nine' });
    await v.add([path.join(src2, 'f001.txt'), path.join(src2, 'f099.txt')], 'batch/b0');
    model.set('batch/b0/f001.txt', { path: 'batch/b0/f001.txt', type: 'file', conflict: null, sha256: sha256hex('replaced one') });
    model.set('batch/b0/f099.txt', { path: 'batch/b0/f099.txt', type: 'file', conflict: null, sha256: sha256hex('replaced ninety-nine') });
    await settleAndCheck(v, model);

    // 3. Rotate, more files, move things added before the rotation, rotate again, remove some more.
    await v.rotate();
    const src3 = path.join(sb.base, 'src3');
    addToModel(model, src3, 'later', '', 150, 'after rotation');
    await v.add([path.join(src3, 'later')]);
    await v.mv('empty folder/b2/f010.txt', 'later/moved-from-b2.txt');
    mvInModel(model, 'empty folder/b2/f010.txt', 'later/moved-from-b2.txt');
    await v.mv('batch', 'later/batch');
    mvInModel(model, 'batch', 'later/batch');
    await settleAndCheck(v, model);
    await v.rotate();
    await v.rm('later/f149.txt');
    rmInModel(model, 'later/f149.txt');
    await v.rm('deep', { recursive: true });
    rmInModel(model, 'deep');
    await settleAndCheck(v, model);
    expect(model.size).toBeGreaterThan(350);
    v.lock();

    // 4. Every credential of the vector, on a computer that never saw the vault, sees exactly the model.
    const credentials: [string, UnlockCredentials][] = [
      ['passphrase', { passphrase: line('passphrase.txt') }],
      ['recovery', { recoveryKey: line('recovery-key.txt') }],
      ['member', { identities: [X25519Identity.parse(line('member.key'))] }],
    ];
    for (const [label, creds] of credentials) {
      const o = await openVault(sb.dir, { credentials: creds, stateDir: path.join(sb.base, `fresh-${label}`) });
      expect(o.formatVersion).toBe(2);
      expect(sorted(await treeRows(o))).toEqual(sorted(model.values()));
      expect((await o.members()).slots.map((s) => s.type).sort()).toEqual(['passphrase', 'recovery', 'x25519']);
      const rep = await o.verify();
      expect(rep.problems.map((p) => p.code)).toEqual(['CONFLICT']); // the vector's Dropbox copy, nothing else
      o.lock();
    }
  }, 180_000);
});
