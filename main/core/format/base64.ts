/**
 * Canonical base64 (RFC 4648 standard alphabet, no padding), as age uses in its header.
 * Node's decoder is lenient (it skips junk and accepts padding and non-zero trailing bits), so a
 * decoded value is re-encoded and compared: only the one canonical spelling of each value is accepted.
 */
const ALPHABET = /^[A-Za-z0-9+/]*$/;

export function encodeB64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/** Returns null unless `text` is the canonical unpadded base64 of some byte string. */
export function decodeB64(text: string): Buffer | null {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  return encodeB64(bytes) === text ? bytes : null;
}
