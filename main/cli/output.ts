/**
 * Output targets for the CLI. A file output is written to a private temporary file beside the
 * destination, fsynced and then moved into place, so that on any failure nothing is left at OUT and
 * an existing OUT is never clobbered without --force.
 */
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { CofferError } from '../core/errors';

export interface OutputTarget {
  /** A stream to write the output to (created on first use). */
  readonly stream: Writable;
  /** The temporary file opened for positional writes (the file-to-file fast path); null for stdout. */
  openHandle(): Promise<FileHandle | null>;
  /** Makes the output visible at its destination. */
  commit(): Promise<void>;
  /** Removes everything written so far. Safe to call after a failure at any point. */
  abort(): Promise<void>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** A Writable that forwards to stdout without ever ending it. */
export function forwardTo(dest: NodeJS.WritableStream): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (dest.write(chunk)) cb();
      else dest.once('drain', () => cb());
    },
    final(cb) {
      cb();
    },
  });
}

export async function openOutput(out: string | undefined, force: boolean, stdout: NodeJS.WritableStream): Promise<OutputTarget> {
  if (out === undefined || out === '-') {
    return { stream: forwardTo(stdout), openHandle: async () => null, commit: async () => undefined, abort: async () => undefined };
  }
  if (!force && (await exists(out))) {
    throw new CofferError('EXISTS', `${out} already exists; use --force to overwrite it`);
  }
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.coffer-partial`);
  // Reserve the temporary name now (private mode, never an existing file); write to it later.
  await (await open(tmp, 'wx', 0o600)).close();
  let stream: Writable | null = null;
  let handle: FileHandle | null = null;
  return {
    get stream(): Writable {
      stream ??= createWriteStream(tmp, { flags: 'r+', highWaterMark: 1 << 20 });
      return stream;
    },
    async openHandle() {
      handle ??= await open(tmp, 'r+');
      return handle;
    },
    async commit() {
      // Any stream has finished and closed its descriptor; make the bytes durable before the rename.
      const fh = handle ?? (await open(tmp, 'r+'));
      handle = null;
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (force) {
        await rename(tmp, out);
      } else {
        try {
          await link(tmp, out); // fails if OUT appeared meanwhile: never overwrite without --force
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') {
            await unlink(tmp).catch(() => undefined);
            throw new CofferError('EXISTS', `${out} already exists; use --force to overwrite it`);
          }
          if (await exists(out)) throw e;
          await rename(tmp, out); // filesystems without hard links
          return;
        }
        await unlink(tmp);
      }
    },
    async abort() {
      if (stream && !stream.closed) {
        const st = stream;
        await new Promise<void>((resolve) => {
          st.once('close', () => resolve());
          st.destroy();
        });
      }
      await handle?.close().catch(() => undefined);
      handle = null;
      await unlink(tmp).catch(() => undefined);
    },
  };
}
