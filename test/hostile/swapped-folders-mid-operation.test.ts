/**
 * Folders swapped for links in the middle of an operation (issue 12, part 2). `vault add` and `vault get`
 * now check a folder once per operation and then reach it through its descriptor (pinned.ts), instead of
 * re-checking it for every file. The attacker can write to the vault folder or the output folder and acts
 * between two files: a folder that was checked is renamed away and a link to an outside folder is put in
 * its place, or a link is planted where a file is about to appear. Nothing may be written through a link.
 *
 * Positive controls: the same swap against the old door (fixtures/legacy-fs-storage.ts, path-based) puts
 * blobs into the outside folder; and a write by path into the swapped output folder, which is what the
 * old `get` did after computing every confined path up front, lands outside. So the snapshots below do
 * see such writes, and these attacks would have caught the old code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openVault } from '../../main/core/vault';
import { FsStorage, type StagedObject } from '../../main/core/vault/storage';
import { forcePathFallback } from '../../main/core/vault/pinned';
import { LegacyFsStorage } from './fixtures/legacy-fs-storage';
import { makeTree, newVault, sandbox, snapshot, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => {
  forcePathFallback(false);
  sb?.cleanup();
});

/** 30 small files in three folders under `in/`. */
function source(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const d of ['d0', 'd1', 'd2']) for (let i = 0; i < 10; i++) files[`${d}/f${i}.bin`] = randomBytes(100 + i);
  makeTree(path.join(sb.base, 'in'), files);
  return files;
}

/** Renames `folder` away (to `moved`) and puts a link to `outside` in its place. */
function swapForLink(folder: string, moved: string, outside: string): void {
  renameSync(folder, moved);
  symlinkSync(outside, folder);
}

const filesUnder = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

describe('vault add: blobs/ swapped for a link between two files', () => {
  /** The door with a hook: after the third blob is staged, the attacker swaps blobs/ for a link. */
  function attacked<T extends new (root: string) => { stageBytes(data: Uint8Array, key?: string): Promise<StagedObject> }>(Base: T, outside: string): InstanceType<T> {
    let n = 0;
    const s = new Base(sb.dir) as InstanceType<T>;
    const stage = s.stageBytes.bind(s);
    s.stageBytes = async (data: Uint8Array, key?: string) => {
      const r = await stage(data, key);
      if (++n === 3) swapForLink(path.join(sb.dir, 'blobs'), path.join(sb.base, 'blobs-moved'), outside);
      return r;
    };
    return s;
  }

  it('writes no blob through the link: the rest of the batch goes into the folder that was checked', async () => {
    sb = sandbox();
    await newVault(sb, { passphrase: 'pw' });
    source();
    const outside = path.join(sb.base, 'outside');
    mkdirSync(outside);
    // blobs/ exists before the add (as in any vault that holds a file).
    mkdirSync(path.join(sb.dir, 'blobs'), { recursive: true });
    const before = snapshot(outside);
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage: attacked(FsStorage, outside) });
    await v.add([path.join(sb.base, 'in')]).catch(() => undefined); // may finish or refuse: either is fine
    v.lock();
    expect(snapshot(outside)).toEqual(before);
    expect(filesUnder(outside)).toEqual([]);
    // Where the blobs went: the real folder that was checked (moved by the attacker), never the link's target.
    expect(filesUnder(path.join(sb.base, 'blobs-moved')).filter((n) => n.endsWith('.blob')).length).toBe(30);
    expect(lstatSync(path.join(sb.dir, 'blobs')).isSymbolicLink()).toBe(true);
  });

  it('a folder pinned again after the swap (a new operation, or the periodic re-check) is refused as tampered', async () => {
    sb = sandbox();
    await newVault(sb, { passphrase: 'pw' });
    const outside = path.join(sb.base, 'outside');
    mkdirSync(outside);
    const s = new FsStorage(sb.dir);
    await s.stageBytes(Buffer.from('first'), `blobs/${'a'.repeat(32)}.blob`);
    swapForLink(path.join(sb.dir, 'blobs'), path.join(sb.base, 'blobs-moved'), outside);
    s.releasePins();
    await expect(s.stageBytes(Buffer.from('second'), `blobs/${'b'.repeat(32)}.blob`)).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
    expect(filesUnder(outside)).toEqual([]);
  });

  it('without descriptor paths (the fallback), every blob re-checks its folder and the swap is refused', async () => {
    forcePathFallback(true);
    sb = sandbox();
    await newVault(sb, { passphrase: 'pw' });
    source();
    const outside = path.join(sb.base, 'outside');
    mkdirSync(outside);
    mkdirSync(path.join(sb.dir, 'blobs'), { recursive: true });
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage: attacked(FsStorage, outside) });
    await expect(v.add([path.join(sb.base, 'in')])).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
    v.lock();
    expect(filesUnder(outside)).toEqual([]);
  });

  it('positive control: the old door, under the same swap, puts blobs into the outside folder', async () => {
    sb = sandbox();
    await newVault(sb, { passphrase: 'pw' });
    source();
    const outside = path.join(sb.base, 'outside');
    mkdirSync(outside);
    mkdirSync(path.join(sb.dir, 'blobs'), { recursive: true });
    const before = snapshot(outside);
    const legacy = attacked(LegacyFsStorage as unknown as new (root: string) => LegacyFsStorage & { stageBytes(data: Uint8Array, key?: string): Promise<StagedObject> }, outside);
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage: legacy as unknown as FsStorage });
    await v.add([path.join(sb.base, 'in')]).catch(() => undefined);
    v.lock();
    expect(snapshot(outside)).not.toEqual(before);
    expect(filesUnder(outside).filter((n) => n.endsWith('.blob')).length).toBeGreaterThan(0);
  });
});

