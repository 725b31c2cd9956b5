/**
 * Content in: `add` (files and folders from disk, encrypted in parallel into staging, then committed
 * in batches: blobs durable before the records that name them), and the single-stream path of the
 * WebDAV drive (`stageStream` + `commitStaged`). A replaced file's old content stays as a previous
 * version (versions.ts).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { encodeB64 } from '../format/base64';
import { sealFileHandle } from '../format/file';
import { encryptPayload, PayloadSealer } from '../format/stream';
import { defaultConcurrency, runConcurrent, runPool, throwIfAborted } from '../jobs/pool';
import { ProgressTracker } from '../jobs/progress';
import type { VaultCore } from './core';
import { ensureDirs } from './entries';
import { EPOCHS, blobKey, checkName, splitVaultPath } from './layout';
import { newId, normalizeName } from './names';
import { heal, load, mutate } from './open';
import { compactIfNeeded, rereadRecords, writeRecord, writeRecords, type RecordNode } from './records';
import type { StagedObject } from './storage';
import { childIndex, dirId, getTree } from './tree';
import type { AddResult, EntryInfo, OpProgress, RecordBody, StagedFile } from './types';
import { nameProblem } from './validate';
import { isLive, withPrevious } from './versions';

/** Files up to this size are I/O-bound to add; more of them are kept in flight than there are cores. */
const SMALL_FILE = 256 * 1024;

/**
 * Adds files and folders (recursively) under `to`. Content streams through encryptPayload into
 * one new blob per file, up to one file per core at a time. A file whose name exists is replaced
 * by a new version. Cancelling or failing leaves only complete, committed entries.
 */
