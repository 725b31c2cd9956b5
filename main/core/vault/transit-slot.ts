/**
 * Vault Transit as a vault key slot kind. The recipient strings, the client source and the Recipient
 * are key-provider code (main/core/keys/transit/slot.ts); this file is the vault's side: how a
 * `vault-transit` slot yields identities at unlock. Importing it registers the slot kind.
 */
import { CofferError } from '../errors';
import { TRANSIT_STANZA, TransitIdentity } from '../keys/vault-transit';
import {
  TransitSlotRecipient, parseTransitRecipientString, registerTransitRecipients, transitClientFor, transitConfigured,
} from '../keys/transit/slot';
import { registerSlotKind, type SlotKind } from './slots';

export const transitSlotKind: SlotKind = {
  type: 'vault-transit',
  recipient: (slot) => TransitSlotRecipient.parse(slot.recipient),
  identities(slot, creds) {
    const others = [...(creds.identities ?? [])];
    const spec = parseTransitRecipientString(slot.recipient);
    if (!transitConfigured()) {
      // Reported only if no other slot opens the vault.
      return Promise.reject(new CofferError('TRANSIT_CONFIG', `this vault's "${slot.label}" slot is held by Vault Transit key ${spec.ref.mount}/${spec.ref.key}${spec.address ? ` at ${spec.address}` : ''}, but Vault is not configured here: set VAULT_ADDR and VAULT_TOKEN, or give --vault-config FILE`));
    }
    // Throws TRANSIT_ADDRESS_NOT_ALLOWED when the vault names a Vault outside the allowlist.
    const client = transitClientFor(spec);
    return Promise.resolve({ identities: [new TransitIdentity(client, { only: spec.ref }), ...others] });
  },
};

let registered = false;

/** Registers the `vault-transit:` recipient prefix and the vault-transit slot kind (idempotent). */
export function registerTransitSlots(): void {
  if (registered) return;
  registered = true;
  registerTransitRecipients();
  registerSlotKind(transitSlotKind, TRANSIT_STANZA);
}

registerTransitSlots();
