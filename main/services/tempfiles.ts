/**
 * A private temp folder (0700) for files decrypted to be opened with their default app. Its
 * contents are overwritten with zeros and removed when their vault locks and when the app exits.
 */
import { promises as fsp, mkdtempSync, rmSync, type Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export class PrivateTemp {
  readonly root: string;
  constructor(base: string = os.tmpdir()) {
    this.root = mkdtempSync(path.join(base, 'coffer-open-'));
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

  async wipeAll(): Promise<number> {
    const n = await wipeTree(this.root);
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    return n;
  }

  /** Last resort at process exit (synchronous; no overwrite). */
  removeSync(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

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
