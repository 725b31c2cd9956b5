/**
 * Where a vault's objects live: the one door through which the core reads and writes a vault folder.
 * The interface is deliberately narrow (whole-object get/put, streaming put and get, list one folder,
 * delete, an advisory lock) so that an object store can implement it later; the filesystem
 * implementation below is what sync folders and network shares use.
 *
 * The folder is hostile (docs/SECURITY.md, "The storage door"): anyone who can write to the sync folder
 * may plant links, FIFOs, devices or huge files. FsStorage therefore
 *   - opens objects with O_NOFOLLOW | O_NONBLOCK and fstats the descriptor: regular files only, so a
 *     link is never followed and a FIFO never blocks the open; anything else is a typed VAULT_TAMPERED
 *     error naming the object (the vault reports it and skips it);
 *   - checks each object's size against a cap for its kind (OBJECT_LIMITS) before reading a byte, and
 *     streams blobs only when their size is exactly the one their record implies;
 *   - uses a subfolder (epochs, slots, keys, records, blobs, requests, tmp) only after lstat shows a
 *     real directory inside the vault root, and creates one only where nothing exists (never through
 *     a link); the check is repeated for every operation, except where a folder is PINNED for the
 *     per-file steps of add and get (pinned.ts: checked once, then reached through its descriptor, so a
 *     link swapped in afterwards is never followed; re-checked every second);
 *   - creates temp, intent and lock files with O_CREAT | O_EXCL | O_NOFOLLOW in the real tmp/ only,
 *     and new small blobs the same way in the real blobs/ (`stageBytes` with a key).
 *
 * Keys are relative slash paths such as `records/3f…a1.rec`. Every put is atomic and durable:
 * the bytes go to `tmp/`, are flushed (fdatasync: the data and the size needed to read it), then
 * renamed into place, and the folder is fsynced, so a crash or power cut at any instant leaves either
 * the old object or the new one. A new immutable object under a fresh random name (a small blob) is
 * instead created in place, durable at `commit` (one syncfs per batch, durable.ts), and referenced by
 * nothing before that: the caller's intent lists it for cleanup after a crash.
 */
