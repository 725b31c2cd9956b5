/**
 * PIV slots Coffer uses for key agreement: 9d (Key Management) and the twenty retired
 * key-management slots 82–95. Keys are found on the token by object class and label or public
 * key; a slot is recognised from the object labels that ykcs11 ("Private key for Key Management",
 * "Private key for Retired Key 3") and OpenSC ("KEY MAN key", "Retired KEY MAN 3") give, never from
 * a fixed CKA_ID, because the two modules number the retired slots differently (ykcs11: CKA_ID 5…24
 * for 82…95; OpenSC: "05"…"24" written as hex bytes, so 0x05…0x09, 0x10…0x24).
 */
import { CofferError } from '../../errors';

export const PIV_SLOTS: readonly string[] = ['9d', ...Array.from({ length: 20 }, (_, i) => (0x82 + i).toString(16))];

export function parsePivSlot(text: string): string {
  const s = text.trim().toLowerCase().replace(/^0x/, '');
  if (!PIV_SLOTS.includes(s)) {
    throw new CofferError('USAGE', `PIV slot "${text}" cannot be used: choose 9d or a retired slot 82…95 (9a, 9c and 9e are for authentication and signatures)`);
  }
  return s;
}

/** The PIV slot an object label names, for ykcs11's and OpenSC's labelling, or null. */
export function pivSlotFromLabel(label: string): string | null {
  const l = label.toLowerCase();
  if (l.includes('retired')) {
    // ykcs11 "Private key for Retired Key 3", OpenSC "Retired KEY MAN 3" (and certificates alike): the last number.
    const m = /(\d{1,2})\D*$/.exec(l);
    const n = m ? Number(m[1]) : 0;
    return n >= 1 && n <= 20 ? (0x81 + n).toString(16) : null;
  }
  if (/key management|key man\b/.test(l)) return '9d';
  if (/piv auth/.test(l)) return '9a';
  if (/digital signature|\bsign(ature)? (key|pubkey)/.test(l)) return '9c';
  if (/card auth/.test(l)) return '9e';
  return null;
}

/**
 * The CKA_ID Yubico's ykcs11 uses to choose the slot when it *generates* a key (its documented
 * mapping: 9a=1, 9c=2, 9d=3, 9e=4, 82…95 = 5…24). Only used for generation on ykcs11, where the
 * template's CKA_ID is the only way to say which slot; lookups never rely on it.
 */
export function ykcs11GenerateId(slot: string): number {
  const n = parseInt(slot, 16);
  if (slot === '9d') return 3;
  if (n >= 0x82 && n <= 0x95) return n - 0x82 + 5;
  throw new CofferError('USAGE', `PIV slot ${slot} is not a key-agreement slot`);
}
