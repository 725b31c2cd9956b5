/**
 * Recovery keys: 160 random bits a person writes down once, at `init`.
 *
 * Text form: 36 Crockford base32 characters in nine groups of four, e.g.
 * `7QKD-0M4T-…-X2AB`. The first 32 characters encode the 20 key bytes; the last 4 encode the first
 * 20 bits of SHA-256("coffer recovery key" ‖ key) as a checksum, so a mistyped character is caught
 * before any decryption is tried. Decoding ignores case, spaces and dashes and reads O as 0 and
 * I/L as 1 (Crockford's rules).
 *
 * The slot's key pair is derived from it: secret = HKDF-SHA256(ikm = key, salt = "", info =
 * "coffer recovery x25519"), public = X25519(secret, basepoint); the vault key is sealed to that
 * public key like any member's, so rotation needs no recovery key.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECOVERY_KEY_BYTES = 20;

function checksum(key: Uint8Array): number {
  const h = createHash('sha256').update('coffer recovery key').update(key).digest();
  return ((h[0] as number) << 12) | ((h[1] as number) << 4) | ((h[2] as number) >> 4);
}

function toBase32(key: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of key) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out; // 160 bits → exactly 32 characters
}

export function encodeRecoveryKey(key: Uint8Array): string {
  if (key.byteLength !== RECOVERY_KEY_BYTES) throw new RangeError('recovery key must be 20 bytes');
  const c = checksum(key);
  let tail = '';
  for (let i = 3; i >= 0; i--) tail += ALPHABET[(c >>> (i * 5)) & 31];
  const all = toBase32(key) + tail;
  return (all.match(/.{4}/g) as string[]).join('-');
}

export function generateRecoveryKey(): { key: Uint8Array; text: string } {
  const key = sodium().randomBytes(RECOVERY_KEY_BYTES);
  return { key, text: encodeRecoveryKey(key) };
}

export function decodeRecoveryKey(text: string): Uint8Array {
  const norm = text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (norm.length !== 36) {
    throw new CofferError('BAD_RECOVERY_KEY', `a recovery key has 36 characters (9 groups of 4); this one has ${norm.length}`);
  }
  const vals: number[] = [];
  for (const ch of norm) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new CofferError('BAD_RECOVERY_KEY', `"${ch}" is not a recovery key character`);
    vals.push(v);
  }
  const key = new Uint8Array(RECOVERY_KEY_BYTES);
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const v of vals.slice(0, 32)) {
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      key[j++] = (value >>> (bits - 8)) & 255;
      bits -= 8;
      value &= (1 << bits) - 1;
    }
  }
  let c = 0;
  for (const v of vals.slice(32)) c = (c << 5) | v;
  if (c !== checksum(key)) {
    throw new CofferError('BAD_RECOVERY_KEY', 'the recovery key has a typo (its checksum does not match); check each group');
  }
  return key;
}

/** The X25519 secret key of a recovery slot (32 bytes, in secure memory). */
export function recoverySecretKey(key: Uint8Array): Uint8Array {
  const na = sodium();
  const raw = new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), 'coffer recovery x25519', 32));
  const sk = na.secureAlloc(32);
  sk.set(raw);
  na.memzero(raw);
  return sk;
}
