/**
 * Whole coffer files: header (stanzas + MAC) followed by the payload. Streams in constant memory;
 * reading, sealing and writing overlap through Node's stream pipeline (fs I/O runs on the threadpool
 * while the main thread seals).
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asCancelled, CofferError } from '../errors';
import { initSodium, sodium } from '../crypto/sodium';
import type { Identity, ProviderUI, Recipient, Stanza } from '../keys/types';
import { FILE_KEY_BYTES } from './constants';
import { encodeHeader, findHeaderEnd, parseHeader, verifyHeaderMac, type ParsedHeader } from './header';
import { decryptPayload, encryptPayload } from './stream';

export interface StreamOptions {
  readonly signal?: AbortSignal;
  /** Called with the number of plaintext bytes processed so far. */
  readonly onProgress?: (plaintextBytes: number) => void;
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

/** Reads a header from the front of `input`; returns it and a stream of the remaining bytes. */
export async function readHeader(input: Readable): Promise<{ header: ParsedHeader; headerBytes: Buffer; rest: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let acc: Buffer = Buffer.alloc(0);
  let end = -1;
  while (end < 0) {
    const r = await it.next();
    if (r.done) {
      if (acc.length === 0) throw new CofferError('BAD_MAGIC', 'input is empty, not a coffer file');
      findHeaderEnd(acc); // throws BAD_MAGIC / UNSUPPORTED_VERSION when it can tell
      throw new CofferError('TRUNCATED', 'file was truncated inside its header');
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
    end = findHeaderEnd(acc);
  }
  const headerBytes = acc.subarray(0, end);
  const header = parseHeader(headerBytes);
  const leftover = acc.subarray(end);
  async function* restGen(): AsyncGenerator<Buffer> {
    if (leftover.length > 0) yield leftover;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const rest = Readable.from(restGen(), { objectMode: false, highWaterMark: 1 << 20 });
  rest.on('close', () => { void it.return?.(); });
  return { header, headerBytes, rest };
}

/** Encrypts `input` to `recipients`, writing a complete coffer file to `output`. */
export async function encryptFile(
  input: Readable, output: Writable, recipients: readonly Recipient[], opts: StreamOptions = {},
): Promise<EncryptResult> {
  await initSodium();
  const na = sodium();
  const fileKey = na.secureAlloc(FILE_KEY_BYTES);
  fileKey.set(na.randomBytes(FILE_KEY_BYTES));
  try {
    const header = encodeHeader(await wrapKey(fileKey, recipients), fileKey);
    let plaintextBytes = 0;
    const payload = encryptPayload(fileKey, (n) => { plaintextBytes = n; opts.onProgress?.(n); }, header);
    await pipeline(input, payload, output, { signal: opts.signal }).catch((e: unknown) => { throw asCancelled(e); });
    return { plaintextBytes, headerBytes: header.length };
  } finally {
    na.memzero(fileKey);
  }
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