describe('vault get of a tree: output folders and names swapped mid-get', () => {
  /** A vault holding `in/` (30 files), and a door that calls `hook` after the `at`-th small blob is read. */
  async function vaultWithHook(at: number, hook: () => void): Promise<{ files: Record<string, Buffer>; storage: FsStorage }> {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    const files = source();
    await vault.add([path.join(sb.base, 'in')]);
    vault.lock();
    const storage = new FsStorage(sb.dir);
    const read = storage.readExact.bind(storage);
    let n = 0;
    storage.readExact = async (key: string, size: number) => {
      const r = await read(key, size);
      if (++n === at) hook();
      return r;
    };
    return { files, storage };
  }

  it('an output folder replaced by a link between two files: nothing is written through it', async () => {
    const outside = (): string => path.join(sb.base, 'outside');
    const out = (): string => path.join(sb.base, 'out');
    const { files, storage } = await vaultWithHook(2, () => swapForLink(path.join(out(), 'd1'), path.join(sb.base, 'd1-moved'), outside()));
    mkdirSync(outside());
    const before = snapshot(outside());
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage });
    await v.get('in', out()).catch(() => undefined);
    v.lock();
    expect(snapshot(outside())).toEqual(before);
    expect(filesUnder(outside())).toEqual([]);
    // d1's files went into the folder that was checked and pinned (now where the attacker moved it).
    for (let i = 0; i < 10; i++) expect(readFileSync(path.join(sb.base, 'd1-moved', `f${i}.bin`)).equals(files[`d1/f${i}.bin`] as Buffer)).toBe(true);
    expect(readFileSync(path.join(out(), 'd0/f0.bin')).equals(files['d0/f0.bin'] as Buffer)).toBe(true);
  });

  it('the same swap with the path-based fallback: refused, nothing written through the link, no partial left', async () => {
    forcePathFallback(true);
    const outside = (): string => path.join(sb.base, 'outside');
    const out = (): string => path.join(sb.base, 'out');
    const { storage } = await vaultWithHook(2, () => swapForLink(path.join(out(), 'd1'), path.join(sb.base, 'd1-moved'), outside()));
    mkdirSync(outside());
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage });
    await expect(v.get('in', out())).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/symbolic link; refusing to write through it/) });
    v.lock();
    expect(filesUnder(outside())).toEqual([]);
    const leftovers = [...filesUnder(out()), ...filesUnder(path.join(sb.base, 'd1-moved'))].filter((n) => n.includes('coffer-partial'));
    expect(leftovers).toEqual([]);
  });

  it('a link planted where a file is about to appear is replaced, never written through', async () => {
    const target = (): string => path.join(sb.base, 'precious.txt');
    const out = (): string => path.join(sb.base, 'out');
    const { files, storage } = await vaultWithHook(1, () => symlinkSync(target(), path.join(out(), 'd2', 'f9.bin')));
    writeFileSync(target(), 'keep me');
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage });
    await v.get('in', out()).catch(() => undefined);
    v.lock();
    expect(readFileSync(target(), 'utf8')).toBe('keep me');
    const planted = path.join(out(), 'd2', 'f9.bin');
    if (existsSync(planted) && !lstatSync(planted).isSymbolicLink()) expect(readFileSync(planted).equals(files['d2/f9.bin'] as Buffer)).toBe(true);
  });

  it('positive control: a write by path after the swap (what the old get did) lands outside', async () => {
    const outside = (): string => path.join(sb.base, 'outside');
    const out = (): string => path.join(sb.base, 'out');
    sb = sandbox();
    mkdirSync(path.join(out(), 'd1'), { recursive: true });
    mkdirSync(outside());
    const before = snapshot(outside());
    swapForLink(path.join(out(), 'd1'), path.join(sb.base, 'd1-moved'), outside());
    writeFileSync(path.join(out(), 'd1', 'f0.bin'), 'plaintext');
    expect(snapshot(outside())).not.toEqual(before);
  });
});
