/**
 * A private temp folder (0700) for files decrypted to be opened with their default app. Its
 * contents are overwritten with zeros and removed when their vault locks and when the app exits.
 * A crash skips that, so at startup the folders of earlier runs whose process is gone are swept
 * (sweepStale): each folder names its owner's pid in an `owner` file.
 *
 * Save-back (saveback.ts) keeps opened copies that still hold unsaved edits: lock, quit and the
 * startup sweep pass their folders in `keep` / `spare` and leave them (and their manifests) alone.
 */
import { promises as fsp, constants as fsc, mkdtempSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { confinedPath } from '../core/vault';

export class PrivateTemp {
  readonly root: string;
  constructor(base: string = os.tmpdir()) {
    this.root = mkdtempSync(path.join(base, PREFIX));
    writeFileSync(path.join(this.root, OWNER), `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  }

  /**
   * Overwrites and removes the "Open" folders that earlier runs left in `base` (a crash, a kill):
   * only real folders (not links) named like ours, owned by this user, whose owner process is no
   * longer running (or, for folders without an owner file, untouched for a minute). Opened copies
   * `spare` approves (unsaved edits, see saveback.ts) stay, with their manifest and the owner file.
   * Returns how many files were wiped.
   */
  static async sweepStale(base: string = os.tmpdir(), now: () => number = Date.now, spare: Spare = () => false): Promise<{ folders: number; files: number }> {
    let folders = 0;
    let files = 0;
    for (const { dir, pid } of await PrivateTemp.staleRoots(base, now)) {
      // Copies that still hold unsaved edits (save-back) are spared, and so the folder and its owner file stay.
      const keep = await spareSet(dir, spare);
      const wiped = await wipeTree(dir, keep).catch(() => 0);
      files += Math.max(0, wiped - (pid !== null && keep.size === 0 ? 1 : 0)); // the owner file is not an opened file
      if (keep.size === 0 || wiped > 0) folders++;
    }
    return { folders, files };
  }

  /**
   * The "Open" folders that earlier runs left in `base`: real folders (not links) named like ours,
   * owned by this user, whose owner process is no longer running (or, without an owner file,
   * untouched for a minute).
   */
  static async staleRoots(base: string = os.tmpdir(), now: () => number = Date.now): Promise<{ dir: string; pid: number | null }[]> {
    let names: string[];
    try {
      names = (await fsp.readdir(base)).filter((n) => n.startsWith(PREFIX));
    } catch {
      return [];
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    const out: { dir: string; pid: number | null }[] = [];
    for (const n of names) {
      const dir = path.join(base, n);
      const st = await fsp.lstat(dir).catch(() => null);
      if (!st || !st.isDirectory() || (uid !== null && st.uid !== uid)) continue;
      const pid = await readOwner(path.join(dir, OWNER));
      if (pid === process.pid) continue;
      if (pid !== null ? alive(pid) : now() - st.mtimeMs < 60_000) continue;
      out.push({ dir, pid });
    }
    return out;
  }

  /** Overwrites and removes the given files or folders (an opened copy and its manifest). */
  async wipePaths(paths: readonly string[]): Promise<number> {
    let n = 0;
    for (const p of paths) {
      const st = await fsp.lstat(p).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) n += await wipeTree(p);
      else {
        await wipeFile(p);
        await fsp.rm(p, { force: true });
        n++;
      }
    }
    return n;
  }

  /** A fresh folder for one vault's file; the file keeps its own name so the right app opens it. */
  async pathFor(vaultId: string, name: string): Promise<string> {
    const dir = path.join(this.root, safe(vaultId), randomBytes(8).toString('hex'));
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // The core's output confinement (the same check every export uses): a valid entry name, no link on the way.
    return confinedPath(dir, [path.basename(name) || 'file']);
  }

  /** The folder of one vault's opened files. */
  vaultFolder(vaultId: string): string {
    return path.join(this.root, safe(vaultId));
  }

  /** Overwrites and removes one folder this temp folder holds (e.g. an upload's staged files). */
  async wipe(dir: string): Promise<number> {
    const rel = path.relative(this.root, path.resolve(dir));
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${dir} is not inside the private temp folder`);
    return wipeTree(dir);
  }

  /** Overwrites and removes every file opened from one vault, except the paths in `keep` (unsaved edits). */
  async wipeVault(vaultId: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
    return wipeTree(this.vaultFolder(vaultId), keep);
  }

  /** Overwrites and removes every opened file, except the paths in `keep` (unsaved edits). */
  async wipeAll(keep: ReadonlySet<string> = new Set()): Promise<number> {
    const ownerKept = new Set([...keep, path.join(this.root, OWNER)]);
    const n = await wipeTree(this.root, ownerKept);
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(this.root, OWNER), `${process.pid}\n`, { mode: 0o600 });
    return n;
  }

  /** Last resort at process exit (synchronous; no overwrite). Never removes copies with unsaved edits. */
  removeSync(keep: ReadonlySet<string> = new Set()): void {
    if (keep.size > 0) return;
    rmSync(this.root, { recursive: true, force: true });
  }
}

