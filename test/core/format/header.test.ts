import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../../../main/core/errors';
import { decodeB64, encodeB64 } from '../../../main/core/format/base64';
import { encodeHeader, findHeaderEnd, parseHeader, verifyHeaderMac } from '../../../main/core/format/header';
import type { Stanza } from '../../../main/core/keys/types';

const key = randomBytes(32);
const argChar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const arg = fc.array(argChar, { minLength: 1, maxLength: 20 }).map((a) => a.join(''));
const stanza = fc.record({
  type: arg,
  args: fc.array(arg, { maxLength: 5 }),
  body: fc.uint8Array({ maxLength: 300 }),
});

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CofferError);
    return (e as CofferError).code;
  }
  return 'no error';
}

describe('header', () => {
  it('round-trips any stanzas and verifies its MAC (property)', () => {
    fc.assert(fc.property(fc.array(stanza, { minLength: 1, maxLength: 6 }), (stanzas) => {
      const bytes = encodeHeader(stanzas as Stanza[], key);
      expect(findHeaderEnd(Buffer.concat([bytes, Buffer.from('payload')]))).toBe(bytes.length);
      const h = parseHeader(bytes);
      expect(h.stanzas.map((s) => [s.type, [...s.args], Buffer.from(s.body).toString('hex')]))
        .toEqual(stanzas.map((s) => [s.type, s.args, Buffer.from(s.body).toString('hex')]));
      verifyHeaderMac(h, key);
      expect(code(() => verifyHeaderMac(h, randomBytes(32)))).toBe('HEADER_MAC');
    }), { numRuns: 200 });
  });

  it('ends every body with a short line (an empty one after a full 48-byte multiple)', () => {
    const text = encodeHeader([{ type: 'T', args: [], body: randomBytes(48) }], key).toString('latin1');
    expect(text.split('\n')[2]).toHaveLength(64);
    expect(text.split('\n')[3]).toBe('');
  });

  it('accepts only canonical base64', () => {
    expect(decodeB64('AA')).toEqual(Buffer.from([0]));
    expect(decodeB64('AB')).toBeNull(); // non-zero trailing bits
    expect(decodeB64('AA==')).toBeNull(); // padding
    expect(decodeB64('A A')).toBeNull();
    expect(decodeB64('A')).toBeNull();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      expect(decodeB64(encodeB64(b))?.equals(Buffer.from(b))).toBe(true);
    }));
  });

  it('rejects malformed headers with typed errors', () => {
    const good = encodeHeader([{ type: 'X25519', args: [], body: randomBytes(80) }], key).toString('latin1');
    const variants: [string, string][] = [
      [good.replace('coffer/v1', 'coffer/v2'), 'UNSUPPORTED_VERSION'],
      [good.replace('coffer/v1', 'cofxer/v1'), 'BAD_MAGIC'],
      [good.replace('-> X25519', '->  X25519'), 'HEADER_INVALID'],
      [good.replace('-> X25519', '-> X25519 '), 'HEADER_INVALID'],
      [good.replace('-> X25519\n', '-> X25519\r\n'), 'HEADER_INVALID'],
      [good.replace('\n--- ', '\n---  '), 'HEADER_INVALID'],
      [good.replace(/\n--- (.)/, '\n--- A$1'), 'HEADER_INVALID'],
      [`${good.slice(0, good.indexOf('\n---'))}\n\n${good.slice(good.indexOf('\n---') + 1)}`, 'HEADER_INVALID'],
    ];
    for (const [text, want] of variants) {
      const b = Buffer.from(text, 'latin1');
      expect(code(() => parseHeader(b.subarray(0, Math.max(findHeaderEnd(b), 0) || b.length)))).toBe(want);
    }
  });

  it('refuses headers above 64 KiB before reading further', () => {
    const big = Buffer.concat([Buffer.from('coffer/v1\n'), Buffer.alloc(70_000, 0x41)]);
    expect(code(() => findHeaderEnd(big))).toBe('HEADER_TOO_LARGE');
    expect(findHeaderEnd(Buffer.from('coffer/v1\n-> X'))).toBe(-1);
    expect(code(() => findHeaderEnd(Buffer.from('PK\x03\x04')))).toBe('BAD_MAGIC');
  });
});