import {
  closeSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync, constants as fsc, type Stats,
} from 'node:fs';
import { lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { CofferError, isCofferError } from '../errors';
import { MAX_HEADER_BYTES } from '../format/constants';
import { syncBatch } from './durable';
import { PinnedDir, PinRefused } from './pinned';

export interface ObjectInfo {
  /** Name within the listed folder (no slashes). */
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Changes whenever the object is replaced (inode + size + mtime on a filesystem, an ETag on a store). */
  readonly tag: string;
  /**
   * false for a symbolic link, FIFO, socket or device found where an object should be (never read or
   * followed: `get` refuses it with VAULT_TAMPERED, and `verify --repair` never removes it). Absent: regular.
   */
  readonly regular?: boolean;
}

/** One result of `getMany`: the bytes, null when absent, or the typed error that refused this object. */
export type Fetched = Buffer | null | CofferError;

export interface StagedObject {
  readonly bytes: number;
  /** Implementation handle (a temp file path on a filesystem). */
  readonly token: string;
  /** Set when the object was created in place under this key (`stageBytes` with a key): commit only syncs it. */
  readonly placed?: string;
}

export interface LockOwner {
  readonly host: string;
  readonly pid: number;
  readonly since: string;
}

export interface VaultStorage {
  /** Human-readable location for messages (a folder path or URL). */
  readonly location: string;
  /**
   * Whole object, or null if it does not exist. VAULT_TAMPERED when it is not a regular file or is larger
   * than its kind's cap (OBJECT_LIMITS), or when its folder is a link.
   */
  get(key: string): Promise<Buffer | null>;
  /** Many small objects, in order: each is its bytes, null where absent, or the error `get` would throw. */
  getMany(keys: readonly string[]): Promise<Fetched[]>;
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
  /**
   * `stage` for bytes already in memory (small objects). With `key` (only for a NEW immutable object
   * under a fresh random name, such as a blob), a store may create it in place: it is then visible at
   * once but referenced by nothing until the caller commits records, durable at `commit`, and removed
   * by `discard`; the caller's intent (tmp/*.intent) lists it in case of a crash.
   */
  stageBytes(data: Uint8Array, key?: string): Promise<StagedObject>;
  commit(items: readonly { staged: StagedObject; key: string }[]): Promise<void>;
  discard(staged: StagedObject): Promise<void>;
  /**
   * Streams an object (an ENOENT error if absent). With `expectedSize`, the object must be a regular file
   * of exactly that many bytes (VAULT_TAMPERED otherwise, before anything is read), and no more is read.
   */
  getStream(key: string, expectedSize?: number): Readable;
  /**
   * Objects directly inside `folder` (not recursive; links, special files and subfolders are listed with
   * `regular: false`, so that they are reported, never read); [] if the folder does not exist.
   */
  list(folder: string): Promise<ObjectInfo[]>;
  /** Removes an object; absent objects are fine. */
  delete(key: string): Promise<void>;
  /** Size of an object, or null. */
  size(key: string): Promise<number | null>;
  /**
   * Optional: the whole object if it is a regular file of exactly `size` bytes; null otherwise (absent,
   * another size, a link or special file: callers then take `getStream`, which reports what is wrong).
   */
  readExact?(key: string, size: number): Promise<Buffer | null>;
  /**
   * Takes the vault's writer lock (waits up to `timeoutMs`, then VAULT_BUSY). Only processes on the
   * same host exclude each other; machines sharing a sync folder reconcile through conflict copies.
   */
  lock(timeoutMs?: number): Promise<() => Promise<void>>;
  /**
   * Optional: removes this host's temp files (`tmp/HOST~PID~RANDOM.tmp`) whose process is gone (a crash
   * or SIGKILL), and returns their keys. Nothing else is touched: no link, no other name, no live process.
   */
  sweepTemp?(): Promise<string[]>;
}

export const TMP_FOLDER = 'tmp';
export const LOCK_KEY = `${TMP_FOLDER}/lock`;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host';

/**
 * Size caps per object kind (by folder; '' is the vault root, i.e. the descriptor), checked with fstat
 * before anything is read. Generous for real vaults, small enough that a planted object costs little.
 * Blobs have no cap here: they are streamed, and only at exactly the size their record implies.
 */
export const OBJECT_LIMITS: Readonly<Record<string, number>> = {
  '': 64 * 1024,
  epochs: 64 << 20, // revocation manifests list a hash per record (about 65 bytes per entry)
  slots: 1 << 20,
  keys: MAX_HEADER_BYTES + 4096,
  records: 1 << 20, // a record may carry up to 64 KiB of WebDAV properties, JSON-escaped
  packs: 64 << 20, // record packs (packs.ts): writers cut them at 8 MiB of records
  requests: 64 * 1024,
  tmp: 64 << 20, // intents list every object of one operation
};
const DEFAULT_LIMIT = 1 << 20;

/** The size cap of the object stored under `key`. */
export function objectLimit(key: string): number {
  const slash = key.indexOf('/');
  return OBJECT_LIMITS[slash < 0 ? '' : key.slice(0, slash)] ?? DEFAULT_LIMIT;
}

// O_NOFOLLOW: a link is refused, never followed. O_NONBLOCK: opening a FIFO returns at once (then
// fstat refuses it) instead of waiting forever for a writer. Both are 0 where the platform lacks them.
const O_NOFOLLOW = fsc.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fsc.O_NONBLOCK ?? 0;
const READ_FLAGS = fsc.O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
/** New files only (temp, intent, lock): O_EXCL never reuses or follows anything already there. */
export const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | O_NOFOLLOW;
const SYNC_FLAGS = fsc.O_RDWR | O_NOFOLLOW;

/** Name of a temp file owned by this process: `HOST~PID~RANDOM.tmp`. */
export function tempName(): string {
  return `${HOST}~${process.pid}~${randomBytes(8).toString('hex')}.tmp`;
}

/** Parses `HOST~PID~…` names of temp and intent files. */
export function ownerOf(name: string): { host: string; pid: number } | null {
  const m = /^([^~]+)~(\d+)~/.exec(name);
  return m ? { host: m[1] as string, pid: Number(m[2]) } : null;
}

const OWN_TMP_RE = /^[A-Za-z0-9._-]+~\d{1,10}~[0-9a-f]{16}\.(tmp|intent)$/;

/** Whether `name` follows coffer's own naming of temp (`.tmp`) or intent (`.intent`) files in tmp/. */
export function ownTempKind(name: string): 'tmp' | 'intent' | null {
  const m = OWN_TMP_RE.exec(name);
  return m ? (m[1] as 'tmp' | 'intent') : null;
}

export const thisHost = (): string => HOST;

/** Whether a process on this host with `pid` is still running. */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The errno code of `e`, or of the error it wraps (storage errors keep the original as `cause`). */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('E') && !isCofferError(e)) return code;
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== e ? errnoOf(cause) : undefined;
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
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new CofferError('INTERNAL', `invalid storage key ${JSON.stringify(key)}`);
  }
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

