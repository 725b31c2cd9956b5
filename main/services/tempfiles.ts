/**
 * A private temp folder (0700) for files decrypted to be opened with their default app. Its
 * contents are overwritten with zeros and removed when their vault locks and when the app exits.
 * A crash skips that, so at startup the folders of earlier runs whose process is gone are swept
 * (sweepStale): each folder names its owner's pid in an `owner` file.
 */
import { promises as fsp, constants as fsc, mkdtempSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export class PrivateTemp {
  readonly root: string;
  constructor(base: string = os.tmpdir()) {
    this.root = mkdtempSync(path.join(base, PREFIX));
    writeFileSync(path.join(this.root, OWNER), `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  }

  /**
   * Overwrites and removes the "Open" folders that earlier runs left in `base` (a crash, a kill):
   * only real folders (not links) named like ours, owned by this user, whose owner process is no
   * longer running (or, for folders without an owner file, untouched for a minute). Returns how
   * many files were wiped.
   */
  static async sweepStale(base: string = os.tmpdir(), now: () => number = Date.now): Promise<{ folders: number; files: number }> {
    let names: string[];
    try {
      names = (await fsp.readdir(base)).filter((n) => n.startsWith(PREFIX));
    } catch {
      return { folders: 0, files: 0 };
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    let folders = 0;
    let files = 0;
    for (const n of names) {
      const dir = path.join(base, n);
      const st = await fsp.lstat(dir).catch(() => null);
      if (!st || !st.isDirectory() || (uid !== null && st.uid !== uid)) continue;
      const pid = await readOwner(path.join(dir, OWNER));
      if (pid === process.pid) continue;
      if (pid !== null ? alive(pid) : now() - st.mtimeMs < 60_000) continue;
      const wiped = await wipeTree(dir).catch(() => 0);
      files += Math.max(0, wiped - (pid !== null ? 1 : 0)); // the owner file is not an opened file
      folders++;
    }
    return { folders, files };
  }

  /** A fresh folder for one vault's file; the file keeps its own name so the right app opens it. */
  async pathFor(vaultId: string, name: string): Promise<string> {
    const dir = path.join(this.root, safe(vaultId), randomBytes(8).toString('hex'));
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    return path.join(dir, path.basename(name) || 'file');
  }

  /** Overwrites and removes every file opened from one vault. */
  async wipeVault(vaultId: string): Promise<number> {
    return wipeTree(path.join(this.root, safe(vaultId)));
  }

  /** Overwrites and removes one folder this temp folder holds (e.g. an upload's staged files). */
  async wipe(dir: string): Promise<number> {
    const rel = path.relative(this.root, path.resolve(dir));
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${dir} is not inside the private temp folder`);
    return wipeTree(dir);
  }

  async wipeAll(): Promise<number> {
    const n = await wipeTree(this.root);
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(this.root, OWNER), `${process.pid}\n`, { mode: 0o600 });
    return Math.max(0, n - 1); // the owner file is not an opened file
  }

  /** Last resort at process exit (synchronous; no overwrite). */
  removeSync(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const PREFIX = 'coffer-open-';
const OWNER = 'owner';
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

async function wipeTree(dir: string): Promise<number> {
  let count = 0;
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) count += await wipeTree(p);
    else if (e.isFile()) {
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
        /* read-only or already gone: removed below */
      }
      count++;
    }
  }
  await fsp.rm(dir, { recursive: true, force: true });
  return count;
}
