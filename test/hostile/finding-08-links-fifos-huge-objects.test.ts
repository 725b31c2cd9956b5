/**
 * Finding 8 (medium, W): object reads followed symlinks and had no size limit. A key wrap symlinked to
 * /dev/zero grew memory without bound; a FIFO in place of a blob hung `vault get` forever; one 700 MB
 * record file crashed every open.
 *
 * Each attack is performed for real. The 700 MB record is a sparse file (truncate), so it costs no disk.
 * Positive controls (the old door, fixtures/legacy-fs-storage.ts): it follows the key wrap's link into
 * /dev/zero, sits in open() on the FIFO (a non-blocking writer open succeeds only while a reader holds
 * it), and reads a whole oversized record into memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync, readdirSync, rmSync, symlinkSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isCofferError } from '../../main/core/errors';
import { OBJECT_LIMITS } from '../../main/core/vault';
import { LegacyFsStorage } from './fixtures/legacy-fs-storage';
import { makeTree, newVault, open, paths, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

async function vaultWithFiles(): Promise<{ recoveryKey: string }> {
  sb = sandbox();
  const { vault, recoveryKey } = await newVault(sb, { passphrase: 'pw' });
  makeTree(path.join(sb.base, 'in'), { 'a.txt': 'AAAA', 'b.txt': 'BBBB' });
  await vault.add([path.join(sb.base, 'in/a.txt'), path.join(sb.base, 'in/b.txt')]);
  vault.lock();
  return { recoveryKey };
}

/** The key wrap of the passphrase slot for the current epoch. */
function passphraseWrap(): string {
  const keys = readdirSync(path.join(sb.dir, 'keys'));
  const pass = readdirSync(path.join(sb.dir, 'slots')).find((n) => readFileSync(path.join(sb.dir, 'slots', n), 'utf8').includes('"type":"passphrase"')) as string;
  return path.join(sb.dir, 'keys', keys.find((k) => k.startsWith(`${pass.replace('.slot', '')}.`)) as string);
}

const rssMiB = (): number => process.memoryUsage().rss / (1 << 20);

describe('finding 8: links, FIFOs and huge objects in the vault folder', () => {
  it('a key wrap symlinked to /dev/zero is refused without reading it; other slots still open the vault, verify names it', async () => {
    const { recoveryKey } = await vaultWithFiles();
    const wrap = passphraseWrap();
    rmSync(wrap);
    symlinkSync('/dev/zero', wrap);
    const rel = `keys/${path.basename(wrap)}`;
    const before = rssMiB();
    const err = await open(sb, { passphrase: 'pw' }).then(() => null, (e: unknown) => e);
    expect(isCofferError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'VAULT_TAMPERED', message: `${rel} is a symbolic link, not a regular file: coffer neither follows nor reads it (remove it from the vault folder)` });
    const v = await open(sb, { recoveryKey });
    expect(paths(v)).toEqual(['a.txt', 'b.txt']);
    const rep = await v.verify();
    expect(rep.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: rel, message: expect.stringMatching(/link or special file/) }));
    v.lock();
    expect(rssMiB() - before).toBeLessThan(200);
  });

  it('positive control: the old door follows that link into /dev/zero (an endless read)', async () => {
    await vaultWithFiles();
    const wrap = passphraseWrap();
    rmSync(wrap);
    symlinkSync('/dev/zero', wrap);
    // What readFile did: open (following the link) and read; /dev/zero never ends. One bounded read shows it.
    const fd = openSync(wrap, 'r');
    const buf = Buffer.alloc(1 << 20, 1);
    expect(readSync(fd, buf, 0, buf.length, null)).toBe(buf.length);
    closeSync(fd);
    expect(buf.every((b) => b === 0)).toBe(true);
  });

  it('a FIFO in place of a blob: get and verify end with a typed error at once, and nothing holds the FIFO open', async () => {
    await vaultWithFiles();
    const v0 = await open(sb, { passphrase: 'pw' });
    const blobFile = readdirSync(path.join(sb.dir, 'blobs'))[0] as string;
    v0.lock();
    const fifo = path.join(sb.dir, 'blobs', blobFile);
    rmSync(fifo);
    execFileSync('mkfifo', [fifo]);
    const v = await open(sb, { passphrase: 'pw' });
    const results = await Promise.allSettled([v.get('a.txt', path.join(sb.base, 'a.out')), v.get('b.txt', path.join(sb.base, 'b.out'))]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.reason).toMatchObject({ code: 'VAULT_TAMPERED', message: expect.stringMatching(/is a FIFO \(named pipe\), not a regular file/) });
    const rep = await v.verify();
    expect(rep.ok).toBe(false);
    expect(rep.problems).toContainEqual(expect.objectContaining({ object: `blobs/${blobFile}`, message: expect.stringMatching(/FIFO/) }));
    v.lock();
    // No reader is left waiting on the FIFO: a non-blocking writer open finds none (ENXIO).
    expect(() => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(/ENXIO/);
  });

  it('positive control: the old door sits in open() on that FIFO until someone writes', async () => {
    await vaultWithFiles();
    const blobFile = readdirSync(path.join(sb.dir, 'blobs'))[0] as string;
    const fifo = path.join(sb.dir, 'blobs', blobFile);
    rmSync(fifo);
    execFileSync('mkfifo', [fifo]);
    const legacy = new LegacyFsStorage(sb.dir);
    const stream = legacy.getStream(`blobs/${blobFile}`);
    const ended = new Promise<void>((resolve) => { stream.on('close', () => resolve()); stream.on('error', () => resolve()); stream.resume(); });
    // Wait until the old reader is blocked on the FIFO: then a non-blocking writer open succeeds.
    let fd = -1;
    while (fd < 0) {
      try {
        fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    // It would wait forever; release it so that the test ends.
    writeSync(fd, 'x');
    closeSync(fd);
    await ended;
  });

  it('a 700 MB record file (sparse) is refused from its size alone; the rest of the vault works', async () => {
    await vaultWithFiles();
    const v0 = await open(sb, { passphrase: 'pw' });
    const aId = v0.stat('a.txt')?.id as string;
    v0.lock();
    const rec = path.join(sb.dir, 'records', `${aId}.rec`);
    truncateSync(rec, 700 * 1024 * 1024);
    const before = rssMiB();
    const v = await open(sb, { passphrase: 'pw' });
    expect(paths(v)).toEqual(['b.txt']);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${aId}.rec`, message: expect.stringMatching(/734003200 bytes, more than the \d+ bytes an object of its kind may have/) }));
    await v.get('b.txt', path.join(sb.base, 'b.out'));
    v.lock();
    expect(rssMiB() - before).toBeLessThan(200);
  });

  it('positive control: the old door reads an oversized record whole', async () => {
    await vaultWithFiles();
    const v0 = await open(sb, { passphrase: 'pw' });
    const aId = v0.stat('a.txt')?.id as string;
    v0.lock();
    const big = 16 * (OBJECT_LIMITS.records as number); // far over the cap, yet cheap (sparse)
    truncateSync(path.join(sb.dir, 'records', `${aId}.rec`), big);
    const [raw] = await new LegacyFsStorage(sb.dir).getMany([`records/${aId}.rec`]);
    expect(raw?.length).toBe(big);
  });
});
