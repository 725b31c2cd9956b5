import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { goStdDecode, GoBase64Error } from './gobase64';
import { capabilitiesFor, parsePolicy } from './acl';
import { parseDurationSeconds } from './server';

describe("goStdDecode (Go's base64.StdEncoding)", () => {
  it('round-trips anything Node encodes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      expect(goStdDecode(Buffer.from(bytes).toString('base64'))).toEqual(Buffer.from(bytes));
    }));
  });

  it("reports Go's CorruptInputError offsets", () => {
    const cases: [string, number][] = [
      ['QQ', 0], ['QQ=', 3], ['Q===', 1], ['=', 0], ['QUJD\nQQ', 5], ['QQ==\nQ', 5], ['QUJD QUJD', 4], ['QUJD-', 4], ['QUJD_', 4], ['QUJ=A', 4],
    ];
    for (const [s, off] of cases) {
      expect(() => goStdDecode(s), JSON.stringify(s)).toThrow(new GoBase64Error(off));
      expect(() => goStdDecode(s)).toThrow(`illegal base64 data at input byte ${off}`);
    }
  });

  it('skips CR/LF anywhere and accepts non-zero trailing bits (not Strict)', () => {
    expect(goStdDecode('YW\r\nJj').toString()).toBe('abc');
    expect(goStdDecode('QQ=\n=').toString()).toBe('A');
    expect(goStdDecode('QR==')).toEqual(Buffer.from([0x41]));
    expect(goStdDecode('')).toEqual(Buffer.alloc(0));
  });
});

describe('ACL policies', () => {
  it('parses HCL path blocks and rejects unknown capabilities', () => {
    const rules = parsePolicy(`# team\npath "transit/decrypt/team-kek" {\n  capabilities = ["update"]\n}\npath "transit/keys/+" { capabilities = ["read", "list"] }`);
    expect(rules.map((r) => [r.pattern, [...r.capabilities]])).toEqual([['transit/decrypt/team-kek', ['update']], ['transit/keys/+', ['read', 'list']]]);
    expect(() => parsePolicy('path "x" { capabilities = ["fly"] }')).toThrow(/invalid capability/);
    expect(() => parsePolicy('garbage')).toThrow(/failed to parse policy/);
  });

  it('matches exact, glob and + segments; deny wins on its rule', () => {
    const p = [parsePolicy(`path "transit/*" { capabilities = ["read"] }\npath "transit/keys/+/rotate" { capabilities = ["update"] }\npath "transit/keys/locked/rotate" { capabilities = ["deny"] }`)];
    expect([...capabilitiesFor(p, 'transit/keys/a')]).toEqual(['read']);
    expect([...capabilitiesFor(p, 'transit/keys/a/rotate')]).toEqual(['update']);
    expect([...capabilitiesFor(p, 'transit/keys/locked/rotate')]).toEqual([]);
    expect([...capabilitiesFor(p, 'other/x')]).toEqual([]);
  });
});

describe('durations', () => {
  it('accepts seconds and Go duration strings', () => {
    expect(parseDurationSeconds(30)).toBe(30);
    expect(parseDurationSeconds('45')).toBe(45);
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds(undefined)).toBe(0);
    expect(() => parseDurationSeconds('soon')).toThrow('time: invalid duration "soon"');
  });
});
