/**
 * X25519 recipients: libsodium sealed boxes (crypto_box_seal) to a member's public key.
 * Stanza: `-> X25519` with an 80-byte body = crypto_box_seal(key, recipientPublicKey).
 * Recipient string: bech32 "coffer1…" of the 32-byte public key. Identity: "COFFER-SECRET-KEY-1…".
 */
import { CofferError } from '../errors';
import { BOX_SEALBYTES, sodium } from '../crypto/sodium';
import { decodeBech32, encodeBech32 } from './bech32';
import { fingerprint } from './fingerprint';
import type { Identity, Recipient, Stanza } from './types';

export const X25519_STANZA = 'X25519';
export const X25519_RECIPIENT_HRP = 'coffer';
export const X25519_IDENTITY_HRP = 'coffer-secret-key-';
const KEY_BYTES = 32;

export class X25519Recipient implements Recipient {
  readonly type = X25519_STANZA;
  readonly fingerprint: string;
  constructor(readonly publicKey: Uint8Array) {
    if (publicKey.byteLength !== KEY_BYTES) throw new CofferError('BAD_RECIPIENT', 'X25519 public key must be 32 bytes');
    this.fingerprint = fingerprint('x25519', publicKey);
  }
  static parse(text: string): X25519Recipient {
    return new X25519Recipient(decodeBech32(text.trim(), X25519_RECIPIENT_HRP, 'BAD_RECIPIENT', 'recipient'));
  }
  toString(): string {
    return encodeBech32(X25519_RECIPIENT_HRP, this.publicKey);
  }
  wrap(key: Uint8Array): Stanza[] {
    return [{ type: X25519_STANZA, args: [], body: sodium().boxSeal(key, this.publicKey) }];
  }
}

export class X25519Identity implements Identity {
  readonly kind = 'x25519';
  readonly interactive = false;
  readonly publicKey: Uint8Array;
  private readonly secretKey: Uint8Array;
  constructor(secretKey: Uint8Array) {
    if (secretKey.byteLength !== KEY_BYTES) throw new CofferError('BAD_IDENTITY_FILE', 'X25519 secret key must be 32 bytes');
    const na = sodium();
    this.secretKey = na.secureAlloc(KEY_BYTES);
    this.secretKey.set(secretKey);
    this.publicKey = na.scalarmultBase(this.secretKey);
  }
  static generate(): X25519Identity {
    const kp = sodium().boxKeypair();
    const id = new X25519Identity(kp.secretKey);
    sodium().memzero(kp.secretKey);
    return id;
  }
  static parse(text: string): X25519Identity {
    const sk = decodeBech32(text.trim(), X25519_IDENTITY_HRP, 'BAD_IDENTITY_FILE', 'identity');
    try {
      return new X25519Identity(sk);
    } finally {
      sodium().memzero(sk);
    }
  }
  recipient(): X25519Recipient {
    return new X25519Recipient(this.publicKey);
  }
  toString(): string {
    return encodeBech32(X25519_IDENTITY_HRP, this.secretKey, true);
  }
  unwrap(stanzas: readonly Stanza[]): Promise<Uint8Array | null> {
    for (const s of stanzas) {
      if (s.type !== X25519_STANZA) continue;
      if (s.args.length !== 0 || s.body.byteLength !== KEY_BYTES + BOX_SEALBYTES) {
        return Promise.reject(new CofferError('HEADER_INVALID', 'invalid header: malformed X25519 stanza'));
      }
      const key = sodium().boxSealOpen(s.body, this.publicKey, this.secretKey);
      if (key) return Promise.resolve(key);
    }
    return Promise.resolve(null);
  }
  /** Wipes the secret key. */
  destroy(): void {
    sodium().memzero(this.secretKey);
  }
}