export async function add(c: VaultCore, sources: readonly string[], to = '', opts: OpProgress & { concurrency?: number } = {}): Promise<AddResult> {
  c.ensureOpen();
  const signal = opts.signal;
  const progress = new ProgressTracker(opts.onProgress);
  // 1. Scan the sources (no lock needed).
  interface FilePlan { abs: string; rel: string[]; size: number; mtime: number }
  const files: FilePlan[] = [];
  const folders: string[][] = [];
  const skipped: string[] = [];
  const scan = async (abs: string, rel: string[]): Promise<void> => {
    throwIfAborted(signal);
    const st = await lstat(abs);
    if (st.isSymbolicLink()) {
      skipped.push(abs);
      return;
    }
    if (st.isDirectory()) {
      folders.push(rel);
      const names = (await readdir(abs)).sort();
      for (const n of names) {
        // A name that could not be read back (a control character, a backslash…) is skipped and reported.
        if (nameProblem(n) !== null) skipped.push(path.join(abs, n));
        else await scan(path.join(abs, n), [...rel, normalizeName(n)]);
      }
    } else if (st.isFile()) {
      files.push({ abs, rel, size: st.size, mtime: st.mtimeMs });
    } else {
      skipped.push(abs);
    }
  };
  for (const s of sources) {
    const st = await stat(s).catch(() => null);
    if (!st) throw new CofferError('NOT_FOUND', `${s}: no such file or folder`);
    await scan(path.resolve(s), [normalizeName(path.basename(path.resolve(s)))]);
  }
  progress.setTotals(files.length, files.reduce((a, f) => a + f.size, 0));
  const toParts = splitVaultPath(to);
  // Temp files that an add killed on this host left (SIGKILL, a crash) go first: they may fill the disk.
  await c.storage.sweepTemp?.();

  // 2. Create the folders and decide which entries are replaced (under the lock).
  const dirOf = new Map<string, string>();
  const plans: { f: FilePlan; parent: string; name: string; blob: string; replaces: RecordNode | null }[] = [];
  await mutate(c, async () => {
    const versions: Record<string, number> = {};
    const idx = childIndex(c);
    const base = await ensureDirs(c, toParts, versions, idx);
    dirOf.set('', base);
    for (const rel of folders) {
      const id = await ensureDirs(c, [...toParts, ...rel], versions, idx);
      dirOf.set(rel.join('/'), id);
    }
    await c.saveVersions(versions);
    for (const f of files) {
      const name = f.rel[f.rel.length - 1] as string;
      checkName(name);
      const parent = dirOf.get(f.rel.slice(0, -1).join('/')) ?? base;
      const existing = idx.get(`${parent}\0${name.normalize('NFC')}`);
      if (existing && existing.body.type !== 'file') {
        throw new CofferError('EXISTS', `${[...toParts, ...f.rel].join('/')} exists and is not a file`);
      }
      plans.push({ f, parent, name, blob: newId(), replaces: existing ?? null });
    }
  });

  // 3. Encrypt blobs in parallel into staging; commit blobs, then records, in batches (records under the lock).
  const intent = await c.writeIntent('add', plans.map((p) => blobKey(p.blob)));
  const staged = new Map<string, StagedObject>();
  const committedBlobs = new Set<string>();
  const recorded = new Set<string>();
  let pending: { body: RecordBody; replaces: RecordNode | null }[] = [];
  let bytes = 0;
  let replaced = 0;
  let flushing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    // Blobs first: durable and visible before any record refers to them (the intent covers a crash here).
    await c.storage.commit(batch.map((b) => ({ staged: staged.get(b.body.blob as string) as StagedObject, key: blobKey(b.body.blob as string) })));
    for (const b of batch) {
      staged.delete(b.body.blob as string);
      committedBlobs.add(b.body.blob as string);
    }
    const release = await c.storage.lock();
    try {
      const epochsNow = (await c.storage.list(EPOCHS)).map((o) => o.name).sort().join();
      if (epochsNow !== [...c.epochs.keys()].map((e) => `${e}.epoch`).sort().join()) {
        await load(c);
        await heal(c);
      } else {
        // Re-read the records (unchanged ones are not decrypted again) to see other writers' entries.
        await rereadRecords(c);
      }
      const versions: Record<string, number> = {};
      const bodies: RecordBody[] = [];
      const current = new Map<string, RecordBody>();
      for (const n of c.index.records.values()) {
        if (!n.conflict && n.body.type === 'file' && isLive(n.body)) current.set(`${n.body.parent}/${n.body.name.normalize('NFC')}`, n.body);
      }
      for (const { body } of batch) {
        // The new content does not depend on the old, so it becomes the next version of whatever entry
        // holds that name now (another writer may have created or replaced it meanwhile): serial, and
        // nothing is overwritten unseen (the old version's blob goes only once its record is replaced).
        const slot = `${body.parent}/${body.name.normalize('NFC')}`;
        const cur = current.get(slot);
        let b = body;
        if (cur) {
          // The old content stays as a previous version (versions.ts), collected by retention.
          b = withPrevious(cur, { ...body, id: cur.id, version: cur.version + 1 }, c.now(), c.retention);
          replaced++;
        }
        current.set(slot, b);
        bodies.push(b);
      }
      for (const b of await writeRecords(c, bodies)) {
        versions[b.id] = b.version;
        recorded.add(b.blob as string);
      }
      await c.saveVersions(versions);
    } finally {
      await release();
    }
  };
  let lastFlush = Date.now();
  // Strict vaults: file keys come pre-sealed by the key guard, in batches.
  const nextKey = c.keyGuard ? c.sealedKeySource(plans.length) : null;
  // Encryption runs on this one thread; what overlaps is I/O. Large files are CPU-bound: one pipeline per
  // core. Small files are I/O-bound (open, read, write, flush): more of them are kept in flight.
  const cores = opts.concurrency ?? defaultConcurrency();
  const ordered = [...plans.filter((p) => p.f.size <= SMALL_FILE), ...plans.filter((p) => p.f.size > SMALL_FILE)];
  const smallCount = plans.filter((p) => p.f.size <= SMALL_FILE).length;
  try {
    const one = async (p: (typeof plans)[number]): Promise<void> => {
      const na = sodium();
      let k: Uint8Array;
      let sealedKey: string | null = null;
      if (nextKey) {
        const n = await nextKey();
        k = n.k;
        sealedKey = n.sealed;
      } else {
        k = na.randomBytes(32); // wiped below; sodium_malloc per file would cost an mmap each
      }
      let done = 0;
      progress.setCurrent([...toParts, ...p.f.rel].join('/'));
      const onBytes = (n: number): void => {
        progress.addBytes(n - done);
        done = n;
      };
      const large = p.f.size > SMALL_FILE && c.storage.stageWith !== undefined;
      // Both derive their payload key now, so the file key can be wiped before any I/O.
      const sealer = large ? new PayloadSealer(k) : null;
      const enc = large ? null : encryptPayload(k, onBytes);
      const key = sealedKey ?? encodeB64(k);
      na.memzero(k);
      let st: StagedObject;
      if (sealer && c.storage.stageWith) {
        // Large files: positional I/O with reused buffers (flat memory, no stream machinery).
        st = await c.storage.stageWith(async (dst) => {
          const src = await open(p.f.abs, 'r');
          try {
            return await sealFileHandle(sealer, src, dst, 0, { signal, onProgress: onBytes });
          } finally {
            await src.close();
          }
        });
      } else if (!enc) {
        throw new CofferError('INTERNAL', 'no encryptor');
      } else if (p.f.size <= SMALL_FILE) {
        // Small files: read, seal and stage in one piece (no stream machinery per file).
        throwIfAborted(signal);
        const plain = readFileSync(p.f.abs);
        const out: Buffer[] = [];
        enc.on('data', (c: Buffer) => out.push(c));
        const ended = new Promise<void>((res, rej) => {
          enc.once('end', res);
          enc.once('error', rej);
        });
        enc.end(plain);
        await ended;
        sodium().memzero(plain);
        // Created in place under its fresh random name (storage.ts; the intent above covers a crash).
        st = await c.storage.stageBytes(Buffer.concat(out), blobKey(p.blob));
      } else {
        st = await c.storage.stage(createReadStream(p.f.abs, { highWaterMark: 1 << 20 }).pipe(enc), signal);
      }
      staged.set(p.blob, st);
      bytes += done;
      const body: RecordBody = {
        v: 1, id: newId(), type: 'file', parent: p.parent, name: p.name, size: done, mtime: Math.round(p.f.mtime), version: 1, key, blob: p.blob,
      };
      pending.push({ body, replaces: p.replaces });
      progress.fileDone();
      if (pending.length >= 2048 || (pending.length > 0 && Date.now() - lastFlush > 5000)) {
        lastFlush = Date.now();
        // Commit this batch while the next one is encrypted; wait only for the batch before it.
        const previous = flushing;
        flushing = previous.then(flush);
        await previous;
      }
    };
    await runConcurrent(ordered.slice(0, smallCount), opts.concurrency ?? 4 * cores, one, signal);
    await runPool(ordered.slice(smallCount), cores, one, signal);
    flushing = flushing.then(flush);
    await flushing;
  } catch (e) {
    // Only complete, committed entries remain: drop staged blobs and blobs that never got a record.
    await flushing.catch(() => undefined);
    for (const st of staged.values()) await c.storage.discard(st);
    for (const b of committedBlobs) if (!recorded.has(b)) await c.storage.delete(blobKey(b)).catch(() => undefined);
    await c.storage.delete(intent).catch(() => undefined);
    throw signal?.aborted ? new CofferError('CANCELLED', 'cancelled') : e;
  }
  await c.storage.delete(intent);
  if (c.index.needsCompaction()) {
    // The batches piled up packs: one checkpoint for the whole add (FORMAT.md §6.18).
    const release = await c.storage.lock();
    try {
      await rereadRecords(c);
      await compactIfNeeded(c);
    } finally {
      await release();
    }
  }
  progress.finish();
  return { files: plans.length, folders: folders.length, bytes, replaced, skipped };
}

