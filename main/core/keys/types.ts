import { CofferError } from '../errors';

/**
 * Key providers, modelled on age: a Recipient wraps a 32-byte key (a file key K or a vault
 * key VK) into stanzas; an Identity unwraps. `unwrap` resolves `null` for "not mine, try the
 * next identity" and throws a CofferError for "mine but failed" (wrong PIN, Vault denied, tamper).
 */

/** One header stanza: `-> type arg1 arg2…` followed by a base64 body. See docs/FORMAT.md. */
export interface Stanza {
  readonly type: string;
  readonly args: readonly string[];
  readonly body: Uint8Array;
}

export interface SecretRequest {
  readonly kind: 'passphrase' | 'pin';
  /** What to show the person, e.g. "Passphrase for vault Team" or "PIN for YubiKey 5 (serial 123)". */
  readonly prompt: string;
  /** Ask twice and compare (new passphrases). */
  readonly confirm?: boolean;
}

export interface ProviderNotice {
  readonly kind: 'touch' | 'contacting' | 'info';
  readonly message: string;
}

/** How an interactive provider talks to a person: a TTY in the CLI, a dialog in the app. */
export interface ProviderUI {
  requestSecret(req: SecretRequest): Promise<string>;
  notify(notice: ProviderNotice): void;
}

export interface Recipient {
  /** Stanza type this recipient writes, e.g. "X25519". */
  readonly type: string;
  /** Short human-comparable fingerprint of the public key, if any. */
  readonly fingerprint?: string;
  wrap(key: Uint8Array): Stanza[] | Promise<Stanza[]>;
}

export interface Identity {
  /** Kind for display and ordering, e.g. "x25519", "passphrase", "piv-p256", "vault-transit". */
  readonly kind: string;
  /** Interactive identities (PIN, passphrase prompt) are tried after non-interactive ones. */
  readonly interactive: boolean;
  unwrap(stanzas: readonly Stanza[], ui: ProviderUI): Promise<Uint8Array | null>;
}

/** A ProviderUI for automation: it never prompts. */
export const nonInteractiveUI: ProviderUI = {
  requestSecret(req: SecretRequest): Promise<string> {
    return Promise.reject(new CofferError('USAGE', `a ${req.kind} is needed but there is no terminal to ask on; supply it by file or environment variable`));
  },
  notify(): void {
    /* nothing to show */
  },
};
