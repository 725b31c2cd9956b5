/**
 * Where a vault's objects live. The interface is deliberately narrow (whole-object get/put, streaming
 * put and get, list one folder, delete, an advisory lock) so that an object store can implement it
 * later; the filesystem implementation below is what sync folders and network shares use.
 *
 * Keys are relative slash paths such as `records/3f…a1.rec`. Every put is atomic and durable:
 * the bytes go to `tmp/`, are flushed (fdatasync: the data and the size needed to read it), then
 * renamed into place, and the folder is fsynced, so a crash or power cut at any instant leaves either
 * the old object or the new one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync, constants as fsc } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { CofferError } from '../errors';
import { runConcurrent } from '../jobs/pool';

export interface ObjectInfo {
  /** Name within the listed folder (no slashes). */
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Changes whenever the object is replaced (inode + size + mtime on a filesystem, an ETag on a store). */
  readonly tag: string;
}

export interface StagedObject {
  readonly bytes: number;
  /** Implementation handle (a temp file path on a filesystem). */
  readonly token: string;
}

export interface LockOwner {
  readonly host: string;
  readonly pid: number;
  readonly since: string;
}

export interface VaultStorage {
  /** Human-readable location for messages (a folder path or URL). */
  readonly location: string;
  /** Whole object, or null if it does not exist. */
  get(key: string): Promise<Buffer | null>;
  /** Many small objects (null where absent), in order. */
  getMany(keys: readonly string[]): Promise<(Buffer | null)[]>;
  /**
   * A value that changes whenever an object is added to, replaced in or removed from `folder` (a folder's
   * change time on a filesystem), or null when the store cannot tell (then callers re-read).
   */
  stamp(folder: string): Promise<string | null>;
  /** Names of the objects directly inside `folder` (cheaper than `list`: no sizes or times). */
  listNames(folder: string): Promise<string[]>;
  /** Atomic, durable replace. */
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Atomic, durable streaming put; returns the bytes written. Nothing appears under `key` unless it completes. */
  putStream(key: string, source: Readable, signal?: AbortSignal): Promise<number>;
  /** Several small objects at once: each atomic; durable together (one folder sync per folder). */
  putMany(items: readonly { key: string; data: Uint8Array | string }[]): Promise<void>;
  /**
   * Writes `source` to a staging area: not yet visible, not yet durable. `commit` then makes a batch of
   * staged objects durable and visible under their keys; `discard` drops one.
   */
  stage(source: Readable, signal?: AbortSignal): Promise<StagedObject>;
  /**
   * Optional (filesystems): stages an object that `write` fills through an open file handle, for
   * large blobs written with positional I/O and reused buffers. `write` returns the bytes written.
   */
  stageWith?(write: (fh: FileHandle) => Promise<number>): Promise<StagedObject>;
  /** `stage` for bytes already in memory (small objects). */
  stageBytes(data: Uint8Array): Promise<StagedObject>;
  commit(items: readonly { staged: StagedObject; key: string }[]): Promise<void>;
  discard(staged: StagedObject): Promise<void>;
  /** Streams an object (NOT_FOUND if absent). */
  getStream(key: string): Readable;
  /** Objects directly inside `folder` (not recursive); [] if the folder does not exist. */
  list(folder: string): Promise<ObjectInfo[]>;
  /** Removes an object; absent objects are fine. */
  delete(key: string): Promise<void>;
  /** Size of an object, or null. */
  size(key: string): Promise<number | null>;
  /**
   * Takes the vault's writer lock (waits up to `timeoutMs`, then VAULT_BUSY). Only processes on the
   * same host exclude each other; machines sharing a sync folder reconcile through conflict copies.
   */
  lock(timeoutMs?: number): Promise<() => Promise<void>>;
}

export const TMP_FOLDER = 'tmp';
export const LOCK_KEY = `${TMP_FOLDER}/lock`;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host';

/** Name of a temp file owned by this process: `HOST~PID~RANDOM.tmp`. */
export function tempName(): string {
  return `${HOST}~${process.pid}~${randomBytes(8).toString('hex')}.tmp`;
}

/** Parses `HOST~PID~…` names of temp and intent files. */
export function ownerOf(name: string): { host: string; pid: number } | null {
  const m = /^([^~]+)~(\d+)~/.exec(name);
  return m ? { host: m[1] as string, pid: Number(m[2]) } : null;
}

export const thisHost = (): string => HOST;

/** Whether a process on this host with `pid` is still running. */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = openSync(dir, fsc.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems refuse fsync on folders; the rename is still atomic */
  }
}

