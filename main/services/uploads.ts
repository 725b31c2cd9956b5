/**
 * Browser shell: files dropped on the window arrive as uploads (the browser has no paths to give).
 * files:uploadStart announces the files (relative paths and sizes) and starts one add job; each
 * file's bytes then stream in (PUT /upload/ID/N, see main/web/server.ts) and are encrypted as they
 * arrive, with backpressure, into a staged blob of the vault (constant memory; no plaintext copy is
 * written anywhere). Once every file has arrived, the job commits them, in order, as new entries (or
 * new versions). Cancelling the job stops the uploads and drops every staged blob.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform, pipeline, type Readable } from 'node:stream';
import { CofferError, isCofferError } from '../core/errors';
import type { StagedFile } from '../core/vault';
import type { VaultService } from './vaults';
import type { OpenVault } from './vault-port';

interface UploadFile {
  readonly rel: string;
  readonly size: number;
  received: number;
  state: 'waiting' | 'receiving' | 'done';
  staged: StagedFile | null;
}

interface Upload {
  readonly id: string;
  jobId: string;
  readonly to: string;
  readonly files: UploadFile[];
  readonly folders: string[];
  readonly controller: AbortController;
  /** The unlocked vault, once the add job runs (uploads that arrive earlier wait for it). */
  vault: OpenVault | null;
  /** Resolvers woken when a file finished, bytes arrived, the job started, or it was cancelled. */
  readonly waiters: Set<() => void>;
}

const wake = (u: Upload): void => {
  const w = [...u.waiters];
  u.waiters.clear();
  for (const f of w) f();
};
const changed = (u: Upload): Promise<void> => new Promise<void>((resolve) => {
  if (u.controller.signal.aborted) resolve();
  else u.waiters.add(resolve);
});
const cancelled = (): CofferError => new CofferError('CANCELLED', 'the upload was cancelled');

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

  constructor(private readonly vaults: VaultService) {}

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
    const id = randomBytes(16).toString('hex');
    const controller = new AbortController();
    const upload: Upload = {
      id, jobId: '', to, controller, vault: null, waiters: new Set(),
      files: files.map((f) => ({ rel: f.path, size: f.size, received: 0, state: 'waiting', staged: null })),
      folders: folderSegs.map((s) => s.join('/')),
    };
    controller.signal.addEventListener('abort', () => wake(upload), { once: true });
    const total = files.reduce((a, f) => a + f.size, 0);
    const title = top.length === 1 ? (top[0] as string) : `${top.length} items`;
    const vpath = (rel: string): string => path.posix.join(to, ...uploadSegments(rel));
    upload.jobId = this.vaults.addUploaded(vaultId, to, title, async (vault, ctl) => {
      ctl.signal.addEventListener('abort', () => controller.abort(ctl.signal.reason), { once: true });
      upload.vault = vault;
      wake(upload);
      const n = upload.files.length;
      // Bytes are encrypted as they arrive; report them, until every file is in.
      for (;;) {
        if (controller.signal.aborted) throw cancelled();
        const current = upload.files.find((f) => f.state === 'receiving');
        ctl.report({ filesDone: upload.files.filter((f) => f.state === 'done').length, filesTotal: n, bytesDone: upload.files.reduce((a, f) => a + f.received, 0), bytesTotal: total, current: current ? vpath(current.rel) : null });
        if (upload.files.every((f) => f.state === 'done')) break;
        await changed(upload);
      }
      for (const f of upload.folders) {
        await vault.mkdir(vpath(f)).catch((e: unknown) => {
          if (!isCofferError(e) || e.code !== 'EXISTS') throw e;
        });
      }
      for (const f of upload.files) {
        if (controller.signal.aborted) throw cancelled();
        const staged = f.staged as StagedFile;
        f.staged = null; // committed or discarded by commitUpload, either way
        await vault.commitUpload(staged, vpath(f.rel));
      }
      ctl.report({ filesDone: n, filesTotal: n, bytesDone: total, bytesTotal: total, current: null });
    }, async () => {
      this.uploads.delete(id);
      controller.abort();
      await this.discardAll(upload);
    });
    this.uploads.set(id, upload);
    return { jobId: upload.jobId, uploadId: id };
  }

  /** Receives file `index` of an upload from `body` (an HTTP request); resolves once it is encrypted and staged. */
  async receive(uploadId: string, index: number, body: Readable): Promise<void> {
    const u = this.uploads.get(uploadId);
    const f = u?.files[index];
    if (!u || !f) throw new CofferError('NOT_FOUND', 'no such upload (finished, cancelled, or never started)');
    if (u.controller.signal.aborted) throw cancelled();
    if (f.state !== 'waiting') throw new CofferError('EXISTS', `${f.rel} was already sent`);
    f.state = 'receiving';
    try {
      while (!u.vault) {
        if (u.controller.signal.aborted) throw cancelled();
        await changed(u);
      }
      let last = 0;
      const count = new Transform({
        transform: (chunk: Buffer, _enc, cb) => {
          f.received += chunk.length;
          if (f.received > f.size) return cb(new CofferError('USAGE', `${f.rel} is larger than announced`));
          // Wake the job (progress) about every megabyte.
          if (f.received - last >= 1 << 20) {
            last = f.received;
            wake(u);
          }
          cb(null, chunk);
        },
      });
      const source = pipeline(body, count, () => undefined);
      const staged = await u.vault.stageUpload(source, u.controller.signal);
      if (f.received !== f.size || u.controller.signal.aborted || !this.uploads.has(uploadId)) {
        await u.vault.discardUpload(staged);
        if (u.controller.signal.aborted || !this.uploads.has(uploadId)) throw cancelled();
        throw new CofferError('USAGE', `${f.rel} arrived incomplete (${f.received} of ${f.size} bytes)`);
      }
      f.staged = staged;
      f.state = 'done';
    } catch (e) {
      f.received = 0;
      f.state = 'waiting';
      throw u.controller.signal.aborted ? cancelled() : e;
    } finally {
      wake(u);
    }
  }

  private async discardAll(u: Upload): Promise<void> {
    for (const f of u.files) {
      const staged = f.staged;
      f.staged = null;
      if (staged && u.vault) await u.vault.discardUpload(staged).catch(() => undefined);
    }
  }

  cancelAll(): void {
    for (const u of this.uploads.values()) u.controller.abort();
  }
}
