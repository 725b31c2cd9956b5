/**
 * Transit named keys ("policies" in Vault's code), following sdk/helper/keysutil/policy.go:
 * versioned key material, the `vault:vN:` ciphertext template, min_decryption_version and
 * min_encryption_version checks, and real AEAD (AES-256-GCM or ChaCha20-Poly1305, 96-bit random
 * nonce prepended to ciphertext‖tag) through node:crypto.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { goStdDecode, goStdEncode } from './gobase64';

export type TransitKeyType = 'aes256-gcm96' | 'chacha20-poly1305';
export const KEY_TYPES: readonly TransitKeyType[] = ['aes256-gcm96', 'chacha20-poly1305'];

/** keysutil.ErrTooOld */
export const ERR_TOO_OLD = 'ciphertext or signature version is disallowed by policy (too old)';

/** A per-item failure that Vault reports as a user error (400), mirroring errutil.UserError. */
export class UserError extends Error {}

const NONCE = 12;
const TAG = 16;

interface KeyVersion {
  readonly key: Buffer;
  readonly created: Date;
}

export class TransitKey {
  readonly name: string;
  readonly type: TransitKeyType;
  readonly versions = new Map<number, KeyVersion>();
  latestVersion = 0;
  minDecryptionVersion = 1;
  minEncryptionVersion = 0;
  deletionAllowed = false;

  constructor(name: string, type: TransitKeyType) {
    this.name = name;
    this.type = type;
    this.rotate();
  }

  /** policy.go Rotate: a new random 256-bit key becomes the latest version. */
  rotate(): void {
    this.latestVersion++;
    this.versions.set(this.latestVersion, { key: randomBytes(32), created: new Date() });
  }

  private cipherName(): 'aes-256-gcm' | 'chacha20-poly1305' {
    return this.type === 'aes256-gcm96' ? 'aes-256-gcm' : 'chacha20-poly1305';
  }

  /** policy.go EncryptWithFactory: version checks, then Go-strict base64 of the plaintext. */
  encrypt(version: number, plaintextB64: string): { ciphertext: string; version: number } {
    let ver = version;
    if (ver === 0) ver = this.latestVersion;
    else if (ver < 0) throw new UserError('requested version for encryption is negative');
    else if (ver > this.latestVersion) throw new UserError('requested version for encryption is higher than the latest key version');
    else if (ver < this.minEncryptionVersion) throw new UserError('requested version for encryption is less than the minimum encryption key version');
    let plaintext: Buffer;
    try {
      plaintext = goStdDecode(plaintextB64);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    return { ciphertext: this.seal(ver, plaintext), version: ver };
  }

  seal(ver: number, plaintext: Uint8Array): string {
    const kv = this.versions.get(ver);
    if (!kv) throw new UserError('no such key version');
    const nonce = randomBytes(NONCE);
    const c = createCipheriv(this.cipherName() as 'aes-256-gcm', kv.key, nonce, { authTagLength: TAG });
    const body = Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
    return `vault:v${ver}:${goStdEncode(body)}`;
  }

  /** policy.go DecryptWithFactory: prefix, fields, version window, base64, then AEAD open. */
  decrypt(value: string): { plaintext: Buffer; version: number } {
    const prefix = 'vault:v';
    if (!value.startsWith(prefix)) throw new UserError('invalid ciphertext: no prefix');
    const rest = value.slice(prefix.length);
    const colon = rest.indexOf(':');
    if (colon < 0) throw new UserError('invalid ciphertext: wrong number of fields');
    const verText = rest.slice(0, colon);
    // strconv.Atoi: optional sign, decimal digits only.
    if (!/^[+-]?[0-9]+$/.test(verText)) throw new UserError('invalid ciphertext: version number could not be decoded');
    let ver = Number.parseInt(verText, 10);
    if (ver === 0) ver = 1; // compatibility with the first implementation, where keys started at 0
    if (ver > this.latestVersion) throw new UserError('invalid ciphertext: version is too new');
    if (this.minDecryptionVersion > 0 && ver < this.minDecryptionVersion) throw new UserError(ERR_TOO_OLD);
    let decoded: Buffer;
    try {
      decoded = goStdDecode(rest.slice(colon + 1));
    } catch {
      throw new UserError('invalid ciphertext: could not decode base64');
    }
    const kv = this.versions.get(ver);
    if (!kv) throw new UserError('no such key version');
    // policy.go SymmetricDecryptRaw
    if (decoded.length < NONCE + TAG) throw new UserError('invalid ciphertext length');
    const nonce = decoded.subarray(0, NONCE);
    const tag = decoded.subarray(decoded.length - TAG);
    const d = createDecipheriv(this.cipherName() as 'aes-256-gcm', kv.key, nonce, { authTagLength: TAG });
    d.setAuthTag(tag);
    try {
      const plaintext = Buffer.concat([d.update(decoded.subarray(NONCE, decoded.length - TAG)), d.final()]);
      return { plaintext, version: ver };
    } catch {
      // Go's crypto/cipher (GCM) and x/crypto/chacha20poly1305 error strings.
      throw new UserError(this.type === 'aes256-gcm96' ? 'cipher: message authentication failed' : 'chacha20poly1305: message authentication failed');
    }
  }

  /** path_keys.go formatKeyPolicy (the fields Coffer and the docs rely on). */
  describe(): Record<string, unknown> {
    const keys: Record<string, number> = {};
    // keysutil/policy.go handleArchiving: versions below min_decryption_version are moved to the
    // archive, so a read lists only the versions that still decrypt.
    for (const [v, kv] of this.versions) if (v >= this.minDecryptionVersion) keys[String(v)] = Math.floor(kv.created.getTime() / 1000);
    return {
      name: this.name,
      type: this.type,
      keys,
      latest_version: this.latestVersion,
      min_available_version: 0,
      min_decryption_version: this.minDecryptionVersion,
      min_encryption_version: this.minEncryptionVersion,
      deletion_allowed: this.deletionAllowed,
      derived: false,
      exportable: false,
      allow_plaintext_backup: false,
      auto_rotate_period: 0,
      imported_key: false,
      supports_encryption: true,
      supports_decryption: true,
      supports_derivation: true,
      supports_signing: false,
    };
  }
}
