/**
 * Writing a whole tree of plaintext out of a vault (`vault get` of a folder), fast and confined.
 *
 * Confinement (the rules of confine.ts, kept for every file): each entry name is checked again
 * (nameProblem); each folder is created without following anything and then PINNED (pinned.ts): opened
 * once with O_DIRECTORY | O_NOFOLLOW through its parent's descriptor, starting from the destination. Files
 * are created through that descriptor with O_CREAT | O_EXCL | O_NOFOLLOW, so a folder checked once and
 * then swapped for a link by an attacker is never written through, and no per-file realpath is needed.
 *
 * Durability, one sync per batch: each file's plaintext goes to a partial file beside its final name
 * (`.NAME.HOST~PID~RANDOM.coffer-partial`, confine.ts). When a batch is complete, one sync makes all of
 * it durable (durable.ts), then the partials are renamed to their final names and each folder is synced
 * once. A crash before the renames leaves only partial files (removed by the next `get` into that folder,
 * `sweepPartials`); after, complete files. Never a final name with partial or truncated plaintext.
 * A failure removes the partials of the batch in progress; batches already renamed stay (complete files).
 *
 * Per file that leaves 4 system calls in a folder this run created (create, write, close, rename) plus a
 * share of the batch sync; folders that existed before are swept once, and each file name in them is
 * checked (lstat) unless overwriting.
 */
import { closeSync, lstatSync, openSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CofferError } from '../errors';
import { partialName, sweepPartials } from './confine';
import { syncBatch } from './durable';
import { PinnedDir, PinRefused } from './pinned';
import { nameProblem } from './validate';

/** New partial files: never reuses, truncates or follows anything already there. */
export const NEW_FILE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0);

export interface OutputTreeOptions {
  /** Replace files that exist (default false: EXISTS). */
  readonly overwrite?: boolean;
  /** Sync each batch before its renames (default true). */
  readonly durable?: boolean;
  /** A batch is renamed into place after this many files (default 4096)… */
  readonly batchFiles?: number;
  /** …or this many bytes (default 256 MiB). */
  readonly batchBytes?: number;
}

interface Folder {
  readonly pin: PinnedDir;
  /** Partial files in it not yet renamed or dropped: while any, it stays pinned. */
  uses: number;
  /** Made by this run: empty when made, so no name in it needs checking and no partial sweeping. */
  readonly created: boolean;
  /** Display path (messages). */
  readonly shown: string;
}

interface Pending {
  readonly folder: Folder;
  readonly partial: string;
  readonly name: string;
}

/** At most this many folders stay pinned (descriptors) at once; the batch is flushed to release them. */
const MAX_PINS = 128;

function refusal(e: unknown, shown: string): unknown {
  if (!(e instanceof PinRefused)) return e;
  if (e.why === 'link') return new CofferError('IO', `${shown} is a symbolic link; refusing to write through it`);
  if (e.why === 'not-folder') return new CofferError('IO', `${shown} is not a folder; refusing to write through it`);
  return new CofferError('IO', `${shown} disappeared while writing into it`);
}

export class OutputTree {
  private readonly folders = new Map<string, Folder>();
  private pending: Pending[] = [];
  /** Partial files being written (not yet complete): removed on abort. */
  private readonly writing = new Set<string>();
  private pendingBytes = 0;
  private readonly devs = new Map<number, string>();
  /** Parents of folders made since the last flush: their new entries are synced with the batch. */
  private fresh = new Set<Folder>();
  private closed = false;
  private readonly prefix = randomBytes(3).toString('hex');
  private counter = 0;
  private readonly overwrite: boolean;
  private readonly durable: boolean;
  private readonly batchFiles: number;
  private readonly batchBytes: number;

  private constructor(private readonly root: Folder, opts: OutputTreeOptions) {
    this.overwrite = opts.overwrite ?? false;
    this.durable = opts.durable ?? true;
    this.batchFiles = opts.batchFiles ?? 4096;
    this.batchBytes = opts.batchBytes ?? 256 << 20;
    this.folders.set('[]', root);
    this.devs.set(root.pin.dev, root.pin.path);
  }

  /**
   * Starts writing under the existing folder `dest` (the user's choice: links in its own path are
   * followed, as any program would; nothing below it is). `created` says the caller just made it.
   */
  static async open(dest: string, opts: OutputTreeOptions & { created?: boolean } = {}): Promise<OutputTree> {
    const real = await realpath(dest);
    let pin: PinnedDir;
    try {
      pin = PinnedDir.at(real);
    } catch (e) {
      throw refusal(e, dest);
    }
    return new OutputTree({ pin, uses: 0, created: opts.created ?? false, shown: dest }, opts);
  }

  /** The folder `rel` (names, one per level) under the destination, made if missing; cached for the run. */
  folder(rel: readonly string[]): Folder {
    this.usable();
    if (rel.length === 0) return this.root;
    const key = JSON.stringify(rel); // unambiguous: no name can make another folder's key
    const hit = this.folders.get(key);
    if (hit) {
      try {
        hit.pin.verify();
      } catch (e) {
        throw refusal(e, hit.shown);
      }
      return hit;
    }
    const name = rel[rel.length - 1] as string;
    checkName(name, this.root.shown);
    const parent = this.folder(rel.slice(0, -1));
    if (this.folders.size >= MAX_PINS) this.unpinIdle();
    const shown = path.join(this.root.shown, ...rel);
    let made: { dir: PinnedDir; created: boolean };
    try {
      parent.pin.verify();
      made = parent.pin.child(name, true);
    } catch (e) {
      throw refusal(e, shown);
    }
    const f: Folder = { pin: made.dir, uses: 0, created: made.created, shown };
    if (made.created) this.fresh.add(parent);
    if (!this.devs.has(f.pin.dev)) this.devs.set(f.pin.dev, f.pin.path);
    this.folders.set(key, f);
    return f;
  }

