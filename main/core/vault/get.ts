/**
 * Content out: `get` (a file or a whole folder to disk, every path confined under the destination,
 * nothing partial left on failure), `readFile` and `readRange` (streams for the app and the WebDAV
 * drive), and `exportFile` (one file as a standalone coffer file, its payload copied unchanged).
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { encodeHeader } from '../format/header';
import { wrapKey } from '../format/file';
import { payloadSize } from '../format/sizes';
import { decryptPayload, openPayloadBuffer } from '../format/stream';
import type { Recipient } from '../keys/types';
import { defaultConcurrency, runConcurrent, runPool, throwIfAborted } from '../jobs/pool';
import { ProgressTracker } from '../jobs/progress';
import { confinedPath, partialPath, sweepPartials } from './confine';
import { NEW_FILE_FLAGS, OutputTree } from './output';
import type { VaultCore } from './core';
import { blobKey, splitVaultPath } from './layout';
import { exportNames, folderNameFor, type ExportRenameReason } from './names';
import type { RecordNode } from './records';
import { getTree, list, mustResolve } from './tree';
import type { EntryInfo, OpProgress, RecordBody } from './types';

/** `get` opens files up to this size in memory (payload well under the storage's 1 MiB cap for small objects). */
const SMALL_GET = 256 * 1024;

/** Writes to `out`, waiting for it to drain; rejects if it closes or fails first. */
function writeOrClose(out: Writable, data: Uint8Array): Promise<void> {
  if (out.destroyed) return Promise.reject(new CofferError('CANCELLED', 'the reader went away'));
  if (out.write(data)) return Promise.resolve();
  return new Promise((res, rej) => {
    const done = (e?: Error): void => {
      out.removeListener('drain', ok);
      out.removeListener('close', closed);
      out.removeListener('error', done);
      if (e) rej(e);
      else res();
    };
    const ok = (): void => done();
    const closed = (): void => done(new CofferError('CANCELLED', 'the reader went away'));
    out.once('drain', ok);
    out.once('close', closed);
    out.once('error', done);
  });
}

/**
 * Decrypts a file or a whole folder to `dest` (a new file or folder). Nothing partial is left on
 * failure. Every path written is confined under `dest` (confine.ts): entry names come from records a
 * co-member may have forged, so none may climb out of `dest` or write through a link found there.
 */
