// `vault get` opens small files (up to 256 KiB) in memory, without the stream machinery. These tests pin
// that it writes the same bytes as the stream path, and that a damaged blob gives the same error either
// way, with nothing left at the destination.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTree, newVault, open, sandbox, type Sandbox } from './helpers';
import { openVault } from '../../../main/core/vault';
import { FsStorage } from '../../../main/core/vault/storage';
import { CofferError } from '../../../main/core/errors';
import { payloadSize } from '../../../main/core/format/sizes';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const SMALL = 256 * 1024;
const sizes = { 'empty.bin': 0, 'one.bin': 1, 'page.bin': 4096, 'chunk.bin': 65536, 'at-limit.bin': SMALL, 'over-limit.bin': SMALL + 1, 'large.bin': 700 * 1024 };

/** The blob of a file, found by its size (the sizes above are distinct). */
function blobOf(size: number): string {
  const dir = path.join(sb.dir, 'blobs');
  const hits = readdirSync(dir).filter((n) => statSync(path.join(dir, n)).size === payloadSize(size));
  expect(hits).toHaveLength(1);
  return path.join(dir, hits[0] as string);
}

async function vaultWith(files: Record<string, Buffer>): Promise<void> {
  const { vault } = await newVault(sb, { passphrase: 'pw' });
  makeTree(path.join(sb.base, 'in'), files);
  await vault.add([path.join(sb.base, 'in')]);
  vault.lock();
}

const errorOf = (p: Promise<unknown>): Promise<CofferError> => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => {
  expect(e).toBeInstanceOf(CofferError);
  return e as CofferError;
});

/** Nothing of `name` at `dir`: no file, no temp file. */
function nothingLeft(dir: string, name: string): void {
  expect(existsSync(path.join(dir, name))).toBe(false);
  expect(readdirSync(dir).filter((n) => n.startsWith(name))).toEqual([]);
}

describe('vault get of small files', () => {
  it('writes the same bytes as were added, on both sides of the in-memory limit', async () => {
    sb = sandbox();
    const files = Object.fromEntries(Object.entries(sizes).map(([n, s]) => [n, randomBytes(s)]));
    await vaultWith(files);
    const v = await open(sb, { passphrase: 'pw' });
    const out = path.join(sb.base, 'out');
    const r = await v.get('in', out);
    expect(r.files).toBe(Object.keys(files).length);
    for (const [n, data] of Object.entries(files)) expect(readFileSync(path.join(out, n)).equals(data), n).toBe(true);
    // Only the files over the limit were streamed: the others took the in-memory path.
    const streamed: string[] = [];
    const storage = new FsStorage(sb.dir);
    const getStream = storage.getStream.bind(storage);
    storage.getStream = (key: string, ...rest: unknown[]) => {
      streamed.push(key);
      return (getStream as (k: string, ...r: unknown[]) => ReturnType<typeof getStream>)(key, ...rest);
    };
    const counted = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage });
    await counted.get('in', path.join(sb.base, 'out2'));
    expect(streamed.map((k) => statSync(path.join(sb.dir, k)).size).sort((a, b) => a - b)).toEqual([payloadSize(SMALL + 1), payloadSize(700 * 1024)]);
    for (const [n, data] of Object.entries(files)) expect(readFileSync(path.join(sb.base, 'out2', n)).equals(data), n).toBe(true);
    counted.lock();
    // And one file on its own, to a file path.
    await v.get('in/page.bin', path.join(sb.base, 'page.out'));
    expect(readFileSync(path.join(sb.base, 'page.out')).equals(files['page.bin'] as Buffer)).toBe(true);
    v.lock();
  });

  it('a damaged blob gives the same error as on the stream path, and leaves nothing behind', async () => {
    sb = sandbox();
    const files = { 'small.bin': randomBytes(5000), 'large.bin': randomBytes(SMALL + 5000) };
    await vaultWith(files);
    const attacks: [string, (blob: Buffer) => Buffer][] = [
      ['a flipped byte in the last chunk', (b) => { const c = Buffer.from(b); c[c.length - 2] = (c[c.length - 2] as number) ^ 1; return c; }],
      ['a flipped byte in the payload header', (b) => { const c = Buffer.from(b); c[20] = (c[20] as number) ^ 1; return c; }],
      ['truncated', (b) => b.subarray(0, b.length - 100)],
      ['a byte appended', (b) => Buffer.concat([b, Buffer.from('x')])],
    ];
    for (const [what, damage] of attacks) {
      const codes: string[] = [];
      for (const [name, data] of Object.entries(files)) {
        const blob = blobOf(data.length);
        const good = readFileSync(blob);
        writeFileSync(blob, damage(good));
        const v = await open(sb, { passphrase: 'pw' });
        const dest = `dest-${codes.length}-${name}`;
        const e = await errorOf(v.get(`in/${name}`, path.join(sb.base, dest)));
        codes.push(e.code);
        nothingLeft(sb.base, dest);
        v.lock();
        writeFileSync(blob, good);
      }
      expect(codes[0], `${what}: small (in memory) vs large (stream)`).toBe(codes[1]);
      expect(['PAYLOAD_TAMPERED', 'TRUNCATED', 'TRAILING_DATA', 'VAULT_TAMPERED'], what).toContain(codes[0]);
    }
    // Undamaged again, both come back.
    const v = await open(sb, { passphrase: 'pw' });
    await v.get('in', path.join(sb.base, 'ok'));
    for (const [n, data] of Object.entries(files)) expect(readFileSync(path.join(sb.base, 'ok', n)).equals(data)).toBe(true);
    v.lock();
  });
});