  /** Releases pinned folders that no partial file needs (keeps the root). */
  private unpinIdle(): void {
    for (const [k, f] of this.folders) {
      if (f === this.root || f.uses > 0 || this.fresh.has(f)) continue;
      f.pin.release();
      this.folders.delete(k);
    }
  }

  private usable(): void {
    if (this.closed) throw new CofferError('INTERNAL', 'output tree used after it was finished');
  }

  private swept = new Set<Folder>();

  /**
   * A new partial file for the file `rel` (its folders are made): the path to create (with
   * NEW_FILE_FLAGS) and `done`, to call once it is complete, which queues it for the next batch.
   */
  async partial(rel: readonly string[]): Promise<{ path: string; done: (bytes: number) => Promise<void>; drop: () => void; check: () => void }> {
    this.usable();
    if (rel.length === 0) throw new CofferError('INTERNAL', 'a file needs a name');
    const name = rel[rel.length - 1] as string;
    checkName(name, this.root.shown);
    const folder = this.folder(rel.slice(0, -1));
    if (!folder.created && !this.swept.has(folder)) {
      // Partial files that a killed `get` left in this folder go first (this host, dead processes only).
      this.swept.add(folder);
      await sweepPartials(folder.pin.dirPath);
    }
    if (!folder.created && !this.overwrite) {
      let exists = true;
      try {
        lstatSync(folder.pin.at(name));
      } catch {
        exists = false;
      }
      if (exists) throw new CofferError('EXISTS', `${path.join(folder.shown, name)} already exists`);
    }
    // Unique per file without a random draw each (each costs getrandom and OpenSSL's getpid): a random
    // prefix for this tree and a counter. O_EXCL still refuses anything already there.
    const partial = partialName(name, `${this.prefix}${(this.counter++ & 0xffffff).toString(16).padStart(6, '0')}`);
    const full = folder.pin.at(partial);
    this.writing.add(full);
    folder.uses++;
    let settled = false;
    return {
      path: full,
      // Path fallback: the folder is still the one checked (through a descriptor: nothing to check).
      check: () => {
        try {
          folder.pin.verify();
        } catch (e) {
          throw refusal(e, folder.shown);
        }
      },
      done: async (bytes: number) => {
        if (settled) return;
        settled = true;
        this.writing.delete(full);
        this.pending.push({ folder, partial, name });
        this.pendingBytes += bytes;
        if (this.pending.length >= this.batchFiles || this.pendingBytes >= this.batchBytes) await this.flush();
      },
      drop: () => {
        if (settled) return;
        settled = true;
        this.writing.delete(full);
        dropQuietly(folder, partial);
      },
    };
  }

  /**
   * Writes a whole small file (its bytes in memory) as a partial, queued for the next batch. Written
   * synchronously: for small files a thread-pool round trip per step costs more CPU than the system
   * call itself (about 3× for 4 KiB files), and in the path fallback it follows the folder check at once.
   */
  async writeFile(rel: readonly string[], data: Uint8Array): Promise<void> {
    const p = await this.partial(rel);
    try {
      p.check();
      const fd = openSync(p.path, NEW_FILE_FLAGS, 0o600);
      try {
        let off = 0;
        while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      p.drop();
      throw e;
    }
    await p.done(data.byteLength);
  }

  /** Makes the queued files durable (one sync), renames them to their final names, syncs their folders. */
  async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0 && this.fresh.size === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      if (this.durable) await syncBatch(batch.map((p) => p.folder.pin.at(p.partial)), [...this.devs.values()]);
      const touched = new Set<Folder>();
      for (const [i, p] of batch.entries()) {
        try {
          p.folder.pin.verify();
          renameSync(p.folder.pin.at(p.partial), p.folder.pin.at(p.name));
        } catch (e) {
          // The rest of the batch is removed: nothing partial stays behind.
          for (const q of batch.slice(i)) dropQuietly(q.folder, q.partial);
          throw refusal(e, p.folder.shown);
        }
        p.folder.uses--;
        touched.add(p.folder);
      }
      if (this.durable) {
        // The new names are durable once their folders are; folders this run made need their own
        // entry in their parent to be durable too.
        for (const f of new Set([...touched, ...this.fresh])) f.pin.sync();
        this.fresh.clear();
      }
    } catch (e) {
      for (const p of batch) dropQuietly(p.folder, p.partial);
      throw e;
    }
  }

  /** Flushes what is queued and releases the folders. */
  async finish(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.release();
    }
  }

  /** After a failure: removes every partial file not yet renamed, and releases the folders. */
  abort(): void {
    for (const p of this.pending) dropQuietly(p.folder, p.partial);
    this.pending = [];
    for (const w of this.writing) {
      try {
        unlinkSync(w);
      } catch {
        /* never created, or gone */
      }
    }
    this.writing.clear();
    this.release();
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.folders.values()) f.pin.release();
    this.folders.clear();
  }
}

/** Removes a partial file that will not be renamed (and releases its folder's use). */
function dropQuietly(folder: Folder, name: string): void {
  folder.uses = Math.max(0, folder.uses - 1);
  try {
    unlinkSync(folder.pin.at(name));
  } catch {
    /* gone already, or the folder is released */
  }
}

function checkName(name: string, root: string): void {
  const why = nameProblem(name);
  if (why !== null) throw new CofferError('VAULT_TAMPERED', `refusing to write ${JSON.stringify(name).slice(0, 200)} under ${root}: ${why}`);
}
