/**
 * The payload: 16-byte payload nonce ‖ 24-byte secretstream header ‖ chunks.
 * Each chunk is crypto_secretstream_xchacha20poly1305 over 64 KiB of plaintext (17 bytes of overhead);
 * the last chunk (0 < n ≤ 64 KiB bytes, or exactly 0 bytes for an empty file) carries TAG_FINAL,
 * every other chunk is full and carries TAG_MESSAGE. Decryption emits only authenticated plaintext.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { CofferError } from '../errors';
import { sodium, SS_ABYTES, SS_HEADERBYTES, TAG_FINAL, TAG_MESSAGE, type PullStream, type PushStream } from '../crypto/sodium';
import { CHUNK_PLAINTEXT, PAYLOAD_NONCE_BYTES } from './constants';
import { payloadKey } from './kdf';

export const CHUNK_CIPHERTEXT = CHUNK_PLAINTEXT + SS_ABYTES;
export const PAYLOAD_PREFIX_BYTES = PAYLOAD_NONCE_BYTES + SS_HEADERBYTES;

/** Called with the number of plaintext bytes processed so far. */
export type PayloadProgress = (plaintextBytes: number) => void;

/**
 * Seals plaintext into payload bytes with one chunk of look-ahead: a full chunk is sealed only once
 * we know more data follows, so the last chunk carries FINAL without an extra empty chunk.
 * Output goes into caller-provided buffers, so a caller can reuse them (no allocation per chunk).
 */
export class PayloadSealer {
  private readonly na = sodium();
  private readonly nonce: Uint8Array;
  private key: Buffer | null;
  private stream: PushStream | null = null;
  private readonly pending = Buffer.allocUnsafe(CHUNK_PLAINTEXT);
  private fill = 0;
  /** How far `pending` has ever held plaintext: `final` wipes that much (a small file's buffer is mostly untouched). */
  private dirty = 0;
  /** Plaintext bytes consumed so far. */
  total = 0;

  constructor(fileKey: Uint8Array) {
    this.nonce = this.na.randomBytes(PAYLOAD_NONCE_BYTES);
    this.key = payloadKey(fileKey, this.nonce);
  }

  /** Room `update` or `final` may need for `n` input bytes. */
  static maxOutput(n: number): number {
    return PAYLOAD_PREFIX_BYTES + (Math.floor(n / CHUNK_PLAINTEXT) + 1) * CHUNK_CIPHERTEXT;
  }

  /** Exactly the bytes `update(data)` will write for `n` input bytes now (no spare room). */
  outputFor(n: number): number {
    return (this.stream ? 0 : PAYLOAD_PREFIX_BYTES) + Math.max(0, Math.floor((this.fill + n - 1) / CHUNK_PLAINTEXT)) * CHUNK_CIPHERTEXT;
  }

  private begin(out: Buffer): number {
    if (this.stream) return 0;
    this.stream = this.na.pushStream(this.key as Buffer);
    this.na.memzero(this.key as Buffer);
    this.key = null;
    out.set(this.nonce, 0);
    out.set(this.stream.header, PAYLOAD_NONCE_BYTES);
    return PAYLOAD_PREFIX_BYTES;
  }

  /** Seals every complete chunk of `data` that is followed by more data; returns the bytes written to `out`. */
  update(data: Buffer, out: Buffer): number {
    let o = this.begin(out);
    const s = this.stream as PushStream;
    const n = Math.max(0, Math.floor((this.fill + data.length - 1) / CHUNK_PLAINTEXT));
    let off = 0;
    for (let i = 0; i < n; i++, o += CHUNK_CIPHERTEXT) {
      const dest = out.subarray(o, o + CHUNK_CIPHERTEXT);
      if (i === 0 && this.fill > 0) {
        off = CHUNK_PLAINTEXT - this.fill;
        data.copy(this.pending, this.fill, 0, off);
        this.dirty = CHUNK_PLAINTEXT;
        s.pushInto(this.pending, false, dest);
        this.fill = 0;
      } else {
        s.pushInto(data.subarray(off, off + CHUNK_PLAINTEXT), false, dest);
        off += CHUNK_PLAINTEXT;
      }
    }
    data.copy(this.pending, this.fill, off);
    this.fill += data.length - off;
    if (this.fill > this.dirty) this.dirty = this.fill;
    this.total += data.length;
    return o;
  }

