import { describe, expect, it } from 'vitest';
import {
  parseTransitRecipientString, formatTransitRecipientString, TransitSlotRecipient,
} from '../../../../main/core/keys/transit/slot';
import { parseRecipient } from '../../../../main/core/keys/recipients';
import { CofferError } from '../../../../main/core/errors';

// The vault slot kind built on these strings is tested in test/core/vault/transit-slot.test.ts.

describe('vault-transit recipient strings', () => {
  it('parse and format, with an optional recorded address', () => {
    expect(parseTransitRecipientString('vault-transit:transit/team-kek')).toEqual({ ref: { mount: 'transit', key: 'team-kek' }, address: undefined });
    expect(parseTransitRecipientString('vault-transit:team/transit/k@https://vault.example.com:8200/')).toEqual({ ref: { mount: 'team/transit', key: 'k' }, address: 'https://vault.example.com:8200' });
    expect(formatTransitRecipientString({ mount: 'transit', key: 'k' }, 'https://v.example')).toBe('vault-transit:transit/k@https://v.example');
    for (const bad of ['vault-transit:k', 'vault-transit:/k', 'vault-transit:transit/', 'vault-transit:transit/a b', 'vault-transit:t/k@ftp://x']) {
      expect(() => parseTransitRecipientString(bad), bad).toThrow(CofferError);
    }
    expect(TransitSlotRecipient.parse('vault-transit:transit/k').fingerprint).toBe('transit/k');
  });

  it('the recipient parser knows the vault-transit: prefix without the vault being loaded', () => {
    const r = parseRecipient('vault-transit:transit/team-kek@https://vault.example.com');
    expect(r).toBeInstanceOf(TransitSlotRecipient);
    expect(r.toString()).toBe('vault-transit:transit/team-kek@https://vault.example.com');
  });
});

