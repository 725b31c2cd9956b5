/**
 * Passphrase recipients: Argon2id (crypto_pwhash, v1.3) derives a wrapping key that seals the
 * 32-byte key with XChaCha20-Poly1305 (all-zero nonce: the key is unique to this random salt).
 * Stanza: `-> argon2id SALT OPS MEMKIB` with body = AEAD(key) (48 bytes). Parameters read from a
 * file are bounded, and a header may hold at most one such stanza, so a hostile file cannot make us
 * spend unbounded memory or time.
 */
import { CofferError } from '../errors';
import { AEAD_ABYTES, AEAD_NPUBBYTES, PWHASH_SALTBYTES, sodium } from '../crypto/sodium';
import { decodeB64, encodeB64 } from '../format/base64';
import type { Identity, ProviderUI, Recipient, Stanza } from './types';

export const PASSPHRASE_STANZA = 'argon2id';

export interface Argon2Params {
  /** Passes (crypto_pwhash opslimit). */
  readonly opsLimit: number;
  /** Memory in KiB. */
  readonly memKiB: number;
}

/** Defaults for new files: 3 passes over 64 MiB (about 0.2 s here with sodium-native). */
export const DEFAULT_ARGON2: Argon2Params = { opsLimit: 3, memKiB: 64 * 1024 };
/** Bounds enforced when reading: at most 16 passes and 1 GiB; at least 1 pass and 8 KiB (libsodium's floor). */
export const ARGON2_BOUNDS = { minOps: 1, maxOps: 16, minMemKiB: 8, maxMemKiB: 1024 * 1024 } as const;

const ZERO_NONCE = new Uint8Array(AEAD_NPUBBYTES);
const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

/** An exact memory size: whole MiB as MiB, anything else in KiB (never rounded). */
export function formatKiB(kib: number): string {
  return kib >= 1024 && kib % 1024 === 0 ? `${kib / 1024} MiB` : `${kib} KiB`;
}

export function checkParams(p: Argon2Params): void {
  const b = ARGON2_BOUNDS;
  if (p.opsLimit < b.minOps || p.opsLimit > b.maxOps) {
    throw new CofferError('KDF_LIMITS', `Argon2id with ${p.opsLimit} passes is outside the accepted range of ${b.minOps} to ${b.maxOps} passes`);
  }
  if (p.memKiB < b.minMemKiB) {
    throw new CofferError('KDF_LIMITS', `Argon2id memory of ${formatKiB(p.memKiB)} is below the minimum of ${formatKiB(b.minMemKiB)}`);
  }
  if (p.memKiB > b.maxMemKiB) {
    throw new CofferError('KDF_LIMITS', `Argon2id memory of ${p.memKiB} KiB is above the maximum of ${formatKiB(b.maxMemKiB)} (${b.maxMemKiB} KiB)`);
  }
}

function deriveKey(passphrase: string, salt: Uint8Array, p: Argon2Params): Uint8Array {
  const na = sodium();
  const pw = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  try {
    return na.argon2id(32, pw, salt, p.opsLimit, p.memKiB * 1024);
  } finally {
    na.memzero(pw);
  }
}

export class PassphraseRecipient implements Recipient {
  readonly type = PASSPHRASE_STANZA;
  constructor(private readonly passphrase: string, private readonly params: Argon2Params = DEFAULT_ARGON2) {
    if (passphrase.length === 0) throw new CofferError('USAGE', 'the passphrase is empty');
    checkParams(params);
  }
  wrap(key: Uint8Array): Stanza[] {
    const na = sodium();
    const salt = na.randomBytes(PWHASH_SALTBYTES);
    const kek = deriveKey(this.passphrase, salt, this.params);
    try {
      const body = na.aeadEncrypt(key, null, ZERO_NONCE, kek);
      return [{ type: PASSPHRASE_STANZA, args: [encodeB64(salt), String(this.params.opsLimit), String(this.params.memKiB)], body }];
    } finally {
      na.memzero(kek);
    }
  }
}

/** Parses and bounds-checks an argon2id stanza. */
export function parsePassphraseStanza(s: Stanza): { salt: Buffer; params: Argon2Params } {
  const [saltText, ops, mem] = s.args;
  const salt = saltText === undefined ? null : decodeB64(saltText);
  if (s.args.length !== 3 || !salt || salt.length !== PWHASH_SALTBYTES || !DECIMAL.test(ops ?? '') || !DECIMAL.test(mem ?? '')) {
    throw new CofferError('HEADER_INVALID', 'invalid header: malformed argon2id stanza');
  }
  if (s.body.byteLength !== 32 + AEAD_ABYTES) throw new CofferError('HEADER_INVALID', 'invalid header: malformed argon2id stanza body');
  const params = { opsLimit: Number(ops), memKiB: Number(mem) };
  checkParams(params);
  return { salt, params };
}

/**
 * A passphrase identity. With a fixed passphrase (automation) it is non-interactive; otherwise it
 * asks through the ProviderUI, and only when the header really has an argon2id stanza.
 */
export class PassphraseIdentity implements Identity {
  readonly kind = 'passphrase';
  readonly interactive: boolean;
  constructor(private readonly passphrase?: string, private readonly prompt = 'Passphrase') {
    this.interactive = passphrase === undefined;
  }
  async unwrap(stanzas: readonly Stanza[], ui: ProviderUI): Promise<Uint8Array | null> {
    const mine = stanzas.filter((s) => s.type === PASSPHRASE_STANZA);
    if (mine.length === 0) return null;
    // As age does for scrypt: one passphrase stanza per header, so a crafted header costs at most
    // one Argon2id (each may ask for up to 16 passes over 1 GiB) before it is refused.
    if (mine.length > 1) throw new CofferError('HEADER_INVALID', `invalid header: it has ${mine.length} passphrase (argon2id) stanzas; at most one is allowed`);
    const parsed = mine.map(parsePassphraseStanza); // bounds are checked before any work or prompt
    const pass = this.passphrase ?? (await ui.requestSecret({ kind: 'passphrase', prompt: this.prompt }));
    const na = sodium();
    for (const [i, p] of parsed.entries()) {
      const kek = deriveKey(pass, p.salt, p.params);
      const key = na.aeadDecrypt((mine[i] as Stanza).body, null, ZERO_NONCE, kek);
      na.memzero(kek);
      if (key) return key;
    }
    throw new CofferError('WRONG_PASSPHRASE', 'wrong passphrase');
  }
}
