// OutputTree (output.ts): writing a whole tree out of a vault with one sync per batch. Files appear under
// their final names only when their batch is renamed into place; before that only hidden partial files
// exist, and a failure removes them. Names and folders are confined like confinedPath confines them.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { OutputTree } from '../../../main/core/vault/output';
import { fdPathsWork, forcePathFallback } from '../../../main/core/vault/pinned';
import { thisHost } from '../../../main/core/vault/storage';
import { deadPid } from '../../hostile/helpers';

let base = '';
afterEach(() => {
  forcePathFallback(false);
  if (base) rmSync(base, { recursive: true, force: true });
  base = '';
});

function fresh(): string {
  base = mkdtempSync(path.join(tmpdir(), 'coffer-output-test-'));
  const out = path.join(base, 'out');
  mkdirSync(out);
  return out;
}

const all = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();
const partials = (dir: string): string[] => all(dir).filter((n) => n.endsWith('.coffer-partial'));

describe('OutputTree', () => {
  it('descriptor paths are what this platform uses (Linux with /proc), else the path fallback', () => {
    expect(fdPathsWork()).toBe(process.platform === 'linux' && existsSync('/proc/self/fd'));
  });

  for (const mode of ['descriptor paths', 'path fallback'] as const) {
    it(`${mode}: files appear under their final names batch by batch, never before`, async () => {
      forcePathFallback(mode === 'path fallback');
      const out = fresh();
      const t = await OutputTree.open(out, { batchFiles: 3, created: true });
      const data = [0, 1, 2, 3, 4].map((i) => randomBytes(10 + i));
      await t.writeFile(['a', 'f0'], data[0] as Buffer);
      await t.writeFile(['a', 'f1'], data[1] as Buffer);
      // Two files written, batch not full: only hidden partials.
      expect(existsSync(path.join(out, 'a/f0'))).toBe(false);
      expect(partials(out)).toHaveLength(2);
      expect(partials(out).every((n) => path.basename(n).startsWith('.'))).toBe(true);
      await t.writeFile(['b', 'c', 'f2'], data[2] as Buffer); // the third completes the batch
      expect(readFileSync(path.join(out, 'b/c/f2')).equals(data[2] as Buffer)).toBe(true);
      expect(partials(out)).toEqual([]);
      await t.writeFile(['f3'], data[3] as Buffer);
      const p = await t.partial(['f4']);
      writeFileSync(p.path, data[4] as Buffer, { flag: 'wx' });
      await p.done(14);
      await t.finish();
      expect(all(out)).toEqual(['a', 'a/f0', 'a/f1', 'b', 'b/c', 'b/c/f2', 'f3', 'f4']);
      expect(readFileSync(path.join(out, 'f4')).equals(data[4] as Buffer)).toBe(true);
      expect(lstatSync(path.join(out, 'a')).mode & 0o777).toBe(0o700);
      expect(lstatSync(path.join(out, 'f3')).mode & 0o777).toBe(0o600);
    });
  }

  it('abort removes every partial not yet renamed; completed batches stay', async () => {
    const out = fresh();
    const t = await OutputTree.open(out, { batchFiles: 2, created: true });
    await t.writeFile(['d', 'one'], Buffer.from('1'));
    await t.writeFile(['d', 'two'], Buffer.from('2'));
    await t.writeFile(['d', 'three'], Buffer.from('3'));
    const open = await t.partial(['d', 'four']); // being written when the failure happens
    writeFileSync(open.path, 'half', { flag: 'wx' });
    t.abort();
    expect(all(out)).toEqual(['d', 'd/one', 'd/two']);
    await expect(t.writeFile(['x'], Buffer.from('late'))).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('round trip of random trees: every file lands with its bytes, nothing else is left', async () => {
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y'), fc.stringMatching(/^[a-z]{1,6}$/)), { minLength: 1, maxLength: 25, selector: (t) => t.join('/') }),
      fc.integer({ min: 1, max: 8 }),
      async (names, batch) => {
        const out = fresh();
        // A file and a folder may not share a name at one level: keep files at depth 3 only.
        const t = await OutputTree.open(out, { batchFiles: batch, created: true });
        const data = new Map(names.map((n) => [n.join('/'), randomBytes(n[2].length * 3)]));
        for (const n of names) await t.writeFile(n, data.get(n.join('/')) as Buffer);
        await t.finish();
        for (const [k, v] of data) expect(readFileSync(path.join(out, k)).equals(v)).toBe(true);
        expect(partials(out)).toEqual([]);
        rmSync(base, { recursive: true, force: true });
      },
    ), { numRuns: 15 });
  });

  it('an existing file is not replaced unless overwriting (in a folder that existed before)', async () => {
    const out = fresh();
    mkdirSync(path.join(out, 'keep'));
    writeFileSync(path.join(out, 'keep/note.txt'), 'mine');
    const t = await OutputTree.open(out);
    await expect(t.writeFile(['keep', 'note.txt'], Buffer.from('theirs'))).rejects.toMatchObject({ code: 'EXISTS' });
    t.abort();
    expect(readFileSync(path.join(out, 'keep/note.txt'), 'utf8')).toBe('mine');
    const o = await OutputTree.open(out, { overwrite: true });
    await o.writeFile(['keep', 'note.txt'], Buffer.from('theirs'));
    await o.finish();
    expect(readFileSync(path.join(out, 'keep/note.txt'), 'utf8')).toBe('theirs');
    expect(partials(out)).toEqual([]);
  });

  it('names that would leave the destination are refused', async () => {
    const out = fresh();
    const t = await OutputTree.open(out, { created: true });
    for (const bad of ['..', '.', 'a/b', '', 'x\\y']) {
      await expect(t.writeFile(['ok', bad], Buffer.from('x'))).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
      expect(() => t.folder([bad])).toThrow(/refusing to write/);
    }
    t.abort();
    expect(all(path.dirname(out))).toEqual(['out']); // names are checked before any folder is made
  });

  it('a link or a file where a folder should be is refused, never written through', async () => {
    const out = fresh();
    const outside = path.join(base, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, path.join(out, 'link'));
    writeFileSync(path.join(out, 'file'), 'x');
    const t = await OutputTree.open(out);
    await expect(t.writeFile(['link', 'f'], Buffer.from('x'))).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/symbolic link; refusing to write through it/) });
    await expect(t.writeFile(['file', 'f'], Buffer.from('x'))).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/not a folder/) });
    t.abort();
    expect(readdirSync(outside)).toEqual([]);
  });

  it('partial files of dead processes in a folder that existed are swept; live ones and other files stay', async () => {
    const out = fresh();
    const dead = `.f.bin.${thisHost()}~${deadPid()}~0123456789ab.coffer-partial`;
    const live = `.g.bin.${thisHost()}~${process.pid}~0123456789ab.coffer-partial`;
    for (const n of [dead, live, 'other.txt']) writeFileSync(path.join(out, n), 'x');
    const t = await OutputTree.open(out);
    await t.writeFile(['new.bin'], Buffer.from('new'));
    await t.finish();
    expect(readdirSync(out).sort()).toEqual([live, 'new.bin', 'other.txt'].sort());
  });
});