  /** Seals the last chunk with TAG_FINAL (an empty one for an empty plaintext); returns bytes written. */
  final(out: Buffer): number {
    const o = this.begin(out);
    (this.stream as PushStream).pushInto(this.pending.subarray(0, this.fill), true, out.subarray(o, o + this.fill + SS_ABYTES));
    // Only what ever held plaintext: wiping all 64 KiB for a 4 KiB file faulted in pages that never held
    // any (with 10,000 small files, a third of revoke --reencrypt's extra CPU in a profile).
    this.na.memzero(this.pending.subarray(0, this.dirty));
    return o + this.fill + SS_ABYTES;
  }
}

/**
 * Opens payload bytes. Each chunk's plaintext is written out only after it authenticates; a chunk is
 * treated as the last only at `final`, so anything after a FINAL chunk is detected.
 */
export class PayloadOpener {
  private readonly na = sodium();
  private readonly prefix = Buffer.alloc(PAYLOAD_PREFIX_BYTES);
  private prefixFill = 0;
  private stream: PullStream | null = null;
  private readonly carry = Buffer.allocUnsafe(CHUNK_CIPHERTEXT);
  private carryLen = 0;
  private chunkIndex = 0;
  private finished = false;
  /** Set when a chunk failed: `update` returned the authenticated bytes before it; throw this next. */
  error: CofferError | null = null;
  /** Plaintext bytes released so far. */
  total = 0;

  constructor(private readonly fileKey: Uint8Array) {}

  /** Room `update` may need for `n` input bytes (`final` needs at most one chunk). */
  static maxOutput(n: number): number {
    return n + CHUNK_PLAINTEXT;
  }

  private openChunk(chunk: Buffer, last: boolean, out: Buffer): number {
    const n = this.chunkIndex + 1;
    const dest = out.subarray(0, chunk.length - SS_ABYTES);
    const tag = (this.stream as PullStream).pullInto(chunk, dest);
    if (tag < 0) {
      throw new CofferError('PAYLOAD_TAMPERED', last
        ? `file was modified or truncated (chunk ${n})`
        : `file was modified (chunk ${n} failed authentication)`);
    }
    if (tag !== TAG_MESSAGE && tag !== TAG_FINAL) {
      throw new CofferError('PAYLOAD_TAMPERED', `file was modified (chunk ${n} has an invalid tag)`);
    }
    if (tag === TAG_FINAL) {
      if (!last) throw new CofferError('TRAILING_DATA', `file has unexpected data after its final chunk (chunk ${n})`);
      if (dest.length === 0 && this.chunkIndex > 0) {
        throw new CofferError('PAYLOAD_TAMPERED', `file is not canonical (empty final chunk ${n} after full chunks)`);
      }
      this.finished = true;
    } else if (last) {
      throw new CofferError('TRUNCATED', `file was truncated (missing final chunk after chunk ${n})`);
    }
    this.chunkIndex++;
    this.total += dest.length;
    return dest.length;
  }

  /** Opens every complete chunk followed by more data; returns the plaintext bytes written to `out`. */
  update(data: Buffer, out: Buffer): number {
    if (this.error) throw this.error;
    let off = 0;
    if (!this.stream) {
      const k = Math.min(PAYLOAD_PREFIX_BYTES - this.prefixFill, data.length);
      data.copy(this.prefix, this.prefixFill, 0, k);
      this.prefixFill += k;
      off = k;
      if (this.prefixFill < PAYLOAD_PREFIX_BYTES) return 0;
      const key = payloadKey(this.fileKey, this.prefix.subarray(0, PAYLOAD_NONCE_BYTES));
      this.stream = this.na.pullStream(this.prefix.subarray(PAYLOAD_NONCE_BYTES), key);
      this.na.memzero(key);
      if (!this.stream) throw new CofferError('PAYLOAD_TAMPERED', 'file was modified (invalid stream header)');
    }
    const rest = data.length - off;
    if (this.finished && rest > 0) throw new CofferError('TRAILING_DATA', 'file has unexpected data after its final chunk');
    const n = Math.max(0, Math.floor((this.carryLen + rest - 1) / CHUNK_CIPHERTEXT));
    let o = 0;
    try {
      for (let i = 0; i < n; i++) {
        if (i === 0 && this.carryLen > 0) {
          const k = CHUNK_CIPHERTEXT - this.carryLen;
          data.copy(this.carry, this.carryLen, off, off + k);
          off += k;
          this.carryLen = 0;
          o += this.openChunk(this.carry, false, out.subarray(o));
        } else {
          o += this.openChunk(data.subarray(off, off + CHUNK_CIPHERTEXT), false, out.subarray(o));
          off += CHUNK_CIPHERTEXT;
        }
      }
    } catch (e) {
      this.error = e as CofferError;
      return o;
    }
    data.copy(this.carry, this.carryLen, off);
    this.carryLen += data.length - off;
    return o;
  }

