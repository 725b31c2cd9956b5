/**
 * Output targets for the CLI. A file output is written to a private temporary file beside the
 * destination, fsynced and then moved into place, so that on any failure nothing is left at OUT and
 * an existing OUT is never clobbered without --force.
 */
import { constants, createWriteStream, unlinkSync } from 'node:fs';
import { access, link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { CofferError } from '../core/errors';
import { partialPath, sweepPartials } from '../core/vault/confine';
import type { SignalScope } from './signals';

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

/**
 * The output of `encrypt`/`decrypt`: stdout, or a partial file beside OUT (`.OUT.HOST~PID~RANDOM.coffer-partial`,
 * mode 0600) renamed into place on commit. Partial files a killed run left beside OUT (dead pid, this
 * host) are removed first. With `scope`, a SIGINT/SIGTERM removes the partial file at once.
 */
export async function openOutput(out: string | undefined, force: boolean, stdout: NodeJS.WritableStream, scope?: SignalScope): Promise<OutputTarget> {
  if (out === undefined || out === '-') {
    return { stream: forwardTo(stdout), openHandle: async () => null, commit: async () => undefined, abort: async () => undefined };
  }
  if (!force && (await exists(out))) {
    throw new CofferError('EXISTS', `${out} already exists; use --force to overwrite it`);
  }
  const dest: string = out;
  await sweepPartials(dirname(dest));
  const tmp = partialPath(dest);
  // Reserve the temporary name now (private mode, never an existing file); write to it later.
  await (await open(tmp, 'wx', 0o600)).close();
  const forget = scope?.onSignal(() => {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }) ?? ((): boolean => true);
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
      try {
        await commitFile();
      } finally {
        forget();
      }
    },
    async abort() {
      forget();
      await abortFile();
    },
  };

  async function commitFile(): Promise<void> {
    // Any stream has finished and closed its descriptor; make the bytes durable before the rename.
    const fh = handle ?? (await open(tmp, 'r+'));
    handle = null;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (force) {
      await rename(tmp, dest);
      return;
    }
    try {
      await link(tmp, dest); // fails if OUT appeared meanwhile: never overwrite without --force
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        await unlink(tmp).catch(() => undefined);
        throw new CofferError('EXISTS', `${dest} already exists; use --force to overwrite it`);
      }
      if (await exists(dest)) throw e;
      await rename(tmp, dest); // filesystems without hard links
      return;
    }
    await unlink(tmp);
  }

  async function abortFile(): Promise<void> {
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
  }
}

// C0 and C1 controls and DEL (cursor moves, line erases, CR, ANSI/OSC escapes), and the Unicode marks
// that reorder or break lines (bidi overrides and isolates, LRM/RLM/ALM, line and paragraph separators).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a vault (names, labels, access requests, vault names, messages quoting them) made safe to
 * print on a terminal: every control character is shown escaped (`\x1b`, `\x0d`, `\u202e`), so a name
 * cannot move the cursor, rewrite or forge a line (issue 9, finding 12). The one escaping function of the
 * CLI: everything it prints that came from a vault goes through it.
 */
export function termSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
