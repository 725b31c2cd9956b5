/**
 * P-256 point handling (encoding only; the group arithmetic is node:crypto's): compressed and
 * uncompressed SEC1 encodings, the DER OCTET STRING that wraps CKA_EC_POINT, the 4-byte key tag
 * carried in stanzas, and the human-comparable fingerprint.
 */
import { createHash, ECDH } from 'node:crypto';
import { CofferError } from '../../errors';
import { fingerprint } from '../fingerprint';

export const P256_OID_DER = Buffer.from('06082a8648ce3d030107', 'hex');
export const CURVE_BY_PARAMS: Readonly<Record<string, string>> = {
  '06082a8648ce3d030107': 'P-256',
  '06052b81040022': 'P-384',
  '06052b81040023': 'P-521',
  '06052b8104000a': 'secp256k1',
};
export const FINGERPRINT_KIND = 'piv-p256';

/** Validates a SEC1 P-256 point (compressed or uncompressed) and returns it uncompressed (65 bytes). Throws for points off the curve. */
export function toUncompressed(point: Uint8Array, code: 'BAD_RECIPIENT' | 'HEADER_INVALID' | 'PKCS11' = 'BAD_RECIPIENT'): Buffer {
  try {
    const out = ECDH.convertKey(Buffer.from(point), 'prime256v1', undefined, undefined, 'uncompressed');
    return Buffer.isBuffer(out) ? out : Buffer.from(out, 'latin1');
  } catch (e) {
    throw new CofferError(code, 'not a valid P-256 public key (the point is malformed or not on the curve)', { cause: e });
  }
}

export function toCompressed(point: Uint8Array): Buffer {
  const out = ECDH.convertKey(Buffer.from(point), 'prime256v1', undefined, undefined, 'compressed');
  return Buffer.isBuffer(out) ? out : Buffer.from(out, 'latin1');
}

/** The 4-byte tag that names a recipient key in stanzas: SHA-256(compressed point)[0..4]. */
export function keyTag(point: Uint8Array): Buffer {
  return createHash('sha256').update(toCompressed(point)).digest().subarray(0, 4);
}

/** Fingerprint of a P-256 recipient, over its compressed point. */
export function p256Fingerprint(point: Uint8Array): string {
  return fingerprint(FINGERPRINT_KIND, toCompressed(point));
}

/**
 * CKA_EC_POINT is specified as a DER OCTET STRING holding the SEC1 point, but some modules
 * return the bare point. Returns the bare point, or null if neither reading fits.
 */
export function unwrapEcPoint(value: Uint8Array): Buffer | null {
  const v = Buffer.from(value);
  if (v[0] === 0x04 && v.length >= 2) {
    let len = v[1] ?? 0;
    let off = 2;
    if (len === 0x81 && v.length >= 3) {
      len = v[2] ?? 0;
      off = 3;
    } else if (len > 0x81) {
      len = -1;
    }
    if (len >= 0 && off + len === v.length && isBarePoint(v.subarray(off))) return v.subarray(off);
  }
  return isBarePoint(v) ? v : null;
}

function isBarePoint(v: Buffer): boolean {
  if (v[0] === 0x04) return v.length === 65 || v.length === 97 || v.length === 133;
  if (v[0] === 0x02 || v[0] === 0x03) return v.length === 33 || v.length === 49 || v.length === 67;
  return false;
}