  /** Opens the last chunk, which must carry FINAL; returns the plaintext bytes written to `out`. */
  final(out: Buffer): number {
    if (this.error) throw this.error;
    if (this.finished) return 0;
    if (!this.stream) throw new CofferError('TRUNCATED', 'file was truncated (payload header incomplete)');
    if (this.carryLen === 0) throw new CofferError('TRUNCATED', `file was truncated (missing final chunk after chunk ${this.chunkIndex})`);
    if (this.carryLen < SS_ABYTES) throw new CofferError('TRUNCATED', `file was modified or truncated (chunk ${this.chunkIndex + 1})`);
    return this.openChunk(this.carry.subarray(0, this.carryLen), true, out);
  }
}

/**
 * Encrypts plaintext into a payload under file key `fileKey`, as a stream. `prefix` (a file header)
 * is emitted before the payload, saving a stream stage per buffer.
 */
/**
 * The streams seal and open their input in slices of this many bytes, each into its own output
 * buffer. Measured (build/bench-webdav.mjs, a 1 MiB-batch profile): writing into a freshly allocated
 * 1 MiB buffer made secretstream 3 to 4 times slower than into a reused one (the allocator hands out
 * new pages, and each first touch is a page fault); buffers of up to a few hundred KiB are reused by
 * the allocator and cost next to nothing.
 */
const OUTPUT_SLICE = 4 * CHUNK_CIPHERTEXT;

export function encryptPayload(fileKey: Uint8Array, onProgress?: PayloadProgress, prefix?: Uint8Array): Transform {
  const sealer = new PayloadSealer(fileKey);
  let first = true;
  const emit = (t: Transform, out: Buffer, n: number): void => {
    if (first && prefix) t.push(Buffer.from(prefix));
    first = false;
    if (n > 0) t.push(out.subarray(0, n));
  };
  return new Transform({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    transform(data: Buffer, _enc, cb: TransformCallback) {
      // Output in pieces of at most OUTPUT_SLICE (see there: fresh large buffers are slow to fill).
      for (let off = 0; off < data.length; off += OUTPUT_SLICE) {
        const part = data.subarray(off, off + OUTPUT_SLICE);
        const out = Buffer.allocUnsafe(sealer.outputFor(part.length));
        emit(this, out, sealer.update(part, out));
      }
      onProgress?.(sealer.total);
      cb();
    },
    flush(cb: TransformCallback) {
      const out = Buffer.allocUnsafe(PayloadSealer.maxOutput(0));
      emit(this, out, sealer.final(out));
      cb();
    },
  });
}

/** Decrypts a payload under `fileKey`; errors are CofferErrors (PAYLOAD_TAMPERED, TRUNCATED, TRAILING_DATA). */
export function decryptPayload(fileKey: Uint8Array, onProgress?: PayloadProgress): Transform {
  const opener = new PayloadOpener(fileKey);
  return new Transform({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    transform(data: Buffer, _enc, cb: TransformCallback) {
      try {
        // Output in pieces of at most OUTPUT_SLICE (see there: fresh large buffers are slow to fill).
        for (let off = 0; off < data.length; off += OUTPUT_SLICE) {
          const part = data.subarray(off, off + OUTPUT_SLICE);
          const out = Buffer.allocUnsafe(PayloadOpener.maxOutput(part.length));
          const n = opener.update(part, out);
          // Release the chunks that authenticated, even when a later one in this batch did not.
          if (n > 0) this.push(out.subarray(0, n));
          if (opener.error) throw opener.error;
        }
        onProgress?.(opener.total);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        const out = Buffer.allocUnsafe(CHUNK_PLAINTEXT);
        const n = opener.final(out);
        if (n > 0) this.push(out.subarray(0, n));
        onProgress?.(opener.total);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

/**
 * Opens a whole payload held in memory (a small vault blob), in one call: the plaintext is returned only
 * if every chunk authenticated and the last one carries FINAL; otherwise a typed error is thrown
 * (PAYLOAD_TAMPERED, TRUNCATED, TRAILING_DATA) and the partial output is wiped.
 */
export function openPayloadBuffer(fileKey: Uint8Array, payload: Uint8Array): Buffer {
  const opener = new PayloadOpener(fileKey);
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const out = Buffer.allocUnsafe(PayloadOpener.maxOutput(data.length));
  try {
    let n = opener.update(data, out);
    if (opener.error) throw opener.error;
    n += opener.final(out.subarray(n));
    return out.subarray(0, n);
  } catch (e) {
    sodium().memzero(out);
    throw e;
  }
}