/**
 * Encrypts `source` into a staged blob (constant memory; not yet part of the vault). Commit it with
 * `commitStaged` or drop it with `discardStaged`. A failing or aborted source leaves nothing behind.
 */
export async function stageStream(c: VaultCore, source: Readable, opts: { signal?: AbortSignal } = {}): Promise<StagedFile> {
  c.ensureOpen();
  const na = sodium();
  let k: Uint8Array;
  let key: string;
  if (c.keyGuard) {
    const n = await c.sealedKeySource(1)();
    k = n.k;
    key = n.sealed;
  } else {
    k = na.randomBytes(32);
    key = encodeB64(k);
  }
  let size = 0;
  const enc = encryptPayload(k, (n) => {
    size = n;
  });
  na.memzero(k);
  // The staging pipeline reports enc's errors; this keeps a re-emitted one (a client that hung up) from
  // ever becoming an uncaught exception in the process.
  enc.on('error', () => undefined);
  const onError = (e: Error): void => {
    enc.destroy(e);
  };
  source.once('error', onError);
  source.once('aborted', () => onError(new CofferError('CANCELLED', 'the upload was interrupted')));
  source.pipe(enc);
  try {
    const staged = await c.storage.stage(enc, opts.signal);
    return { staged, key, size };
  } finally {
    source.removeListener('error', onError);
    source.on('error', () => undefined); // a late error from a source we are done with is not uncaught
    source.unpipe(enc);
  }
}