const PREFIX = 'coffer-open-';
const OWNER = 'owner';
const MANIFEST_EXT = '.open.json';
const safe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

async function readOwner(file: string): Promise<number | null> {
  try {
    const fh = await fsp.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(32);
      const { bytesRead } = await fh.read(buf, 0, 32, 0);
      const pid = Number.parseInt(buf.subarray(0, bytesRead).toString('latin1').trim(), 10);
      return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function wipeFile(p: string): Promise<void> {
  try {
    const fh = await fsp.open(p, 'r+');
    try {
      const { size } = await fh.stat();
      const zeros = Buffer.alloc(Math.min(size, 1 << 20));
      for (let off = 0; off < size; off += zeros.length) await fh.write(zeros, 0, Math.min(zeros.length, size - off), off);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* read-only or already gone: removed by the caller */
  }
}

/** Decides, for one opened copy's folder (ROOT/VAULT/ID), whether a sweep must spare it. */
export type Spare = (copyDir: string) => Promise<boolean> | boolean;

/** The copy folders (and their manifests `ID.open.json`) under a stale root that `spare` keeps. */
async function spareSet(root: string, spare: Spare): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const v of await fsp.readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!v.isDirectory()) continue;
    for (const c of await fsp.readdir(path.join(root, v.name), { withFileTypes: true }).catch(() => [])) {
      if (!c.isDirectory()) continue;
      const dir = path.join(root, v.name, c.name);
      if (await Promise.resolve(spare(dir)).catch(() => true)) {
        keep.add(dir);
        keep.add(`${dir}${MANIFEST_EXT}`);
      }
    }
  }
  if (keep.size > 0) keep.add(path.join(root, OWNER));
  return keep;
}

/**
 * Overwrites and removes the files under `dir` and then the folders left empty, except the paths in
 * `keep` (and the folders that hold them). Returns how many files were wiped.
 */
async function wipeTree(dir: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
  if (keep.has(dir)) return 0;
  let count = 0;
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  let kept = false;
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (keep.has(p) || (keep.size > 0 && e.isDirectory() && [...keep].some((k) => k.startsWith(p + path.sep)))) {
      if (e.isDirectory() && !keep.has(p)) count += await wipeTree(p, keep);
      kept = true;
      continue;
    }
    if (e.isDirectory()) count += await wipeTree(p, keep);
    else if (e.isFile()) {
      await wipeFile(p);
      if (!e.name.endsWith(MANIFEST_EXT)) count++; // a save-back manifest is not an opened file
      await fsp.rm(p, { force: true });
    } else await fsp.rm(p, { recursive: true, force: true });
  }
  if (!kept) await fsp.rm(dir, { recursive: true, force: true });
  return count;
}
