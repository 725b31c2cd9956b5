/**
 * Whole coffer files: header (stanzas + MAC) followed by the payload. Streams in constant memory;
 * reading, sealing and writing overlap through Node's stream pipeline (fs I/O runs on the threadpool
 * while the main thread seals).
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asCancelled, CofferError } from '../errors';
import { initSodium, sodium } from '../crypto/sodium';
import type { Identity, ProviderUI, Recipient, Stanza } from '../keys/types';
import { FILE_KEY_BYTES } from './constants';
import { encodeHeader, findHeaderEnd, parseHeader, verifyHeaderMac, type ParsedHeader } from './header';
import { decryptPayload, encryptPayload, PayloadOpener, PayloadSealer } from './stream';
import { CHUNK_PLAINTEXT } from './constants';

export interface StreamOptions {
  readonly signal?: AbortSignal;
  /** Called with the number of plaintext bytes processed so far. */
  readonly onProgress?: (plaintextBytes: number) => void;
}

/** Options of the file-to-file paths (`*FileHandle`). */
export interface FileHandleOptions extends StreamOptions {
  /**
   * The caller fsyncs the output afterwards (temp file, fsync, rename). Writeback then starts while
   * the file is being written, hidden behind the crypto, so that the final fsync is short.
   */
  readonly durable?: boolean;
}

export interface EncryptResult {
  readonly plaintextBytes: number;
  readonly headerBytes: number;
}

/** Wraps `key` for every recipient, in order. */
export async function wrapKey(key: Uint8Array, recipients: readonly Recipient[]): Promise<Stanza[]> {
  if (recipients.length === 0) throw new CofferError('USAGE', 'no recipients given');
  const stanzas: Stanza[] = [];
  for (const r of recipients) stanzas.push(...(await r.wrap(key)));
  return stanzas;
}

/**
 * Unwraps a key from stanzas: non-interactive identities first, then interactive ones. `null` from an
 * identity means "not mine"; a throw means "mine but failed" and is passed on.
 * `check` (e.g. the header MAC) runs on each candidate key; a candidate that fails it is an error.
 */
export async function unwrapKey(
  stanzas: readonly Stanza[], identities: readonly Identity[], ui: ProviderUI,
  check?: (key: Uint8Array) => void,
): Promise<Uint8Array> {
  const ordered = [...identities.filter((i) => !i.interactive), ...identities.filter((i) => i.interactive)];
  for (const id of ordered) {
    const key = await id.unwrap(stanzas, ui);
    if (key === null) continue;
    if (key.byteLength !== FILE_KEY_BYTES) throw new CofferError('HEADER_INVALID', 'invalid header: unwrapped key has the wrong length');
    check?.(key);
    return key;
  }
  const types = [...new Set(stanzas.map((s) => s.type))].join(', ');
  throw new CofferError('NO_IDENTITY', identities.length === 0
    ? `no identity given; this file is encrypted to: ${types}`
    : `none of the given identities can decrypt this file (it is encrypted to: ${types})`);
}

/**
 * Collects bytes from `next` (null at end of input) until the header ends; at most 64 KiB are read
 * before findHeaderEnd refuses. Returns the parsed header and the bytes after it.
 */
async function collectHeader(next: () => Promise<Buffer | null>): Promise<{ header: ParsedHeader; headerBytes: Buffer; leftover: Buffer }> {
  let acc: Buffer = Buffer.alloc(0);
  let end = -1;
  while (end < 0) {
    const chunk = await next();
    if (chunk === null) {
      if (acc.length === 0) throw new CofferError('BAD_MAGIC', 'input is empty, not a coffer file');
      findHeaderEnd(acc); // throws BAD_MAGIC / UNSUPPORTED_VERSION when it can tell
      throw new CofferError('TRUNCATED', 'file was truncated inside its header');
    }
    acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
    end = findHeaderEnd(acc);
  }
  const headerBytes = acc.subarray(0, end);
  return { header: parseHeader(headerBytes), headerBytes, leftover: acc.subarray(end) };
}

/** Reads a header from the front of `input`; returns it and a stream of the remaining bytes. */
export async function readHeader(input: Readable): Promise<{ header: ParsedHeader; headerBytes: Buffer; rest: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const toBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
  const { header, headerBytes, leftover } = await collectHeader(async () => {
    const r = await it.next();
    return r.done ? null : toBuffer(r.value);
  });
  async function* restGen(): AsyncGenerator<Buffer> {
    if (leftover.length > 0) yield leftover;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBuffer(r.value);
    }
  }
  const rest = Readable.from(restGen(), { objectMode: false, highWaterMark: 1 << 20 });
  rest.on('close', () => { void it.return?.(); });
  return { header, headerBytes, rest };
}

/** Makes a random file key in secure memory and its header for `recipients`; wipes the key afterwards. */
async function withNewFileKey<T>(recipients: readonly Recipient[], work: (fileKey: Uint8Array, header: Buffer) => Promise<T>): Promise<T> {
  await initSodium();
  const na = sodium();
  const fileKey = na.secureAlloc(FILE_KEY_BYTES);
  fileKey.set(na.randomBytes(FILE_KEY_BYTES));
  try {
    return await work(fileKey, encodeHeader(await wrapKey(fileKey, recipients), fileKey));
  } finally {
    na.memzero(fileKey);
  }
}