function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new CofferError('INTERNAL', `invalid storage key ${JSON.stringify(key)}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `sync -f` (syncfs) works here: unknown until first tried. */
let syncfsWorks: boolean | undefined;

/** Many small I/O steps at once (fsyncs overlap on libuv's thread pool). */
function runIo<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  return runConcurrent(items, 32, (it) => fn(it));
}

export interface FsStorageOptions {
  /** fsync files and folders (default true). Only benchmarks comparing against `cp` turn this off. */
  readonly durable?: boolean;
}

export class FsStorage implements VaultStorage {
  readonly location: string;
  private readonly durable: boolean;
  private readonly made = new Set<string>();
  constructor(readonly root: string, opts: FsStorageOptions = {}) {
    this.location = root;
    this.durable = opts.durable ?? true;
  }

  private abs(key: string): string {
    checkKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  private async tempPath(): Promise<string> {
    const dir = path.join(this.root, TMP_FOLDER);
    await this.ensureDir(dir);
    return path.join(dir, tempName());
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.abs(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | null)[]> {
    // Small records: synchronous reads in slices are several times faster than one promise per file;
    // the event loop gets a turn between slices.
    const out: (Buffer | null)[] = [];
    for (let i = 0; i < keys.length; i += 256) {
      for (const k of keys.slice(i, i + 256)) {
        try {
          out.push(readFileSync(this.abs(k)));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          out.push(null);
        }
      }
      if (i + 256 < keys.length) await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  async stamp(folder: string): Promise<string | null> {
    try {
      const st = await stat(folder === '' ? this.root : this.abs(folder), { bigint: true });
      return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
    } catch {
      return null;
    }
  }

  async listNames(folder: string): Promise<string[]> {
    try {
      return (await readdir(folder === '' ? this.root : this.abs(folder), { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  private async commitTemp(tmp: string, key: string): Promise<void> {
    const dest = this.abs(key);
    const dir = path.dirname(dest);
    await this.ensureDir(dir);
    await rename(tmp, dest);
    if (this.durable) fsyncDir(dir);
  }

  /** Runs `fill` on a fresh temporary path; the temporary file is removed if `fill` fails. */
  private async withTemp<T>(fill: (tmp: string) => Promise<T>): Promise<T> {
    const tmp = await this.tempPath();
    try {
      return await fill(tmp);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  /** Creates `tmp` and hands `write` its open handle; closes it afterwards. */
  private async withNewFile<T>(tmp: string, write: (fh: FileHandle) => Promise<T>): Promise<T> {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      return await write(fh);
    } finally {
      await fh.close();
    }
  }

  /** Streams `source` into a new file `tmp`; returns the bytes written. */
  private async streamInto(tmp: string, source: Readable, signal?: AbortSignal): Promise<number> {
    let bytes = 0;
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: 1 << 20 });
    source.on('data', (c: Buffer) => { bytes += c.length; });
    await pipeline(source, out, signal ? { signal } : {});
    return bytes;
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    await this.withTemp(async (tmp) => {
      await this.withNewFile(tmp, async (fh) => {
        await fh.writeFile(data);
        if (this.durable) await fh.datasync();
      });
      await this.commitTemp(tmp, key);
    });
  }

  async putStream(key: string, source: Readable, signal?: AbortSignal): Promise<number> {
    return this.withTemp(async (tmp) => {
      const bytes = await this.streamInto(tmp, source, signal);
      if (this.durable) {
        const fh = await open(tmp, 'r+');
        try {
          await fh.datasync();
        } finally {
          await fh.close();
        }
      }
      await this.commitTemp(tmp, key);
      return bytes;
    });
  }

  /**
   * Makes many just-written files durable before they are renamed into place. On Linux, for a batch, one
   * syncfs(2) (`sync -f`) flushes the filesystem in one go, several times faster than one fdatasync per
   * small file; elsewhere, or if that is unavailable, each file is fdatasynced (many at once).
   */
  private async flushFiles(paths: readonly string[]): Promise<void> {
    if (!this.durable || paths.length === 0) return;
    if (paths.length >= 16 && process.platform === 'linux' && syncfsWorks !== false) {
      const ok = await new Promise<boolean>((resolve) => {
        execFile('sync', ['-f', this.root], { timeout: 120_000 }, (err) => resolve(!err));
      });
      if (ok) {
        syncfsWorks = true;
        return;
      }
      syncfsWorks = false;
    }
    await runIo(paths, async (p) => {
      const fh = await open(p, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
  }

  async putMany(items: readonly { key: string; data: Uint8Array | string }[]): Promise<void> {
    const staged: { tmp: string; key: string }[] = [];
    try {
      for (const [i, it] of items.entries()) {
        const tmp = await this.tempPath();
        staged.push({ tmp, key: it.key });
        writeFileSync(tmp, it.data, { flag: 'wx', mode: 0o644 });
        if (i % 256 === 255) await new Promise((r) => setImmediate(r));
      }
      await this.flushFiles(staged.map((x) => x.tmp));
      await this.renameAll(staged);
    } catch (e) {
      await Promise.all(staged.map((s) => unlink(s.tmp).catch(() => undefined)));
      throw e;
    }
  }

  /** Renames staged files into place (all data already durable), then syncs each folder once. */
  private async renameAll(staged: readonly { tmp: string; key: string }[]): Promise<void> {
    const dirs = new Set<string>();
    for (const s of staged) dirs.add(path.dirname(this.abs(s.key)));
    for (const d of dirs) await this.ensureDir(d);
    for (const x of staged) renameSync(x.tmp, this.abs(x.key));
    if (this.durable) for (const d of dirs) fsyncDir(d);
  }

  stage(source: Readable, signal?: AbortSignal): Promise<StagedObject> {
    return this.withTemp(async (tmp) => ({ bytes: await this.streamInto(tmp, source, signal), token: tmp }));
  }

  stageWith(write: (fh: FileHandle) => Promise<number>): Promise<StagedObject> {
    return this.withTemp(async (tmp) => ({ bytes: await this.withNewFile(tmp, write), token: tmp }));
  }

  stageBytes(data: Uint8Array): Promise<StagedObject> {
    return this.withTemp((tmp) => {
      // Small objects: a synchronous write costs a few microseconds, a thread-pool round trip far more.
      writeFileSync(tmp, data, { flag: 'wx', mode: 0o644 });
      return Promise.resolve({ bytes: data.byteLength, token: tmp });
    });
  }

  async commit(items: readonly { staged: StagedObject; key: string }[]): Promise<void> {
    await this.flushFiles(items.map((it) => it.staged.token));
    await this.renameAll(items.map((i) => ({ tmp: i.staged.token, key: i.key })));
  }

  async discard(staged: StagedObject): Promise<void> {
    await unlink(staged.token).catch(() => undefined);
  }

  getStream(key: string): Readable {
    return createReadStream(this.abs(key), { highWaterMark: 1 << 20 });
  }

  async list(folder: string): Promise<ObjectInfo[]> {
    const dir = folder === '' ? this.root : this.abs(folder);
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: ObjectInfo[] = [];
    const CONC = 64;
    for (let i = 0; i < names.length; i += CONC) {
      const part = await Promise.all(names.slice(i, i + CONC).map(async (name) => {
        try {
          const st = await stat(path.join(dir, name), { bigint: false });
          return { name, size: st.size, mtimeMs: st.mtimeMs, tag: `${st.ino}:${st.size}:${st.mtimeMs}` };
        } catch {
          return null; // removed meanwhile
        }
      }));
      for (const p of part) if (p) out.push(p);
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    await rm(this.abs(key), { force: true });
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.abs(key))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async lock(timeoutMs = 60_000): Promise<() => Promise<void>> {
    const file = this.abs(LOCK_KEY);
    await this.ensureDir(path.dirname(file));
    const me: LockOwner = { host: HOST, pid: process.pid, since: new Date().toISOString() };
    const token = JSON.stringify(me);
    const deadline = Date.now() + timeoutMs;
    let delay = 5;
    for (;;) {
      try {
        await writeFile(file, token, { flag: 'wx' });
        let released = false;
        return async () => {
          if (released) return;
          released = true;
          const cur = await readFile(file, 'utf8').catch(() => '');
          if (cur === token) await unlink(file).catch(() => undefined);
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      // Held: steal it only if its owner is a dead process on this host (a crash or SIGKILL).
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text !== null) {
        let owner: LockOwner | null = null;
        try {
          owner = JSON.parse(text) as LockOwner;
        } catch {
          owner = null;
        }
        const stale = owner === null
          ? Date.now() - ((await stat(file).catch(() => null))?.mtimeMs ?? Date.now()) > 10_000
          : owner.host === HOST ? !pidAlive(owner.pid) : false;
        if (stale) {
          // Re-read right before removing, so that a lock just taken by someone else survives.
          const again = await readFile(file, 'utf8').catch(() => null);
          if (again === text) await unlink(file).catch(() => undefined);
          continue;
        }
        if (owner && owner.host !== HOST) {
          // Another machine's lock reached us through a sync client: it does not guard this host.
          const again = await readFile(file, 'utf8').catch(() => null);
          if (again === text) await unlink(file).catch(() => undefined);
          continue;
        }
      }
      if (Date.now() > deadline) {
        throw new CofferError('VAULT_BUSY', `the vault at ${this.root} is busy: another coffer process is writing to it (${text ?? 'lock file'}); try again when it finishes`);
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 100);
    }
  }
}
