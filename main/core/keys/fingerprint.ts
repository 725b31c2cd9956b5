import { createHash } from 'node:crypto';

/**
 * A short fingerprint people can read aloud and compare: the first 8 bytes of
 * SHA-256(kind ‖ 0x00 ‖ public key) as four groups of four hex digits, e.g. "3f2a 91c0 77de 0b14".
 */
export function fingerprint(kind: string, publicKey: Uint8Array): string {
  const h = createHash('sha256').update(kind).update(Buffer.from([0])).update(publicKey).digest('hex');
  return `${h.slice(0, 4)} ${h.slice(4, 8)} ${h.slice(8, 12)} ${h.slice(12, 16)}`;
}