/** Encrypts `input` to `recipients`, writing a complete coffer file to `output`. */
export function encryptFile(
  input: Readable, output: Writable, recipients: readonly Recipient[], opts: StreamOptions = {},
): Promise<EncryptResult> {
  return withNewFileKey(recipients, async (fileKey, header) => {
    let plaintextBytes = 0;
    const payload = encryptPayload(fileKey, (n) => { plaintextBytes = n; opts.onProgress?.(n); }, header);
    await pipeline(input, payload, output, { signal: opts.signal }).catch((e: unknown) => { throw asCancelled(e); });
    return { plaintextBytes, headerBytes: header.length };
  });
}

export interface DecryptResult {
  readonly plaintextBytes: number;
  readonly stanzaTypes: string[];
}

/** Decrypts a coffer file from `input` to `output`. Only authenticated plaintext reaches `output`. */
export async function decryptFile(
  input: Readable, output: Writable, identities: readonly Identity[], ui: ProviderUI, opts: StreamOptions = {},
): Promise<DecryptResult> {
  await initSodium();
  const { header, rest } = await readHeader(input);
  const fileKey = await unwrapKey(header.stanzas, identities, ui, (k) => verifyHeaderMac(header, k));
  let plaintextBytes = 0;
  try {
    await pipeline(rest, decryptPayload(fileKey, (n) => { plaintextBytes = n; opts.onProgress?.(n); }), output, { signal: opts.signal })
      .catch((e: unknown) => { throw asCancelled(e); });
  } finally {
    sodium().memzero(fileKey);
  }
  return { plaintextBytes, stanzaTypes: header.stanzas.map((s) => s.type) };
}

/* ---------- file-to-file fast path ---------- */

/** Plaintext read per step of the file-to-file path: 16 chunks. */
const STEP = 16 * CHUNK_PLAINTEXT;
/**
 * Buffers in rotation on each side. With 4, up to 3 steps are read ahead and up to 3 written behind
 * the step being sealed, so a late threadpool callback (the machine is busy) does not stall the seal.
 */
const DEPTH = 4;
/** With `durable`, writeback of what is written so far starts every this many bytes. */
const WRITEBACK_BYTES = 32 << 20;

/** Writes `length` bytes of `buf` at file offset `position` (explicit offsets: several writes may be in flight). */
async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesWritten } = await fh.write(buf, off, length - off, position + off);
    off += bytesWritten;
  }
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CofferError('CANCELLED', 'cancelled');
}

/**
 * Runs `step` over `src` from byte `srcOffset` on (positional reads: the handle's own file offset is
 * neither used nor moved), in STEP-sized reads with DEPTH input and DEPTH output buffers in rotation:
 * reads ahead and writes behind run on libuv's threadpool while the main thread seals or opens this
 * step. Sealing cannot itself be split across threads (each secretstream chunk depends on the state
 * left by the previous one), so the main thread does the crypto and the other core does the I/O.
 * The buffers are reused, so memory stays flat and no page is faulted in twice.
 *
 * `durable`: the caller will fsync `dst`. Writeback then starts every WRITEBACK_BYTES (an fdatasync on
 * the threadpool, one at a time), so the disk writes overlap the crypto and the final fsync finds
 * little left to do. When pump settles (success or failure), no read, write or sync is in flight.
 */