/** Drops a staged file that will not be committed. */
export async function discardStaged(c: VaultCore, f: StagedFile): Promise<void> {
  await c.storage.discard(f.staged);
}

/**
 * Commits a staged file as `vpath`: a new entry, or the next version of the file already there
 * (its dead properties are kept). The blob is durable before the record that names it.
 */
export async function commitStaged(c: VaultCore, f: StagedFile, vpath: string, opts: { mtime?: number; expect?: { readonly id: string; readonly version: number } | null } = {}): Promise<EntryInfo> {
  const parts = splitVaultPath(vpath);
  const name = parts[parts.length - 1];
  if (name === undefined) throw new CofferError('USAGE', 'the vault root is a folder');
  checkName(name);
  const blob = newId();
  try {
    return await mutate(c, async () => {
      const parent = dirId(c, parts.slice(0, -1).join('/'));
      const cur = childIndex(c).get(`${parent}\0${name.normalize('NFC')}`);
      if (cur && cur.body.type !== 'file') throw new CofferError('EXISTS', `${vpath} exists and is not a file`);
      // Compare-and-set under the writer lock: the caller edited version `expect` of entry `expect.id`
      // (null: the caller expects no entry at `vpath`); anything else means someone changed it meanwhile.
      if (opts.expect !== undefined && (opts.expect === null ? cur !== undefined : cur?.body.id !== opts.expect.id || cur.body.version !== opts.expect.version)) {
        throw new CofferError('VAULT_CONFLICT', `${vpath} changed in the vault since it was opened (now ${cur ? `version ${cur.body.version}` : 'gone'})`);
      }
      await c.storage.commit([{ staged: f.staged, key: blobKey(blob) }]);
      const fresh: RecordBody = {
        v: 1, id: cur ? cur.body.id : newId(), type: 'file', parent, name: cur ? cur.body.name : name, size: f.size,
        mtime: Math.round(opts.mtime ?? Date.now()), version: cur ? cur.body.version + 1 : 1, key: f.key, blob,
        ...(cur?.body.props ? { props: cur.body.props } : {}),
      };
      // The content replaced stays as a previous version (versions.ts): a bad save can be undone.
      const body = cur ? withPrevious(cur.body, fresh, c.now(), c.retention) : fresh;
      try {
        await writeRecord(c, body);
      } catch (e) {
        await c.storage.delete(blobKey(blob)).catch(() => undefined);
        throw e;
      }
      await c.saveVersions({ [body.id]: body.version });
      return getTree(c).infoByFile.get(`${body.id}.rec`) as EntryInfo;
    });
  } catch (e) {
    await c.storage.discard(f.staged);
    throw e;
  }
}

/** stageStream + commitStaged: `source` becomes `vpath` only once it ended completely. */
export async function addStream(c: VaultCore, vpath: string, source: Readable, opts: { signal?: AbortSignal; mtime?: number } = {}): Promise<EntryInfo> {
  const f = await stageStream(c, source, opts);
  return commitStaged(c, f, vpath, opts);
}
