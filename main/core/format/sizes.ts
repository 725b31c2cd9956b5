import { CHUNK_PLAINTEXT } from './constants';
import { CHUNK_CIPHERTEXT, PAYLOAD_PREFIX_BYTES } from './stream';

const OVERHEAD = CHUNK_CIPHERTEXT - CHUNK_PLAINTEXT;

/** Number of chunks for a plaintext of `n` bytes (an empty plaintext still has one, FINAL, chunk). */
export function chunkCount(n: number): number {
  return n === 0 ? 1 : Math.ceil(n / CHUNK_PLAINTEXT);
}

/** Payload size (nonce, stream header, chunks) for `n` plaintext bytes. */
export function payloadSize(n: number): number {
  return PAYLOAD_PREFIX_BYTES + n + chunkCount(n) * OVERHEAD;
}

/** Plaintext size for a payload of `p` bytes, or null if no plaintext has that payload size. */
export function plaintextSize(p: number): number | null {
  const body = p - PAYLOAD_PREFIX_BYTES;
  if (body < OVERHEAD) return null;
  const chunks = Math.ceil(body / CHUNK_CIPHERTEXT);
  const n = body - chunks * OVERHEAD;
  return n >= 0 && payloadSize(n) === p ? n : null;
}