async function pump(
  src: FileHandle, srcOffset: number, dst: FileHandle, dstOffset: number, first: Buffer, outSize: number,
  step: (data: Buffer, out: Buffer) => number, finish: (out: Buffer) => number, opts: FileHandleOptions,
): Promise<void> {
  const ins = Array.from({ length: DEPTH }, () => Buffer.allocUnsafe(STEP));
  const outs = Array.from({ length: DEPTH }, () => Buffer.allocUnsafe(outSize));
  const reads: Promise<number>[] = [];
  const writes: (Promise<void> | null)[] = outs.map(() => null);
  let position = dstOffset;
  let flushedTo = dstOffset;
  let flushing: Promise<void> | null = null;
  let flushError: unknown = null;
  let stopped = false;

  // Reads are positional (step i reads STEP bytes at srcOffset + i × STEP), so the DEPTH − 1 reads
  // ahead are all in flight at once. (They used to be chained on the file offset: each was issued only
  // when this thread ran the previous one's callback, between two steps, so in effect one read was ever
  // ahead, and on a busy machine the seal waited for it: 0.7 to 1.5 s per GiB of the main thread's time
  // at load 11, against 0 for the writes.) A step shorter than STEP is the end of the file: reading
  // stops there, and the loop stops after it, so that a file growing meanwhile cannot leave a gap.
  let eof = false;
  const readStep = async (buf: Buffer, at: number): Promise<number> => {
    let n = 0;
    while (n < STEP && !stopped) {
      const { bytesRead } = await src.read(buf, n, STEP - n, at + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n;
  };
  const readAhead = (i: number): void => {
    const r = eof || stopped ? Promise.resolve(0) : readStep(ins[i % DEPTH] as Buffer, srcOffset + i * STEP);
    r.then((n) => { if (n < STEP) eof = true; }, () => undefined); // a failure surfaces where the read is awaited
    reads[i % DEPTH] = r;
  };
  const issueWrite = async (k: number, n: number): Promise<void> => {
    await writes[k]; // the write that last used outs[k] must be done before it is reused
    const w = n > 0 ? writeAll(dst, outs[k] as Buffer, n, position) : null;
    w?.catch(() => undefined); // likewise: surfaces where it is awaited
    writes[k] = w;
    position += n;
    if (opts.durable && !flushing && position - flushedTo >= WRITEBACK_BYTES) {
      flushedTo = position;
      flushing = dst.datasync().then(() => { flushing = null; }, (e: unknown) => { flushError ??= e; flushing = null; });
    }
  };
  const throwIfFailed = (): void => {
    if (flushError) throw flushError;
    checkAborted(opts.signal);
  };
  try {
    let k = 0;
    if (first.length > 0) {
      await issueWrite(k, step(first, outs[k] as Buffer));
      k = (k + 1) % DEPTH;
    }
    for (let i = 0; i < DEPTH - 1; i++) readAhead(i);
    for (let i = 0; ; i++) {
      const bytesRead = await (reads[i % DEPTH] as Promise<number>);
      if (bytesRead === 0) break;
      throwIfFailed();
      readAhead(i + DEPTH - 1); // into the buffer the previous step used
      await writes[k];
      writes[k] = null;
      const n = step((ins[i % DEPTH] as Buffer).subarray(0, bytesRead), outs[k] as Buffer);
      await issueWrite(k, n);
      k = (k + 1) % DEPTH;
      if (bytesRead < STEP) break; // the end of the file (see readStep)
    }
    await writes[k];
    writes[k] = null;
    await issueWrite(k, finish(outs[k] as Buffer));
    await Promise.all(writes);
    await flushing;
    if (flushError) throw flushError;
  } finally {
    stopped = true;
    await Promise.allSettled([...reads, ...writes, flushing]);
  }
}

/**
 * Seals all of `src` (from its first byte) into a payload written to `dst` at `dstOffset` (vault blobs
 * have no header).
 * The sealer is made by the caller, who can then wipe the file key. Returns the payload bytes written.
 */
export async function sealFileHandle(
  sealer: PayloadSealer, src: FileHandle, dst: FileHandle, dstOffset: number, opts: FileHandleOptions = {},
): Promise<number> {
  let written = 0;
  const count = (n: number): number => { written += n; return n; };
  await pump(src, 0, dst, dstOffset, Buffer.alloc(0), PayloadSealer.maxOutput(STEP),
    (data, out) => { const n = sealer.update(data, out); opts.onProgress?.(sealer.total); return count(n); },
    (out) => count(sealer.final(out)), opts);
  return written;
}

/**
 * Encrypts an open file (from its first byte) to an open file (the CLI's `-o` path): same bytes as
 * encryptFile, less overhead.
 */
export function encryptFileHandle(
  src: FileHandle, dst: FileHandle, recipients: readonly Recipient[], opts: FileHandleOptions = {},
): Promise<EncryptResult> {
  return withNewFileKey(recipients, async (fileKey, header) => {
    await writeAll(dst, header, header.length, 0);
    const sealer = new PayloadSealer(fileKey);
    await sealFileHandle(sealer, src, dst, header.length, opts);
    return { plaintextBytes: sealer.total, headerBytes: header.length };
  });
}

/** Decrypts an open file (from its first byte) to an open file; only authenticated plaintext is written. */
export async function decryptFileHandle(
  src: FileHandle, dst: FileHandle, identities: readonly Identity[], ui: ProviderUI, opts: FileHandleOptions = {},
): Promise<DecryptResult> {
  await initSodium();
  let consumed = 0; // positional reads: the payload steps read on from here
  const { header, leftover } = await collectHeader(async () => {
    const buf = Buffer.allocUnsafe(16 * 1024);
    const { bytesRead } = await src.read(buf, 0, buf.length, consumed);
    consumed += bytesRead;
    return bytesRead === 0 ? null : buf.subarray(0, bytesRead);
  });
  const fileKey = await unwrapKey(header.stanzas, identities, ui, (k) => verifyHeaderMac(header, k));
  try {
    const opener = new PayloadOpener(fileKey);
    const step = (data: Buffer, out: Buffer): number => {
      const n = opener.update(data, out);
      if (opener.error) throw opener.error; // the caller removes the partial output
      opts.onProgress?.(opener.total);
      return n;
    };
    await pump(src, consumed, dst, 0, leftover, PayloadOpener.maxOutput(Math.max(STEP, leftover.length)), step, (out) => opener.final(out), opts);
    return { plaintextBytes: opener.total, stanzaTypes: header.stanzas.map((s) => s.type) };
  } finally {
    sodium().memzero(fileKey);
  }
}