export async function get(c: VaultCore, vpath: string, dest: string, opts: OpProgress & { overwrite?: boolean; platform?: NodeJS.Platform } = {}): Promise<{ files: number; bytes: number; renamed: { path: string; written: string; reason: ExportRenameReason }[] }> {
  c.ensureOpen();
  // The root is a folder like any other: `get DIR / -o OUT` writes the whole vault.
  const isRoot = splitVaultPath(vpath).length === 0;
  const r = isRoot
    ? { node: { body: { type: 'dir' } } as RecordNode, info: { path: '', name: folderNameFor(c.name) } as EntryInfo }
    : mustResolve(c, vpath);
  const renamed: { path: string; written: string; reason: ExportRenameReason }[] = [];
  const progress = new ProgressTracker(opts.onProgress);
  let files = 0;
  let bytes = 0;
  const swept = new Set<string>();
  const getFile = async (n: RecordNode, out: string): Promise<void> => {
    throwIfAborted(opts.signal);
    if (!opts.overwrite && (await lstat(out).catch(() => null))) throw new CofferError('EXISTS', `${out} already exists`);
    // Partial files that a killed `get` left in this folder go first (this host, dead processes only).
    const folder = path.dirname(out);
    if (!swept.has(folder)) {
      swept.add(folder);
      await sweepPartials(folder);
    }
    const tmp = partialPath(out);
    try {
      // Small files: one read of the blob, one open in memory, one write, without the stream machinery
      // (about a third of the CPU time per file). Anything unexpected takes the stream path and its errors.
      const pt = n.body.size <= SMALL_GET ? await readSmallBlob(c, n.body) : null;
      if (pt) {
        await writeFile(tmp, pt, { flag: 'wx', mode: 0o600 });
        progress.addBytes(pt.length);
      } else {
        await decryptBlobTo(c, n.body, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }), (d) => progress.addBytes(d), opts.signal);
      }
      await rename(tmp, out);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    files++;
    bytes += n.body.size;
    progress.fileDone();
  };
  const platform = opts.platform ?? process.platform;
  const topName = (): string => {
    const [x] = exportNames([r.info.name], platform);
    if (x && x.reason) renamed.push({ path: r.info.path || '/', written: x.written, reason: x.reason });
    return x ? x.written : r.info.name;
  };
  if (r.node.body.type === 'file') {
    progress.setTotals(1, r.node.body.size);
    const st = await stat(dest).catch(() => null);
    await getFile(r.node, st?.isDirectory() ? await confinedPath(dest, [topName()]) : dest);
  } else {
    const all = list(c, r.info.path, { recursive: true });
    progress.setTotals(all.filter((e) => e.type === 'file').length, all.reduce((a, e) => a + e.size, 0));
    const st = await stat(dest).catch(() => null);
    let root = dest;
    let made = false;
    if (st?.isDirectory()) root = await confinedPath(dest, [topName()], { dir: true });
    else made = (await mkdir(dest, { recursive: true })) !== undefined;
    // Names another platform cannot hold (case-only twins, CON, a:b) are written visibly changed.
    const relOf = new Map<string, string[]>([[r.info.path, []]]);
    const byParent = new Map<string, EntryInfo[]>();
    for (const e of all) {
      const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
      byParent.set(parent, [...(byParent.get(parent) ?? []), e]);
    }
    const written = new Map<string, string>();
    for (const list of byParent.values()) {
      exportNames(list.map((e) => e.name), platform).forEach((x, i) => {
        const e = list[i] as EntryInfo;
        written.set(e.path, x.written);
        if (x.reason) renamed.push({ path: e.path, written: x.written, reason: x.reason });
      });
    }
    // Confined under the destination, one sync per batch (output.ts): no name may climb out of it or
    // write through a link in it, and no final name ever holds partial plaintext.
    const tree = await OutputTree.open(root, { overwrite: opts.overwrite, created: made });
    try {
      const fileJobs: { node: RecordNode; rel: string[] }[] = [];
      for (const e of all) {
        const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
        const rel = [...(relOf.get(parent) ?? []), written.get(e.path) ?? e.name];
        relOf.set(e.path, rel);
        if (e.type === 'dir') tree.folder(rel);
        else fileJobs.push({ node: (getTree(c).byPath.get(e.path) as { node: RecordNode }).node, rel });
      }
      const one = async (j: { node: RecordNode; rel: string[] }): Promise<void> => {
        await getInto(c, tree, j.node, j.rel, progress, opts.signal);
        files++;
        bytes += j.node.body.size;
      };
      // Small files keep more in flight: their creates wait on the disk, not on a core.
      const small = fileJobs.filter((j) => j.node.body.size <= SMALL_GET);
      const large = fileJobs.filter((j) => j.node.body.size > SMALL_GET);
      await c.withFileKeys(fileJobs.map((j) => j.node.body), async () => {
        await runConcurrent(small, 4 * defaultConcurrency(), one, opts.signal);
        await runPool(large, defaultConcurrency(), one, opts.signal);
      });
      await tree.finish();
    } catch (e) {
      tree.abort();
      throw e;
    }
  }
  progress.finish();
  return { files, bytes, renamed };
}

/** One file of a tree `get`: its plaintext into `tree` at `rel` (renamed into place with its batch). */
async function getInto(c: VaultCore, tree: OutputTree, n: RecordNode, rel: readonly string[], progress: ProgressTracker, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  // Small files: one read of the blob, opened in memory, one write, without the stream machinery.
  const pt = n.body.size <= SMALL_GET ? await readSmallBlob(c, n.body) : null;
  if (pt) {
    await tree.writeFile(rel, pt);
    progress.addBytes(pt.length);
  } else {
    const p = await tree.partial(rel);
    try {
      p.check();
      const fh = await open(p.path, NEW_FILE_FLAGS, 0o600);
      await decryptBlobTo(c, n.body, fh.createWriteStream(), (d) => progress.addBytes(d), signal);
    } catch (e) {
      p.drop();
      throw e;
    }
    await p.done(n.body.size);
  }
  progress.fileDone();
}

/**
 * A small file's plaintext, read and opened in memory; null when the blob is not exactly the size its
 * record implies (missing, planted, truncated…), so that the caller takes the stream path and reports
 * exactly what it reports. Errors while opening are the stream path's too (PAYLOAD_TAMPERED…).
 */
async function readSmallBlob(c: VaultCore, body: RecordBody): Promise<Buffer | null> {
  const key = blobKey(body.blob as string);
  const expected = payloadSize(body.size);
  let blob: Buffer | null;
  if (c.storage.readExact) blob = await c.storage.readExact(key, expected);
  else blob = (await c.storage.size(key)) === expected ? await c.storage.get(key) : null;
  if (!blob || blob.length !== expected) return null; // absent, another size, replaced meanwhile
  const k = await c.fileKey(body);
  let pt: Buffer;
  try {
    pt = openPayloadBuffer(k, blob);
  } finally {
    sodium().memzero(k);
  }
  if (pt.length !== body.size) throw new CofferError('VAULT_TAMPERED', `the content of ${body.name} has ${pt.length} bytes but its record says ${body.size}`);
  return pt;
}