const isLinkErrno = (e: unknown): boolean => {
  const c = (e as NodeJS.ErrnoException).code;
  return c === 'ELOOP' || c === 'EMLINK' || c === 'EFTYPE';
};

function notRegular(key: string, what: string): CofferError {
  return new CofferError('VAULT_TAMPERED', `${key} is ${what}, not a regular file: coffer neither follows nor reads it (remove it from the vault folder)`);
}

function tooLarge(key: string, size: number, cap: number): CofferError {
  return new CofferError('VAULT_TAMPERED', `${key} is ${size} bytes, more than the ${cap} bytes an object of its kind may have: not read`);
}

/** Reads one object through an open descriptor: regular files within `cap` only. */
function readObjectSync(file: string, key: string, cap: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, READ_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (isLinkErrno(e)) throw notRegular(key, 'a symbolic link');
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(key, kindOf(st));
    if (st.size > cap) throw tooLarge(key, st.size, cap);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Opens an object for streaming: a regular file, of exactly `expected` bytes when given. */
async function openObject(file: string, key: string, expected?: number): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(file, READ_FLAGS);
  } catch (e) {
    if (isLinkErrno(e)) throw notRegular(key, 'a symbolic link');
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(key, kindOf(st));
    if (expected !== undefined && st.size !== expected) {
      throw new CofferError('VAULT_TAMPERED', `${key} is ${st.size} bytes, but its record implies ${expected}: truncated, extended or swapped`);
    }
    return { fh, size: st.size };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/** Writes `data` to a new file (O_EXCL, no link followed). */
function writeNewSync(file: string, data: Uint8Array | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(file, CREATE_FLAGS, 0o644);
  try {
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
  } finally {
    closeSync(fd);
  }
}

/** writeNewSync, removing the file if it was created but could not be written (a full disk). */
function writeNewOrRemove(file: string, data: Uint8Array): void {
  try {
    writeNewSync(file, data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      try {
        unlinkSync(file);
      } catch {
        /* never created */
      }
    }
    throw e;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A pinned vault folder (pinned.ts) is re-checked against its path after this long, and released after
 * this long unused: long operations notice a folder that was replaced, and no descriptor is kept idle.
 */
const PIN_RECHECK_MS = 1000;

export interface FsStorageOptions {
  /** fsync files and folders (default true). Only benchmarks comparing against `cp` turn this off. */
  readonly durable?: boolean;
}

export class FsStorage implements VaultStorage {
  readonly location: string;
  private readonly durable: boolean;
  private readonly pins = new Map<string, { pin: PinnedDir; checked: number }>();
  private pinTimer: NodeJS.Timeout | null = null;
  constructor(readonly root: string, opts: FsStorageOptions = {}) {
    this.location = root;
    this.durable = opts.durable ?? true;
  }

  /**
   * `folder` pinned (pinned.ts): checked like `dir` (each part a real folder, never a link), then opened
   * with O_NOFOLLOW and reached through its descriptor, so that objects of one operation do not each
   * repeat the folder checks and a folder swapped for a link afterwards is never followed. Re-checked
   * against its path every PIN_RECHECK_MS (a replaced folder is then checked, and refused if a link).
   * Without descriptor paths (not Linux) the folder is checked on every use, as `dir` does. Null if the
   * folder is absent and `create` is false. Callers use the pin synchronously, never across an await
   * (a pin may be closed between two calls, and its descriptor number reused).
   */
  private pinned(folder: string, create: boolean): PinnedDir | null {
    const now = Date.now();
    const hit = this.pins.get(folder);
    if (hit && hit.pin.viaFd) {
      if (now - hit.checked < PIN_RECHECK_MS) return hit.pin;
      if (hit.pin.current()) {
        hit.checked = now;
        return hit.pin;
      }
    }
    if (hit) {
      hit.pin.release();
      this.pins.delete(folder);
    }
    const d = this.dir(folder, create);
    if (d === null) return null;
    let pin: PinnedDir;
    try {
      pin = PinnedDir.at(d);
    } catch (e) {
      if (!(e instanceof PinRefused)) throw e;
      if (e.why === 'missing' && !create) return null;
      // Replaced between the check and the open: refused like `dir` refuses it.
      throw new CofferError('VAULT_TAMPERED', `${folder}/ in the vault at ${this.root} is ${e.why === 'link' ? 'a symbolic link' : 'not a folder'}, not a folder: coffer neither reads nor writes through it (remove it from the vault folder)`);
    }
    this.pins.set(folder, { pin, checked: now });
    this.schedulePinRelease();
    return pin;
  }

  private schedulePinRelease(): void {
    if (this.pinTimer) this.pinTimer.refresh();
    else {
      this.pinTimer = setTimeout(() => {
        this.pinTimer = null;
        this.releasePins();
      }, 2 * PIN_RECHECK_MS);
      this.pinTimer.unref();
    }
  }

  /** Closes the descriptors of pinned folders (they are pinned again on next use). */
  releasePins(): void {
    for (const e of this.pins.values()) e.pin.release();
    this.pins.clear();
    if (this.pinTimer) clearTimeout(this.pinTimer);
    this.pinTimer = null;
  }

  /** Splits a key into its folder and name (checked). */
  private static split(key: string): { folder: string; name: string } {
    checkKey(key);
    const i = key.lastIndexOf('/');
    return { folder: i < 0 ? '' : key.slice(0, i), name: i < 0 ? key : key.slice(i + 1) };
  }

  /**
   * The absolute path of `folder` ('' is the root) once lstat has shown that each part is a real
   * directory, not a link; null if it does not exist and `create` is false. With `create`, a missing
   * part is made with mkdir (which never follows a link) and checked again. Not cached: a folder swapped
   * for a link between two operations is caught by the next one.
   */
  private dir(folder: string, create: boolean): string | null {
    if (folder === '') return this.root;
    let cur = this.root;
    let rel = '';
    for (const part of folder.split('/')) {
      cur = path.join(cur, part);
      rel = rel === '' ? part : `${rel}/${part}`;
      let st: Stats | null = null;
      try {
        st = lstatSync(cur);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (!st) {
        if (!create) return null;
        try {
          mkdirSync(cur, 0o755);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        st = lstatSync(cur);
      }
      if (!st.isDirectory()) {
        throw new CofferError('VAULT_TAMPERED', `${rel}/ in the vault at ${this.root} is ${kindOf(st)}, not a folder: coffer neither reads nor writes through it (remove it from the vault folder)`);
      }
    }
    return cur;
  }

  /** Absolute path of `key`, its folder checked (null if the folder is absent and not created). */
  private file(key: string, create = false): string | null {
    checkKey(key);
    const i = key.lastIndexOf('/');
    const d = this.dir(i < 0 ? '' : key.slice(0, i), create);
    return d === null ? null : path.join(d, i < 0 ? key : key.slice(i + 1));
  }

  private tempPath(): string {
    return path.join(this.dir(TMP_FOLDER, true) as string, tempName());
  }

  async get(key: string): Promise<Buffer | null> {
    const file = this.file(key);
    if (file === null) return null;
    return readObjectSync(file, key, objectLimit(key));
  }

  async getMany(keys: readonly string[]): Promise<Fetched[]> {
    // Small records: synchronous reads in slices are several times faster than one promise per file;
    // the event loop gets a turn between slices. Each folder is checked once per call.
    const out: Fetched[] = [];
    const dirs = new Map<string, string | null>();
    for (let i = 0; i < keys.length; i += 256) {
      for (const k of keys.slice(i, i + 256)) {
        checkKey(k);
        const slash = k.lastIndexOf('/');
        const folder = slash < 0 ? '' : k.slice(0, slash);
        if (!dirs.has(folder)) dirs.set(folder, this.dir(folder, false));
        const d = dirs.get(folder);
        if (d === null || d === undefined) {
          out.push(null);
          continue;
        }
        try {
          out.push(readObjectSync(path.join(d, k.slice(slash + 1)), k, objectLimit(k)));
        } catch (e) {
          out.push(isCofferError(e) ? e : new CofferError('IO', `${k}: ${(e as Error).message}`, { cause: e }));
        }
      }
      if (i + 256 < keys.length) await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  async stamp(folder: string): Promise<string | null> {
    try {
      const d = folder === '' ? this.root : this.dir(folder, false);
      if (d === null) return null;
      const st = await lstat(d, { bigint: true });
      return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
    } catch {
      return null;
    }
  }

  /** Entries of a folder: regular files, and anything else (links, special files, subfolders) to report. */
  private async entries(folder: string): Promise<{ dir: string; names: { name: string; regular: boolean }[] }> {
    const dir = folder === '' ? this.root : this.dir(folder, false);
    if (dir === null) return { dir: '', names: [] };
    try {
      const ents = await readdir(dir, { withFileTypes: true });
      // Subfolders are listed too (as not regular): a folder where an object should be is reported, not skipped silently.
      return { dir, names: ents.map((d) => ({ name: d.name, regular: d.isFile() })) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { dir, names: [] };
      throw e;
    }
  }

  async listNames(folder: string): Promise<string[]> {
    return (await this.entries(folder)).names.map((n) => n.name);
  }

  private async commitTemp(tmp: string, key: string): Promise<void> {
    const dest = this.file(key, true) as string;
    await rename(tmp, dest);
    if (this.durable) fsyncDir(path.dirname(dest));
  }

  /** Runs `fill` on a fresh temporary path; the temporary file is removed if `fill` fails. */
  private async withTemp<T>(fill: (tmp: string) => Promise<T>): Promise<T> {
    const tmp = this.tempPath();
    try {
      return await fill(tmp);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  /** Creates `tmp` and hands `write` its open handle; closes it afterwards. */
  private async withNewFile<T>(tmp: string, write: (fh: FileHandle) => Promise<T>): Promise<T> {
    const fh = await open(tmp, CREATE_FLAGS, 0o644);
    try {
      return await write(fh);
    } finally {
      await fh.close();
    }
  }

  /** Streams `source` into a new file `tmp`; returns the bytes written. */
  private async streamInto(tmp: string, source: Readable, signal?: AbortSignal): Promise<number> {
    let bytes = 0;
    const fh = await open(tmp, CREATE_FLAGS, 0o644);
    const out = fh.createWriteStream({ highWaterMark: 1 << 20 });
    out.on('error', () => undefined); // reported through the pipeline below; never an uncaught re-emit
    source.on('data', (c: Buffer) => { bytes += c.length; });
    try {
      await pipeline(source, out, signal ? { signal } : {});
    } finally {
      await fh.close().catch(() => undefined);
    }
    return bytes;
  }

  async readExact(key: string, size: number): Promise<Buffer | null> {
    const { folder, name } = FsStorage.split(key);
    const pin = this.pinned(folder, false);
    if (pin === null) return null;
    let fd: number;
    try {
      fd = openSync(pin.at(name), READ_FLAGS);
    } catch {
      return null; // absent, a link (ELOOP), …: the stream path reports it
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size !== size) return null;
      const buf = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        const n = readSync(fd, buf, off, size - off, off);
        if (n === 0) return null; // shrank meanwhile
        off += n;
      }
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  private async datasync(file: string): Promise<void> {
    const fh = await open(file, SYNC_FLAGS);
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
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
      if (this.durable) await this.datasync(tmp);
      await this.commitTemp(tmp, key);
      return bytes;
    });
  }

  /** Makes many just-written files durable before they are renamed into place (durable.ts: one syncfs per batch on Linux). */
  private async flushFiles(paths: readonly string[]): Promise<void> {
    if (!this.durable) return;
    await syncBatch(paths, [this.root]);
  }

  async putMany(items: readonly { key: string; data: Uint8Array | string }[]): Promise<void> {
    const staged: { tmp: string; key: string }[] = [];
    try {
      const dir = this.dir(TMP_FOLDER, true) as string;
      for (const [i, it] of items.entries()) {
        const tmp = path.join(dir, tempName());
        staged.push({ tmp, key: it.key });
        writeNewSync(tmp, it.data);
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
    const dirs = new Map<string, string>();
    const dests = staged.map((s) => {
      checkKey(s.key);
      const slash = s.key.lastIndexOf('/');
      const folder = slash < 0 ? '' : s.key.slice(0, slash);
      let d = dirs.get(folder);
      if (d === undefined) {
        d = this.dir(folder, true) as string;
        dirs.set(folder, d);
      }
      return path.join(d, s.key.slice(slash + 1));
    });
    staged.forEach((x, i) => renameSync(x.tmp, dests[i] as string));
    if (this.durable) for (const d of dirs.values()) fsyncDir(d);
  }

  stage(source: Readable, signal?: AbortSignal): Promise<StagedObject> {
    return this.withTemp(async (tmp) => ({ bytes: await this.streamInto(tmp, source, signal), token: tmp }));
  }

  stageWith(write: (fh: FileHandle) => Promise<number>): Promise<StagedObject> {
    return this.withTemp(async (tmp) => ({ bytes: await this.withNewFile(tmp, write), token: tmp }));
  }

  async stageBytes(data: Uint8Array, key?: string): Promise<StagedObject> {
    if (key !== undefined) {
      // A new immutable object under a fresh random name: created in place (O_EXCL | O_NOFOLLOW, never
      // over or through anything), in its pinned folder; no temp file, no rename. `commit` syncs it.
      // Written synchronously: for small files a thread-pool round trip per step costs more CPU than the
      // system call itself (measured: about 3× for 4 KiB files), and right after the folder check.
      const { folder, name } = FsStorage.split(key);
      const pin = this.pinned(folder, true) as PinnedDir;
      writeNewOrRemove(pin.at(name), data);
      const real = path.join(pin.path, name);
      return { bytes: data.byteLength, token: real, placed: key };
    }
    return this.withTemp((tmp) => {
      // Small objects: a synchronous write costs a few microseconds, a thread-pool round trip far more.
      writeNewSync(tmp, data);
      return Promise.resolve({ bytes: data.byteLength, token: tmp });
    });
  }

  async commit(items: readonly { staged: StagedObject; key: string }[]): Promise<void> {
    for (const it of items) {
      if (it.staged.placed !== undefined && it.staged.placed !== it.key) throw new CofferError('INTERNAL', `${it.staged.placed} was staged in place, not as ${it.key}`);
    }
    await this.flushFiles(items.map((it) => it.staged.token));
    await this.renameAll(items.filter((i) => i.staged.placed === undefined).map((i) => ({ tmp: i.staged.token, key: i.key })));
    // Objects created in place: their data is durable; now their folders' entries.
    if (this.durable) {
      const folders = new Set(items.filter((i) => i.staged.placed !== undefined).map((i) => FsStorage.split(i.key).folder));
      for (const f of folders) {
        const pin = this.pinned(f, false);
        if (pin) pin.sync();
      }
    }
  }

  async discard(staged: StagedObject): Promise<void> {
    if (staged.placed !== undefined) await this.delete(staged.placed).catch(() => undefined);
    else await unlink(staged.token).catch(() => undefined);
  }

  getStream(key: string, expectedSize?: number): Readable {
    let fh: FileHandle | null = null;
    let pos = 0;
    let end = 0;
    // 256 KiB reads: a fresh buffer much larger than this is slower to fill (page faults; see
    // OUTPUT_SLICE in format/stream.ts), and this still keeps the syscalls few.
    const CHUNK = 256 * 1024;
    return new Readable({
      highWaterMark: CHUNK,
      construct: (cb) => {
        let file: string | null;
        try {
          file = this.file(key);
        } catch (e) {
          cb(e as Error);
          return;
        }
        if (file === null) {
          cb(Object.assign(new Error(`ENOENT: no such file or directory, open '${key}'`), { code: 'ENOENT' }));
          return;
        }
        openObject(file, key, expectedSize).then((o) => {
          fh = o.fh;
          end = o.size;
          cb();
        }, (e: Error) => cb(e));
      },
      read() {
        const want = Math.min(CHUNK, end - pos);
        if (want <= 0 || !fh) {
          this.push(null);
          return;
        }
        const buf = Buffer.allocUnsafe(want);
        fh.read(buf, 0, want, pos).then(({ bytesRead }) => {
          if (bytesRead === 0) {
            this.push(null); // shrank meanwhile: the reader (decryption) reports a truncated object
            return;
          }
          pos += bytesRead;
          this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
        }, (e: Error) => this.destroy(e));
      },
      destroy(err, cb) {
        const h = fh;
        fh = null;
        if (h) h.close().then(() => cb(err), () => cb(err));
        else cb(err);
      },
    });
  }

  async list(folder: string): Promise<ObjectInfo[]> {
    const { dir, names } = await this.entries(folder);
    const out: ObjectInfo[] = [];
    const CONC = 64;
    for (let i = 0; i < names.length; i += CONC) {
      const part = await Promise.all(names.slice(i, i + CONC).map(async ({ name }) => {
        try {
          const st = await lstat(path.join(dir, name), { bigint: false });
          return { name, size: st.size, mtimeMs: st.mtimeMs, tag: `${st.ino}:${st.size}:${st.mtimeMs}`, regular: st.isFile() };
        } catch {
          return null; // removed meanwhile
        }
      }));
      for (const p of part) if (p) out.push(p);
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    if (file === null) return;
    try {
      await unlink(file); // removes a link itself, never what it points to
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
  }

  async size(key: string): Promise<number | null> {
    const file = this.file(key);
    if (file === null) return null;
    try {
      const st = await lstat(file);
      return st.isFile() ? st.size : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async sweepTemp(): Promise<string[]> {
    const { dir, names } = await this.entries(TMP_FOLDER);
    const removed: string[] = [];
    for (const { name, regular } of names) {
      if (!regular || ownTempKind(name) !== 'tmp') continue;
      const o = ownerOf(name);
      if (!o || o.host !== HOST || pidAlive(o.pid)) continue;
      try {
        await unlink(path.join(dir, name));
        removed.push(`${TMP_FOLDER}/${name}`);
      } catch {
        /* gone meanwhile, or not ours to remove */
      }
    }
    return removed;
  }

  /** The lock file's text; null if absent; false if it is not a small regular file (a link, a FIFO…). */
  private readLock(file: string): string | null | false {
    try {
      const b = readObjectSync(file, LOCK_KEY, 4096);
      return b === null ? null : b.toString('utf8');
    } catch (e) {
      return isCofferError(e) ? false : null;
    }
  }

  async lock(timeoutMs = 60_000): Promise<() => Promise<void>> {
    const file = path.join(this.dir(TMP_FOLDER, true) as string, 'lock');
    const me: LockOwner = { host: HOST, pid: process.pid, since: new Date().toISOString() };
    const token = JSON.stringify(me);
    const deadline = Date.now() + timeoutMs;
    let delay = 5;
    for (;;) {
      try {
        try {
          writeNewSync(file, token);
        } catch (e) {
          // Created but not written (a full disk): remove the empty lock before reporting.
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(file).catch(() => undefined);
          throw e;
        }
        let released = false;
        return async () => {
          if (released) return;
          released = true;
          if (this.readLock(file) === token) await unlink(file).catch(() => undefined);
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      // Held: steal it only if its owner is a dead process on this host (a crash or SIGKILL).
      const text = this.readLock(file);
      if (text === false) {
        // A link, FIFO or oversized file planted as the lock: not a lock; removed (a link itself, never its target).
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (text !== null) {
        let owner: LockOwner | null = null;
        try {
          owner = JSON.parse(text) as LockOwner;
        } catch {
          owner = null;
        }
        if (owner !== null && (typeof owner !== 'object' || typeof owner.host !== 'string' || typeof owner.pid !== 'number')) owner = null;
        const stale = owner === null
          ? Date.now() - ((await lstat(file).catch(() => null))?.mtimeMs ?? Date.now()) > 10_000
          : owner.host === HOST ? !pidAlive(owner.pid) : false;
        if (stale) {
          // Re-read right before removing, so that a lock just taken by someone else survives.
          const again = this.readLock(file);
          if (again === text) await unlink(file).catch(() => undefined);
          continue;
        }
        if (owner && owner.host !== HOST) {
          // Another machine's lock reached us through a sync client: it does not guard this host.
          const again = this.readLock(file);
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
