/**
 * Browser shell: files dropped on the window arrive as uploads (the browser has no paths to give).
 * files:uploadStart announces the files (relative paths and sizes) and starts one add job; each
 * file's bytes then stream in (PUT /upload/ID/N, see main/web/server.ts) into the private temp
 * folder (0700, wiped on lock and exit), with backpressure, so memory stays constant; as soon as
 * every file has arrived the vault encrypts them (the core adds from paths) and the staged copies
 * are overwritten and removed. Cancelling the job stops the uploads and the add alike.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CofferError } from '../core/errors';
import type { PrivateTemp } from './tempfiles';
import type { VaultService } from './vaults';

interface UploadFile {
  readonly rel: string;
  readonly size: number;
  received: number;
  state: 'waiting' | 'receiving' | 'done';
}

interface Upload {
  readonly id: string;
  readonly jobId: string;
  readonly dir: string;
  readonly files: UploadFile[];
  readonly controller: AbortController;
  /** Wakes the job when a file finished or bytes arrived. */
  changed: () => void;
}

const MAX_SEGMENT = 255;
const hasControl = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** Checks one relative path from the window ("Reports/2026/plan.txt"); returns its segments. */
export function uploadSegments(rel: string): string[] {
  const parts = rel.split('/');
  for (const p of parts) {
    if (!p || p === '.' || p === '..' || p.length > MAX_SEGMENT || p.includes('\\') || hasControl(p)) {
      throw new CofferError('USAGE', `cannot upload "${[...rel].map((c) => (hasControl(c) ? '?' : c)).join('')}": not a plain relative path`);
    }
  }
  return parts;
}

export class UploadService {
  private readonly uploads = new Map<string, Upload>();

  constructor(private readonly vaults: VaultService, private readonly temp: PrivateTemp) {}

  async start(vaultId: string, to: string, files: { path: string; size: number }[], folders: string[]): Promise<{ jobId: string; uploadId: string }> {
    const segs = files.map((f) => uploadSegments(f.path));
    const folderSegs = folders.map((f) => uploadSegments(f));
    const seen = new Set<string>();
    for (const s of segs) {
      const k = s.join('/');
      if (seen.has(k)) throw new CofferError('USAGE', `${k} appears twice in the upload`);
      seen.add(k);
    }
    const top = [...new Set([...segs, ...folderSegs].map((s) => s[0] as string))];
    const dir = path.dirname(await this.temp.pathFor(vaultId, 'upload'));
    for (const f of folderSegs) await fsp.mkdir(path.join(dir, ...f), { recursive: true, mode: 0o700 });
    const id = randomBytes(16).toString('hex');
    const controller = new AbortController();
    const upload: Upload = { id, jobId: '', dir, files: files.map((f) => ({ rel: f.path, size: f.size, received: 0, state: 'waiting' })), controller, changed: () => undefined };
    const total = files.reduce((a, f) => a + f.size, 0);
    const title = top.length === 1 ? (top[0] as string) : `${top.length} items`;
    const jobId = this.vaults.addUploaded(vaultId, to, title, total, async (signal, onReceived) => {
      signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
      // Wait until every file has arrived, reporting bytes as they come.
      for (;;) {
        if (signal.aborted) throw new CofferError('CANCELLED', 'cancelled');
        onReceived(upload.files.reduce((a, f) => a + f.received, 0));
        if (upload.files.every((f) => f.state === 'done')) break;
        await new Promise<void>((resolve) => {
          upload.changed = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
      return top.map((t) => path.join(dir, t));
    }, async () => {
      this.uploads.delete(id);
      await this.temp.wipe(dir).catch(() => undefined);
    });
    (upload as { jobId: string }).jobId = jobId;
    this.uploads.set(id, upload);
    return { jobId, uploadId: id };
  }

  /** Receives file `index` of an upload from `body` (an HTTP request); resolves when it is on disk. */
  async receive(uploadId: string, index: number, body: Readable): Promise<void> {
    const u = this.uploads.get(uploadId);
    const f = u?.files[index];
    if (!u || !f) throw new CofferError('NOT_FOUND', 'no such upload (finished, cancelled, or never started)');
    if (u.controller.signal.aborted) throw new CofferError('CANCELLED', 'the upload was cancelled');
    if (f.state !== 'waiting') throw new CofferError('EXISTS', `${f.rel} was already sent`);
    f.state = 'receiving';
    const out = path.join(u.dir, ...uploadSegments(f.rel));
    await fsp.mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
    let last = 0;
    const count = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        f.received += chunk.length;
        if (f.received > f.size) return cb(new CofferError('USAGE', `${f.rel} is larger than announced`));
        // Wake the job (progress) about every megabyte.
        if (f.received - last >= 1 << 20) {
          last = f.received;
          u.changed();
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, count, createWriteStream(out, { flags: 'wx', mode: 0o600 }), { signal: u.controller.signal });
      if (f.received !== f.size) throw new CofferError('USAGE', `${f.rel} arrived incomplete (${f.received} of ${f.size} bytes)`);
      f.state = 'done';
    } catch (e) {
      await fsp.rm(out, { force: true });
      f.received = 0;
      f.state = 'waiting';
      throw u.controller.signal.aborted ? new CofferError('CANCELLED', 'the upload was cancelled') : e;
    } finally {
      u.changed();
    }
  }

  cancelAll(): void {
    for (const u of this.uploads.values()) u.controller.abort();
  }
}