export async function decryptBlobTo(c: VaultCore, body: RecordBody, out: Writable, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<number> {
  const k = await c.fileKey(body);
  let last = 0;
  const src = c.storage.getStream(blobKey(body.blob as string), payloadSize(body.size));
  try {
    await pipeline(src, decryptPayload(k, (n) => {
      onBytes?.(n - last);
      last = n;
    }), out, signal ? { signal } : {});
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CofferError('VAULT_INVALID', `the content of ${body.name} is missing (blob ${body.blob}); it may not have synced yet`);
    }
    throw e;
  } finally {
    sodium().memzero(k);
  }
  if (last !== body.size) throw new CofferError('VAULT_TAMPERED', `the content of ${body.name} has ${last} bytes but its record says ${body.size}`);
  return last;
}

/** Streams one file's plaintext to `out` (for the app's preview/drag-out). */
export async function readFile(c: VaultCore, vpath: string, out: Writable, opts: OpProgress = {}): Promise<number> {
  c.ensureOpen();
  const r = mustResolve(c, vpath);
  if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder`);
  return decryptBlobTo(c, r.node.body, out, undefined, opts.signal);
}

/**
 * Streams plaintext bytes [start, end] (inclusive) of a file to `out`. The payload is sequential
 * (secretstream), so everything before `start` is decrypted and dropped; decryption stops after `end`.
 */
export async function readRange(c: VaultCore, vpath: string, out: Writable, start: number, end: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
  c.ensureOpen();
  const r = mustResolve(c, vpath);
  if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder`);
  const body = r.node.body;
  if (start === 0 && end >= body.size - 1) return decryptBlobTo(c, body, out, undefined, opts.signal);
  const k = await c.fileKey(body);
  const src = c.storage.getStream(blobKey(body.blob as string), payloadSize(body.size));
  const dec = decryptPayload(k);
  src.once('error', (e) => dec.destroy(e));
  src.pipe(dec);
  let pos = 0;
  let sent = 0;
  try {
    for await (const chunk of dec as AsyncIterable<Buffer>) {
      throwIfAborted(opts.signal);
      const from = Math.max(0, start - pos);
      const to = Math.min(chunk.length, end + 1 - pos);
      pos += chunk.length;
      if (to > from) {
        sent += to - from;
        await writeOrClose(out, chunk.subarray(from, to));
      }
      if (pos > end) break; // the rest is not needed: stop decrypting
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CofferError('VAULT_INVALID', `the content of ${body.name} is missing (blob ${body.blob}); it may not have synced yet`);
    }
    throw e;
  } finally {
    src.unpipe(dec);
    src.destroy();
    dec.destroy();
    sodium().memzero(k);
  }
  await new Promise<void>((res, rej) => {
    out.once('error', rej);
    out.end(() => res());
  });
  return sent;
}

/**
 * One file out of the vault as a standalone coffer file for `recipients`: a new header wrapping the
 * file's K, followed by the blob's payload bytes copied unchanged (not re-encrypted).
 */
export async function exportFile(c: VaultCore, vpath: string, recipients: readonly Recipient[], out: string | Writable, opts: { overwrite?: boolean } = {}): Promise<{ bytes: number }> {
  c.ensureOpen();
  const r = mustResolve(c, vpath);
  if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder; export takes one file`);
  const k = await c.fileKey(r.node.body);
  let header: Buffer;
  try {
    header = encodeHeader(await wrapKey(k, recipients), k);
  } finally {
    sodium().memzero(k);
  }
  const copy = async (w: Writable): Promise<number> => {
    let n = header.length;
    const src = c.storage.getStream(blobKey(r.node.body.blob as string), payloadSize(r.node.body.size));
    async function* gen(): AsyncGenerator<Buffer> {
      yield header;
      for await (const c of src as AsyncIterable<Buffer>) {
        n += c.length;
        yield c;
      }
    }
    await pipeline(gen, w);
    return n;
  };
  if (typeof out !== 'string') return { bytes: await copy(out) };
  if (!opts.overwrite && (await lstat(out).catch(() => null))) throw new CofferError('EXISTS', `${out} already exists`);
  await sweepPartials(path.dirname(out));
  const tmp = partialPath(out);
  try {
    const bytes = await copy(createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    await rename(tmp, out);
    return { bytes };
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
