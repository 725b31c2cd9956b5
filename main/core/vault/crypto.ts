/**
 * How vault objects are protected with keys derived from an epoch's vault key VK_e
 * (HKDF-SHA256, salt = the vault id's 16 bytes, info = a purpose label):
 *   record key  = HKDF(VK_e, vaultId, "coffer-vault record")  XChaCha20-Poly1305 for entry records
 *   mac key     = HKDF(VK_e, vaultId, "coffer-vault mac")     HMAC-SHA256 for epoch and slot objects
 *   chain key   = HKDF(VK_e, vaultId, "coffer-vault chain")   XChaCha20-Poly1305 for older epochs' keys
 * Associated data always binds the vault id, the object's own id and the epoch, so an object cannot be
 * moved to another entry, slot or vault, or claimed for another epoch.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { AEAD_NPUBBYTES, sodium } from '../crypto/sodium';
import { decodeB64, encodeB64 } from '../format/base64';
import { CofferError } from '../errors';

export const VAULT_KEY_BYTES = 32;
export const RECORD_MAGIC = 'coffer-vault-record/v1';

function derive(vk: Uint8Array, vaultId: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', vk, Buffer.from(vaultId, 'hex'), `coffer-vault ${info}`, 32));
}

/** Keys of one epoch, derived once per unlock. */
export class EpochKeys {
  readonly record: Buffer;
  readonly mac: Buffer;
  readonly chain: Buffer;
  constructor(readonly epochId: string, readonly vk: Uint8Array, readonly vaultId: string) {
    this.record = derive(vk, vaultId, 'record');
    this.mac = derive(vk, vaultId, 'mac');
    this.chain = derive(vk, vaultId, 'chain');
  }
  wipe(): void {
    const na = sodium();
    na.memzero(this.record);
    na.memzero(this.mac);
    na.memzero(this.chain);
    na.memzero(this.vk);
  }
}

const ad = (...parts: string[]): Buffer => Buffer.from(parts.join('\0'), 'utf8');

/** `coffer-vault-record/v1 EPOCH B64(nonce ‖ ciphertext)\n`, AD = magic, vault id, entry id, epoch. */
export function sealRecord(keys: EpochKeys, entryId: string, plaintext: Uint8Array): string {
  const na = sodium();
  const nonce = na.randomBytes(AEAD_NPUBBYTES);
  const ct = na.aeadEncrypt(plaintext, ad(RECORD_MAGIC, keys.vaultId, entryId, keys.epochId), nonce, keys.record);
  return `${RECORD_MAGIC} ${keys.epochId} ${encodeB64(Buffer.concat([nonce, ct]))}\n`;
}

/** The epoch a record claims (unauthenticated), or null if the text is not a record. */
export function recordEpoch(text: string): string | null {
  const m = /^coffer-vault-record\/v1 ([0-9]{8}-[0-9a-f]{8}) ([A-Za-z0-9+/]+)\n$/.exec(text);
  return m ? (m[1] as string) : null;
}

export function openRecord(keys: EpochKeys, entryId: string, text: string): Buffer {
  const m = /^coffer-vault-record\/v1 ([0-9]{8}-[0-9a-f]{8}) ([A-Za-z0-9+/]+)\n$/.exec(text);
  if (!m || m[1] !== keys.epochId) throw new CofferError('VAULT_TAMPERED', 'record is malformed');
  const raw = decodeB64(m[2] as string);
  if (!raw || raw.length < AEAD_NPUBBYTES + 16) throw new CofferError('VAULT_TAMPERED', 'record is malformed');
  const pt = sodium().aeadDecrypt(raw.subarray(AEAD_NPUBBYTES), ad(RECORD_MAGIC, keys.vaultId, entryId, keys.epochId), raw.subarray(0, AEAD_NPUBBYTES), keys.record);
  if (!pt) throw new CofferError('VAULT_TAMPERED', 'record failed authentication (altered, or moved from another entry or vault)');
  return Buffer.from(pt);
}

/** Seals an older epoch's key under this epoch's chain key. */
export function sealChain(keys: EpochKeys, olderEpochId: string, olderVk: Uint8Array): string {
  const na = sodium();
  const nonce = na.randomBytes(AEAD_NPUBBYTES);
  const ct = na.aeadEncrypt(olderVk, ad('coffer-vault-chain/v1', keys.vaultId, keys.epochId, olderEpochId), nonce, keys.chain);
  return encodeB64(Buffer.concat([nonce, ct]));
}

export function openChain(keys: EpochKeys, olderEpochId: string, sealed: string): Uint8Array {
  const raw = decodeB64(sealed);
  const na = sodium();
  const pt = raw && raw.length === AEAD_NPUBBYTES + VAULT_KEY_BYTES + 16
    ? na.aeadDecrypt(raw.subarray(AEAD_NPUBBYTES), ad('coffer-vault-chain/v1', keys.vaultId, keys.epochId, olderEpochId), raw.subarray(0, AEAD_NPUBBYTES), keys.chain)
    : null;
  if (!pt) throw new CofferError('VAULT_TAMPERED', `epoch ${keys.epochId}: the key of epoch ${olderEpochId} failed authentication`);
  const vk = na.secureAlloc(VAULT_KEY_BYTES);
  vk.set(pt);
  na.memzero(pt);
  return vk;
}

/**
 * Authenticated JSON objects (epochs, slots): line 1 is the JSON body exactly as written, line 2 is
 * `mac: B64(HMAC-SHA256(mac key, "coffer-vault-KIND/v1" ‖ 0x00 ‖ body bytes))`. The MAC covers the exact
 * bytes, so no canonical JSON is needed.
 */
export function signObject(kind: string, body: unknown, macKey: Buffer): string {
  const text = JSON.stringify(body);
  const mac = createHmac('sha256', macKey).update(`coffer-vault-${kind}/v1\0`).update(text, 'utf8').digest();
  return `${text}\nmac: ${encodeB64(mac)}\n`;
}

export interface SignedObject<T> {
  readonly body: T;
  readonly text: string;
  readonly mac: Buffer;
}

export function parseSignedObject<T>(raw: string, what: string): SignedObject<T> {
  const m = /^([^\n]+)\nmac: ([A-Za-z0-9+/]{43})\n$/.exec(raw);
  const mac = m ? decodeB64(m[2] as string) : null;
  if (!m || !mac) throw new CofferError('VAULT_TAMPERED', `${what} is malformed`);
  let body: T;
  try {
    body = JSON.parse(m[1] as string) as T;
  } catch {
    throw new CofferError('VAULT_TAMPERED', `${what} is malformed`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CofferError('VAULT_TAMPERED', `${what} is malformed`);
  return { body, text: m[1] as string, mac };
}

export function verifyObject(kind: string, obj: SignedObject<unknown>, macKey: Buffer): boolean {
  const mac = createHmac('sha256', macKey).update(`coffer-vault-${kind}/v1\0`).update(obj.text, 'utf8').digest();
  return timingSafeEqual(mac, obj.mac);
}
