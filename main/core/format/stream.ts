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

/** A FIFO of buffers from which exact byte counts can be taken without re-concatenating everything. */
class ByteQueue {
  private parts: Buffer[] = [];
  private head = 0;
  length = 0;
  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }
  /** Removes and returns exactly n bytes (n ≤ length). */
  take(n: number): Buffer {
    const first = this.parts[0];
    if (first && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.parts.shift();
        this.head = 0;
      }
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const part = this.parts[0] as Buffer;
      const avail = part.length - this.head;
      const k = Math.min(avail, n - filled);
      part.copy(out, filled, this.head, this.head + k);
      filled += k;
      this.head += k;
      if (this.head === part.length) {
        this.parts.shift();
        this.head = 0;
      }
    }
    this.length -= n;
    return out;
  }
}

export interface PayloadProgress {
  (plaintextBytes: number): void;
}

/**
 * Encrypts plaintext into a payload under file key `fileKey`. `prefix` (a file header) is emitted
 * before the payload, saving a stream stage per buffer.
 */
export function encryptPayload(fileKey: Uint8Array, onProgress?: PayloadProgress, prefix?: Uint8Array): Transform {
  const na = sodium();
  const nonce = na.randomBytes(PAYLOAD_NONCE_BYTES);
  const key = payloadKey(fileKey, nonce);
  let stream: PushStream | null = null;
  // One chunk of look-ahead: a full chunk is sealed only once we know more data follows, so that
  // the last chunk can carry FINAL without an extra empty chunk. `pending` holds 1..64 KiB between calls.
  const pending = Buffer.allocUnsafe(CHUNK_PLAINTEXT);
  let fill = 0;
  let total = 0;
  const start = (t: Transform): PushStream => {
    if (!stream) {
      stream = na.pushStream(key);
      na.memzero(key);
      t.push(Buffer.concat(prefix ? [prefix, nonce, stream.header] : [nonce, stream.header]));
    }
    return stream;
  };
  return new Transform({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    transform(data: Buffer, _enc, cb: TransformCallback) {
      const s = start(this);
      const avail = fill + data.length;
      // Seal every chunk that is complete and followed by at least one more byte, into one output buffer.
      const n = avail > 0 ? Math.floor((avail - 1) / CHUNK_PLAINTEXT) : 0;
      let off = 0;
      if (n > 0) {
        const out = Buffer.allocUnsafe(n * CHUNK_CIPHERTEXT);
        let o = 0;
        if (fill > 0) {
          off = CHUNK_PLAINTEXT - fill;
          data.copy(pending, fill, 0, off);
          s.pushInto(pending, false, out.subarray(0, CHUNK_CIPHERTEXT));
          o = CHUNK_CIPHERTEXT;
          fill = 0;
        }
        for (; o < out.length; o += CHUNK_CIPHERTEXT, off += CHUNK_PLAINTEXT) {
          s.pushInto(data.subarray(off, off + CHUNK_PLAINTEXT), false, out.subarray(o, o + CHUNK_CIPHERTEXT));
        }
        this.push(out);
      }
      data.copy(pending, fill, off);
      fill += data.length - off;
      total += data.length;
      onProgress?.(total);
      cb();
    },
    flush(cb: TransformCallback) {
      const s = start(this);
      this.push(s.push(pending.subarray(0, fill), true));
      na.memzero(pending);
      cb();
    },
  });
}

/** Decrypts a payload under `fileKey`; errors are CofferErrors (PAYLOAD_TAMPERED, TRUNCATED, TRAILING_DATA). */
export function decryptPayload(fileKey: Uint8Array, onProgress?: PayloadProgress): Transform {
  const na = sodium();
  const q = new ByteQueue();
  let stream: PullStream | null = null;
  let chunkIndex = 0;
  let finished = false;
  let total = 0;

  const open = (): PullStream | null => {
    if (stream) return stream;
    if (q.length < PAYLOAD_PREFIX_BYTES) return null;
    const prefix = q.take(PAYLOAD_PREFIX_BYTES);
    const key = payloadKey(fileKey, prefix.subarray(0, PAYLOAD_NONCE_BYTES));
    stream = na.pullStream(prefix.subarray(PAYLOAD_NONCE_BYTES), key);
    na.memzero(key);
    if (!stream) throw new CofferError('PAYLOAD_TAMPERED', 'file was modified (invalid stream header)');
    return stream;
  };

  /** Opens one chunk into `out`; returns the number of plaintext bytes. */
  const pullOne = (chunk: Buffer, last: boolean, out: Buffer): number => {
    const s = stream as PullStream;
    const n = chunkIndex + 1;
    const tag = s.pullInto(chunk, out);
    const r = tag < 0 ? null : { tag, message: out };
    if (!r) {
      throw new CofferError('PAYLOAD_TAMPERED', last
        ? `file was modified or truncated (chunk ${n})`
        : `file was modified (chunk ${n} failed authentication)`);
    }
    if (r.tag !== TAG_MESSAGE && r.tag !== TAG_FINAL) {
      throw new CofferError('PAYLOAD_TAMPERED', `file was modified (chunk ${n} has an invalid tag)`);
    }
    if (r.tag === TAG_FINAL) {
      if (!last) throw new CofferError('TRAILING_DATA', `file has unexpected data after its final chunk (chunk ${n})`);
      if (r.message.length === 0 && chunkIndex > 0) {
        throw new CofferError('PAYLOAD_TAMPERED', `file is not canonical (empty final chunk ${n} after full chunks)`);
      }
      finished = true;
    } else if (last) {
      throw new CofferError('TRUNCATED', `file was truncated (missing final chunk after chunk ${n})`);
    }
    chunkIndex++;
    total += r.message.length;
    return r.message.length;
  };

  return new Transform({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    transform(data: Buffer, _enc, cb: TransformCallback) {
      try {
        if (finished) throw new CofferError('TRAILING_DATA', 'file has unexpected data after its final chunk');
        q.push(data);
        if (!open()) return cb();
        // Keep one byte beyond a full chunk before deciding it is not the last.
        const n = q.length > 0 ? Math.floor((q.length - 1) / CHUNK_CIPHERTEXT) : 0;
        if (n > 0) {
          const out = Buffer.allocUnsafe(n * CHUNK_PLAINTEXT);
          let i = 0;
          try {
            for (; i < n; i++) pullOne(q.take(CHUNK_CIPHERTEXT), false, out.subarray(i * CHUNK_PLAINTEXT, (i + 1) * CHUNK_PLAINTEXT));
          } finally {
            // Release the chunks that authenticated, even when a later one in this batch did not.
            if (i > 0) this.push(i === n ? out : out.subarray(0, i * CHUNK_PLAINTEXT));
          }
        }
        onProgress?.(total);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!finished) {
          if (!open()) throw new CofferError('TRUNCATED', 'file was truncated (payload header incomplete)');
          if (q.length === 0) throw new CofferError('TRUNCATED', `file was truncated (missing final chunk after chunk ${chunkIndex})`);
          if (q.length < SS_ABYTES) throw new CofferError('TRUNCATED', `file was modified or truncated (chunk ${chunkIndex + 1})`);
          const out = Buffer.allocUnsafe(q.length - SS_ABYTES);
          if (pullOne(q.take(q.length), true, out) > 0) this.push(out);
        } else if (q.length > 0) {
          throw new CofferError('TRAILING_DATA', 'file has unexpected data after its final chunk');
        }
        onProgress?.(total);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}
