/**
 * Vault Transit as a vault key slot. The slot's recipient string is
 *
 *   vault-transit:MOUNT/KEY            e.g. vault-transit:transit/team-kek
 *   vault-transit:MOUNT/KEY@ORIGIN     e.g. vault-transit:team/transit/kek@https://vault.example.com:8200
 *
 * The optional ORIGIN records which Vault holds the key, for people and for the allowlist check: it
 * is never contacted because the vault names it. The client (address, TLS, auth) comes from local
 * configuration, installed by the CLI or the app with `setTransitClientSource`.
 *
 * The vault slot kind built on this lives next to the vault, in main/core/vault/transit-slot.ts.
 */
import { CofferError } from '../../errors';
import { registerRecipientPrefix } from '../recipients';
import type { Recipient, Stanza } from '../types';
import { checkKeyRef, type TransitClient, type TransitKeyRef } from './client';
import { checkNamedAddress, normaliseAddress } from './config';
import { TRANSIT_STANZA, TransitRecipient } from '../vault-transit';

export const TRANSIT_RECIPIENT_PREFIX = 'vault-transit:';

export interface TransitRecipientSpec {
  readonly ref: TransitKeyRef;
  /** The Vault origin the vault records, if any. */
  readonly address?: string;
}

export function parseTransitRecipientString(text: string): TransitRecipientSpec {
  const t = text.trim();
  if (!t.toLowerCase().startsWith(TRANSIT_RECIPIENT_PREFIX)) throw new CofferError('BAD_RECIPIENT', `not a vault-transit recipient: "${t.slice(0, 40)}"`);
  let rest = t.slice(TRANSIT_RECIPIENT_PREFIX.length);
  let address: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    address = normaliseAddress(rest.slice(at + 1), 'vault-transit recipient');
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) throw new CofferError('BAD_RECIPIENT', `vault-transit recipient must be vault-transit:MOUNT/KEY (got "${t}")`);
  const ref = { mount: rest.slice(0, slash), key: rest.slice(slash + 1) };
  try {
    checkKeyRef(ref);
  } catch (e) {
    throw new CofferError('BAD_RECIPIENT', (e as Error).message);
  }
  return { ref, address };
}

export function formatTransitRecipientString(ref: TransitKeyRef, address?: string): string {
  checkKeyRef(ref);
  return `${TRANSIT_RECIPIENT_PREFIX}${ref.mount}/${ref.key}${address ? `@${normaliseAddress(address, 'Vault address')}` : ''}`;
}

type ClientSource = () => TransitClient;
let source: ClientSource | undefined;
let cached: TransitClient | undefined;

/**
 * Installs how to build the Transit client (from settings and the environment). Nothing is
 * contacted until a Transit slot is actually used. Passing undefined removes it.
 */
export function setTransitClientSource(src: ClientSource | undefined): void {
  cached?.close();
  cached = undefined;
  source = src;
}

/** The configured client, created on first use; TRANSIT_CONFIG when Vault is not configured. */
export function transitClient(): TransitClient {
  if (!cached) {
    if (!source) {
      throw new CofferError('TRANSIT_CONFIG', 'this needs HashiCorp Vault Transit, which is not configured: set VAULT_ADDR (and VAULT_TOKEN, or AppRole/certificate login in --vault-config FILE)');
    }
    cached = source();
  }
  return cached;
}

/** Whether a client source is installed (without creating the client). */
export function transitConfigured(): boolean {
  return source !== undefined;
}

/** The configured client, after checking that the Vault origin the spec records (if any) is allowlisted. */
export function transitClientFor(spec: TransitRecipientSpec): TransitClient {
  const c = transitClient();
  if (spec.address) checkNamedAddress(spec.address, c.config);
  return c;
}

/** The Recipient a `vault-transit:` string parses to; the client is resolved when it wraps. */
export class TransitSlotRecipient implements Recipient {
  readonly type = TRANSIT_STANZA;
  readonly fingerprint: string;
  constructor(readonly spec: TransitRecipientSpec) {
    this.fingerprint = `${spec.ref.mount}/${spec.ref.key}`;
  }
  static parse(text: string): TransitSlotRecipient {
    return new TransitSlotRecipient(parseTransitRecipientString(text));
  }
  toString(): string {
    return formatTransitRecipientString(this.spec.ref, this.spec.address);
  }
  wrap(key: Uint8Array): Promise<Stanza[]> {
    return new TransitRecipient(transitClientFor(this.spec), this.spec.ref).wrap(key);
  }
}

let registered = false;

/** Registers the `vault-transit:` recipient prefix with the recipient parser (idempotent). */
export function registerTransitRecipients(): void {
  if (registered) return;
  registered = true;
  registerRecipientPrefix(TRANSIT_RECIPIENT_PREFIX, (t) => TransitSlotRecipient.parse(t));
}

registerTransitRecipients();
