/**
 * Browser shell: files dropped on the window arrive as uploads (the browser has no paths to give).
 * files:uploadStart announces the files (relative paths and sizes) and starts one add job; each
 * file's bytes then stream in (PUT /upload/ID/N, see main/web/server.ts) and are encrypted as they
 * arrive, with backpressure, into a staged blob of the vault (constant memory; no plaintext copy is
 * written anywhere). Each file is committed to the vault (a new entry, or the next version of the
 * file there) as soon as it has arrived completely, so the file list fills while a long upload runs
 * (issue 11 item 2). Cancelling the job stops the uploads and drops every staged blob not yet
 * committed; what was committed stays, as with an add from disk. A client that hangs up mid-file
 * fails the job (its staged bytes are dropped; nothing is left half-written, the process goes on).
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
  /** waiting -> receiving -> staged (encrypted, not yet in the vault) -> committed. */
  state: 'waiting' | 'receiving' | 'staged' | 'committed';
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
  /** Counts wake-ups, so a change during an await is never missed. */
  changes: number;
  /** Why the upload failed, when it was not cancelled by the person (a client that hung up, a file larger than announced). */
  failure: unknown;
}

const wake = (u: Upload): void => {
  u.changes++;
  const w = [...u.waiters];
  u.waiters.clear();
  for (const f of w) f();
};
const changed = (u: Upload, since: number): Promise<void> => new Promise<void>((resolve) => {
  if (u.controller.signal.aborted || u.changes !== since) resolve();
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
      id, jobId: '', to, controller, vault: null, waiters: new Set(), changes: 0, failure: null,
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
      let done = 0;
      const report = (): void => {
        const current = upload.files.find((f) => f.state === 'receiving');
        ctl.report({ filesDone: done, filesTotal: n, bytesDone: upload.files.reduce((a, f) => a + f.received, 0), bytesTotal: total, current: current ? vpath(current.rel) : null });
      };
      // Bytes are encrypted as they arrive; each file is committed as soon as it is complete.
      for (;;) {
        const since = upload.changes;
        if (controller.signal.aborted) throw upload.failure ?? cancelled();
        for (const f of upload.files) {
          if (f.state !== 'staged' || !f.staged) continue;
          if (controller.signal.aborted) throw upload.failure ?? cancelled();
          const staged = f.staged;
          f.staged = null; // commitUpload owns it now (commits it, or discards it on failure)
          f.state = 'committed';
          await vault.commitUpload(staged, vpath(f.rel));
          done++;
          report(); // the file list shows it now (issue 11 item 2)
        }
        report();
        if (done === n) break;
        await changed(upload, since);
      }
      for (const f of upload.folders) {
        await vault.mkdir(vpath(f)).catch((e: unknown) => {
          if (!isCofferError(e) || e.code !== 'EXISTS') throw e;
        });
      }
    }, async () => {
      this.uploads.delete(id);
      controller.abort();
      await this.discardAll(upload);
    }, { name: top[0] ?? '', count: top.length });
    this.uploads.set(id, upload);
    return { jobId: upload.jobId, uploadId: id };
  }

  /**
   * Receives file `index` of an upload from `body` (an HTTP request); resolves once it is encrypted and
   * staged (the job then commits it). A body that fails or ends early fails the whole upload.
   */
  async receive(uploadId: string, index: number, body: Readable): Promise<void> {
    const u = this.uploads.get(uploadId);
    const f = u?.files[index];
    if (!u || !f) throw new CofferError('NOT_FOUND', 'no such upload (finished, cancelled, or never started)');
    if (u.controller.signal.aborted) throw cancelled();
    if (f.state !== 'waiting') throw new CofferError('EXISTS', `${f.rel} was already sent`);
    f.state = 'receiving';
    const gone = (): boolean => u.controller.signal.aborted || !this.uploads.has(uploadId);
    try {
      while (!u.vault) {
        if (gone()) throw cancelled();
        await changed(u, u.changes);
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
      if (f.received !== f.size || gone()) {
        await u.vault.discardUpload(staged).catch(() => undefined);
        if (gone()) throw cancelled();
        throw new CofferError('USAGE', `${f.rel} arrived incomplete (${f.received} of ${f.size} bytes)`);
      }
      f.staged = staged;
      f.state = 'staged';
    } catch (e) {
      f.state = 'waiting';
      if (gone()) throw cancelled();
      // A client that hung up (or sent more or less than it announced): the upload fails as a whole;
      // what is committed stays, the rest is dropped.
      u.failure = isCofferError(e) && e.code !== 'CANCELLED' ? e : new CofferError('IO', `the upload of ${f.rel} was interrupted (${f.received} of ${f.size} bytes arrived)`);
      u.controller.abort(u.failure);
      throw u.failure;
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
