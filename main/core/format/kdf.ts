import { createHmac, hkdfSync } from 'node:crypto';
import { FILE_KEY_BYTES, HKDF_INFO_HEADER, HKDF_INFO_PAYLOAD } from './constants';

/** HKDF-SHA256(ikm = file key, salt = empty, info = "header") → the header MAC key. */
export function headerMacKey(fileKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, new Uint8Array(0), HKDF_INFO_HEADER, 32));
}

/** HKDF-SHA256(ikm = file key, salt = payload nonce, info = "payload") → the secretstream key. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  if (fileKey.byteLength !== FILE_KEY_BYTES) throw new RangeError('file key must be 32 bytes');
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, HKDF_INFO_PAYLOAD, 32));
}

export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac('sha256', headerMacKey(fileKey)).update(macInput).digest();
}
