import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initSodium } from '../../../main/core/crypto/sodium';
import { decodeRecoveryKey, encodeRecoveryKey, generateRecoveryKey } from '../../../main/core/vault';

describe('recovery key encoding', () => {
  it('round-trips any 20 bytes; the text is 9 groups of 4 Crockford base32 characters', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (key) => {
      const text = encodeRecoveryKey(key);
      expect(text).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){8}[0-9A-HJKMNP-TV-Z]{4}$/);
      expect(Buffer.from(decodeRecoveryKey(text)).equals(Buffer.from(key))).toBe(true);
    }));
  });

  it('accepts lower case, spaces instead of dashes, O for 0 and I/L for 1', async () => {
    await initSodium();
    const { key, text } = generateRecoveryKey();
    const sloppy = text.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    expect(Buffer.from(decodeRecoveryKey(sloppy)).equals(Buffer.from(key))).toBe(true);
  });

  it('catches every single-character typo of a fixed key with the checksum', () => {
    // A fixed key keeps this deterministic: a 20-bit checksum misses about one random change in a million.
    const text = encodeRecoveryKey(Uint8Array.from({ length: 20 }, (_, i) => i * 13));
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    let caught = 0;
    let tried = 0;
    const chars = text.replace(/-/g, '');
    for (let i = 0; i < chars.length; i++) {
      for (const c of alphabet) {
        if (c === chars[i]) continue;
        tried++;
        const bad = chars.slice(0, i) + c + chars.slice(i + 1);
        try {
          decodeRecoveryKey(bad);
        } catch (e) {
          expect(e).toMatchObject({ code: 'BAD_RECOVERY_KEY' });
          caught++;
        }
      }
    }
    expect(caught).toBe(tried);
  });

  it('rejects the wrong length and foreign characters with a readable message', () => {
    expect(() => decodeRecoveryKey('ABCD-EFGH')).toThrow(/36 characters/);
    expect(() => decodeRecoveryKey(`${'A'.repeat(35)}U`)).toThrow(/not a recovery key character/);
  });
});
