/**
 * Key slots: each one wraps the vault key VK_e of every epoch for one way in. Slot types form an
 * extensible union; a kind supplies (1) the Recipient that wraps VK from the slot's public data alone
 * (so rotation needs no secrets) and (2) the Identities that may unwrap it from the credentials given.
 *
 *   passphrase  the slot has its own X25519 key pair; VK is sealed to the public key, and the secret
 *               key is stored in the slot wrapped by Argon2id (a coffer header with one argon2id
 *               stanza). Changing the passphrase rewraps only that secret key.
 *   recovery    the X25519 key pair is derived from the recovery key (see recovery.ts).
 *   x25519      a member's public key (`coffer1…`); unlocked with their identity file.
 *   piv-p256, vault-transit   registered by those providers with `registerSlotKind`; generic
 *               `recipientSlotKind` covers any provider whose recipient string parses with parseRecipient.
 */
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { encodeHeader, parseHeader, verifyHeaderMac } from '../format/header';
import { unwrapKey } from '../format/file';
import { parseRecipient } from '../keys/recipients';
import { PassphraseIdentity, PassphraseRecipient, DEFAULT_ARGON2, type Argon2Params } from '../keys/passphrase';
import { X25519Identity, X25519Recipient } from '../keys/x25519';
import { PIV_STANZA } from '../keys/pkcs11-p256';
import type { Identity, ProviderUI, Recipient } from '../keys/types';
import { decodeRecoveryKey, recoverySecretKey } from './recovery';

export type SlotType = 'passphrase' | 'recovery' | 'x25519' | 'piv-p256' | 'vault-transit';

/** The signed body of `slots/<id>.slot`. */
export interface SlotBody {
  readonly v: 1;
  readonly vault: string;
  readonly slot: string;
  readonly type: SlotType;
  readonly label: string;
  readonly fingerprint: string;
  /** ISO 8601 creation time. */
  readonly created: string;
  /** Epoch whose MAC key signed this body. */
  readonly epoch: string;
  /** Public recipient string VK is wrapped to (`coffer1…` for passphrase, recovery and x25519 slots). */
  readonly recipient: string;
  /** passphrase slots: a coffer header (text) wrapping the slot's X25519 secret key with argon2id. */
  readonly secret?: string;
}

/** What a person offers to unlock a vault. Providers add their identities to `identities`. */
export interface UnlockCredentials {
  readonly identities?: readonly Identity[];
  readonly passphrase?: string;
  /** Ask for the passphrase through the ProviderUI if a passphrase slot exists and nothing else opened the vault. */
  readonly askPassphrase?: boolean;
  readonly recoveryKey?: string;
}

/** Identities for one slot; `secret` (passphrase slots) is the slot's X25519 secret, kept for passwd. */
export interface SlotIdentities {
  readonly identities: Identity[];
  readonly secret?: Uint8Array;
}

export interface SlotKind {
  readonly type: SlotType;
  recipient(slot: SlotBody): Recipient;
  identities(slot: SlotBody, creds: UnlockCredentials, ui: ProviderUI): Promise<SlotIdentities>;
}

/** A slot kind for providers whose public recipient string parses with parseRecipient. */
export function recipientSlotKind(type: SlotType): SlotKind {
  return {
    type,
    recipient: (slot) => parseRecipient(slot.recipient),
    identities: (_slot, creds) => Promise.resolve({ identities: [...(creds.identities ?? [])] }),
  };
}

const passphraseKind: SlotKind = {
  type: 'passphrase',
  recipient: (slot) => X25519Recipient.parse(slot.recipient),
  async identities(slot, creds, ui) {
    const pass = creds.passphrase;
    if (pass === undefined || slot.secret === undefined) return { identities: [] };
    const header = parseHeader(Buffer.from(slot.secret, 'latin1'));
    const sk = await unwrapKey(header.stanzas, [new PassphraseIdentity(pass)], ui, (k) => verifyHeaderMac(header, k));
    const id = new X25519Identity(sk);
    const kept = sodium().secureAlloc(32);
    kept.set(sk);
    sodium().memzero(sk);
    return { identities: [id], secret: kept };
  },
};

const recoveryKind: SlotKind = {
  type: 'recovery',
  recipient: (slot) => X25519Recipient.parse(slot.recipient),
  identities(_slot, creds) {
    if (creds.recoveryKey === undefined) return Promise.resolve({ identities: [] });
    const rk = decodeRecoveryKey(creds.recoveryKey);
    const sk = recoverySecretKey(rk);
    sodium().memzero(rk);
    const id = new X25519Identity(sk);
    sodium().memzero(sk);
    return Promise.resolve({ identities: [id] });
  },
};

const kinds = new Map<string, SlotKind>([
  ['passphrase', passphraseKind],
  ['recovery', recoveryKind],
  ['x25519', recipientSlotKind('x25519')],
  // Hardware keys: anyone wraps to the enrolled public key; the token's stub identity unwraps.
  ['piv-p256', recipientSlotKind('piv-p256')],
]);

/** Stanza type of a recipient → slot type, for `grant`. Providers register theirs. */
const slotTypeByStanza = new Map<string, SlotType>([['X25519', 'x25519'], [PIV_STANZA, 'piv-p256']]);

export function registerSlotKind(kind: SlotKind, stanzaType?: string): void {
  kinds.set(kind.type, kind);
  if (stanzaType) slotTypeByStanza.set(stanzaType, kind.type);
}

export function slotKind(type: string): SlotKind {
  const k = kinds.get(type);
  if (!k) throw new CofferError('VAULT_INVALID', `this build of coffer does not know key slots of type "${type}"`);
  return k;
}

export function slotTypeForRecipient(r: Recipient): SlotType {
  const t = slotTypeByStanza.get(r.type);
  if (!t) throw new CofferError('BAD_RECIPIENT', `recipients of type ${r.type} cannot be vault members in this build`);
  return t;
}

/** A fresh key pair for a passphrase slot: the public recipient, the argon2id-wrapped secret, and the secret key (secure memory). */
export function newPassphraseSlotKeys(passphrase: string, kdf: Argon2Params = DEFAULT_ARGON2): { recipient: X25519Recipient; secret: string; secretKey: Uint8Array } {
  const na = sodium();
  const kp = na.boxKeypair();
  const secretKey = na.secureAlloc(32);
  secretKey.set(kp.secretKey);
  na.memzero(kp.secretKey);
  return { recipient: new X25519Recipient(kp.publicKey), secret: wrapSlotSecret(secretKey, passphrase, kdf), secretKey };
}

/** The `secret` field of a passphrase slot: the slot's X25519 secret key wrapped under a passphrase. */
export function wrapSlotSecret(secretKey: Uint8Array, passphrase: string, kdf: Argon2Params = DEFAULT_ARGON2): string {
  const stanzas = new PassphraseRecipient(passphrase, kdf).wrap(secretKey);
  return encodeHeader(stanzas, secretKey).toString('latin1');
}
