/**
 * pkcs11-p256 pieces that need no token: recipient strings, stub lines, stanza parsing, error
 * mapping, module discovery, PIV slot names and CKA_EC_POINT decoding.
 */
import { createECDH } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { bech32 } from 'bech32';
import { initSodium } from '../../../../main/core/crypto/sodium';
import { CofferError } from '../../../../main/core/errors';
import { encodeB64 } from '../../../../main/core/format/base64';
import {
  formatPivStubFile,
  formatPivStubLine,
  parsePivStubFile,
  parsePivStubLine,
  PivP256Identity,
  PivP256Recipient,
} from '../../../../main/core/keys/pkcs11-p256';
import { parseIdentityText } from '../../../../main/core/keys/identity-file';
import { parseRecipient } from '../../../../main/core/keys/recipients';
import { mapPkcs11Error, pinIncorrectMessage } from '../../../../main/core/keys/pkcs11/errors';
import { pkcs11js } from '../../../../main/core/keys/pkcs11/lib';
import { candidateModulePaths, resolveModulePath } from '../../../../main/core/keys/pkcs11/modules';
import { parsePivSlot, pivSlotFromLabel, PIV_SLOTS, ykcs11GenerateId } from '../../../../main/core/keys/pkcs11/piv';
import { keyTag, unwrapEcPoint } from '../../../../main/core/keys/pkcs11/p256';
import type { ProviderUI, Stanza } from '../../../../main/core/keys/types';

beforeAll(async () => {
  await initSodium();
});

function point(): Buffer {
  const e = createECDH('prime256v1');
  return e.generateKeys();
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CofferError) return e.code;
    throw e;
  }
  throw new Error('did not throw');
}

const neverAsk: ProviderUI = {
  requestSecret: () => Promise.reject(new Error('must not be asked')),
  notify: () => {
    throw new Error('must not be notified');
  },
};

describe('recipient strings', () => {
  it('round-trip through bech32 with the coffer-piv prefix, compressed point and fingerprint', () => {
    const pt = point();
    const r = new PivP256Recipient(pt);
    const s = r.toString();
    expect(s).toMatch(/^coffer-piv1/);
    expect(s.length).toBeLessThan(90);
    const back = PivP256Recipient.parse(s);
    expect(back.point.equals(pt)).toBe(true);
    expect(back.fingerprint).toBe(r.fingerprint);
    expect(PivP256Recipient.parse(s.toUpperCase()).point.equals(pt)).toBe(true);
    expect(parseRecipient(s)).toBeInstanceOf(PivP256Recipient);
    expect(r.tag.equals(keyTag(pt))).toBe(true);
    expect(r.tag.byteLength).toBe(4);
  });

  it('rejects typos, other prefixes, wrong lengths and points off the curve', () => {
    const s = new PivP256Recipient(point()).toString();
    const typo = s.slice(0, -1) + (s.endsWith('q') ? 'p' : 'q');
    expect(code(() => PivP256Recipient.parse(typo))).toBe('BAD_RECIPIENT');
    expect(code(() => PivP256Recipient.parse(s.replace('coffer-piv1', 'coffer1')))).toBe('BAD_RECIPIENT');
    const short = bech32.encode('coffer-piv', bech32.toWords(Buffer.alloc(32, 1)));
    expect(code(() => PivP256Recipient.parse(short))).toBe('BAD_RECIPIENT');
    const offCurve = Buffer.alloc(33, 0xff);
    offCurve[0] = 2;
    expect(code(() => PivP256Recipient.parse(bech32.encode('coffer-piv', bech32.toWords(offCurve))))).toBe('BAD_RECIPIENT');
  });

  it('wraps 32-byte keys into a well-formed stanza with a fresh ephemeral point', () => {
    const r = new PivP256Recipient(point());
    const key = new Uint8Array(32).fill(9);
    const [a] = r.wrap(key);
    const [b] = r.wrap(key);
    expect(a?.type).toBe('piv-p256');
    expect(a?.args[0]).toBe(encodeB64(r.tag));
    expect(a?.args[1]).toMatch(/^[A-Za-z0-9+/]{44}$/);
    expect(a?.body.byteLength).toBe(48);
    expect(a?.args[1]).not.toBe(b?.args[1]);
    expect(Buffer.from(a?.body ?? []).equals(Buffer.from(b?.body ?? []))).toBe(false);
    expect(code(() => r.wrap(new Uint8Array(16)))).toBe('INTERNAL');
  });
});

describe('identity stubs', () => {
  const r = new PivP256Recipient(point());
  const stub = { recipient: r, modulePath: '/opt/My Modules/libykcs11.so', serial: '12345678', tokenLabel: 'YubiKey PIV #12345678', pivSlot: '9d', keyLabel: 'Private key for Key Management', keyId: '03' };

  it('format and parse back, with percent-encoded values and comments for people', () => {
    const text = formatPivStubFile(stub, { displayName: 'YubiKey PIV #12345678 (serial 12345678)' });
    expect(text).toContain(`# recipient: ${r.toString()}`);
    expect(text).toContain(`# fingerprint: ${r.fingerprint}`);
    expect(text).toContain('module=%2Fopt%2FMy%20Modules%2Flibykcs11.so');
    const back = parsePivStubFile(text);
    expect(back.recipient.toString()).toBe(r.toString());
    expect({ ...back, recipient: undefined }).toEqual({ ...stub, recipient: undefined });
    // Identity files accept stub lines (no secret, so no permission check is demanded).
    const parsed = parseIdentityText(text, 'stub');
    expect(parsed.secret).toBe(false);
    expect(parsed.identities[0]).toBeInstanceOf(PivP256Identity);
    expect(parsed.identities[0]?.interactive).toBe(true);
  });

  it('rejects unknown or repeated fields, missing recipient, bad hex and several stub lines', () => {
    const line = formatPivStubLine(stub);
    expect(code(() => parsePivStubLine(`${line} colour=blue`))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubLine(`${line} serial=1`))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubLine('COFFER-PIV-STUB-1 serial=1'))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubLine(line.replace('key-id=03', 'key-id=3')))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubLine(line.replace('serial=12345678', 'serial=%E0%A4%A')))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubLine('COFFER-PIV-STUB-1 recipient=coffer-piv1qqqq'))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubFile(`${line}\n${line}\n`))).toBe('BAD_IDENTITY_FILE');
    expect(code(() => parsePivStubFile('# only comments\n'))).toBe('BAD_IDENTITY_FILE');
  });
});

describe('stanza parsing before any token is touched', () => {
  const mine = new PivP256Recipient(point());
  const other = new PivP256Recipient(point());
  const id = new PivP256Identity({ recipient: mine, modulePath: '/nonexistent/module.so' });

  it('returns null for other keys\' and other types\' stanzas without asking anything', async () => {
    const st: Stanza[] = [...other.wrap(new Uint8Array(32)), { type: 'X25519', args: [], body: new Uint8Array(80) }];
    await expect(id.unwrap(st, neverAsk)).resolves.toBeNull();
  });

  it('rejects malformed piv-p256 stanzas as HEADER_INVALID', async () => {
    const [good] = mine.wrap(new Uint8Array(32));
    if (!good) throw new Error('no stanza');
    const bad: Stanza[] = [
      { ...good, args: [good.args[0] ?? ''] },
      { ...good, args: [`${good.args[0] ?? ''}=`, good.args[1] ?? ''] },
      { ...good, args: ['AAAAAAA', good.args[1] ?? ''] },
      { ...good, args: [good.args[0] ?? '', encodeB64(point())] },
      { ...good, body: good.body.subarray(0, 47) },
    ];
    for (const s of bad) await expect(id.unwrap([s], neverAsk)).rejects.toMatchObject({ code: 'HEADER_INVALID' });
    const offCurve = Buffer.alloc(33, 0xff);
    offCurve[0] = 3;
    await expect(id.unwrap([{ ...good, args: [good.args[0] ?? '', encodeB64(offCurve)] }], neverAsk)).rejects.toMatchObject({ code: 'HEADER_INVALID' });
  });

  it('a matching stanza with a missing module is PKCS11_MODULE (mine but failed)', async () => {
    const explicit = new PivP256Identity({ recipient: mine }, { modulePath: '/nonexistent/module.so' });
    await expect(explicit.unwrap(mine.wrap(new Uint8Array(32)), neverAsk)).rejects.toMatchObject({ code: 'PKCS11_MODULE' });
  });

  it('a stub whose module is not on this machine falls back to COFFER_PKCS11_MODULE / the usual places', () => {
    expect(new PivP256Identity(id.stub, { env: { COFFER_PKCS11_MODULE: '/from/env.so' } }).modulePath()).toBe('/from/env.so');
    expect(new PivP256Identity({ recipient: mine, modulePath: '/nonexistent/module.so' }, { modulePath: '/settings.so' }).modulePath()).toBe('/settings.so');
  });
});

describe('PKCS#11 error mapping', () => {
  type Ctor = new (message: string) => Error;
  const Pkcs11Error = (pkcs11js() as unknown as { Pkcs11Error: Ctor }).Pkcs11Error;
  const ckr = (name: string, n: number): Error => new Pkcs11Error(`${name}:${n}`);
  const ctx = { tokenName: 'YubiKey PIV #1 (serial 1)', doing: 'logging in' };

  it('PIN messages say exactly what is known', () => {
    const lib = pkcs11js();
    expect(pinIncorrectMessage('K', null)).toBe('PIN incorrect for K');
    expect(pinIncorrectMessage('K', null, 2)).toBe('PIN incorrect for K, 2 tries left');
    expect(pinIncorrectMessage('K', null, 1)).toBe('PIN incorrect for K; the next wrong PIN locks the key');
    expect(pinIncorrectMessage('K', null, 0)).toMatch(/locked .*ykman piv access unblock-pin/);
    expect(pinIncorrectMessage('K', lib.CKF_USER_PIN_FINAL_TRY)).toBe('PIN incorrect for K; the next wrong PIN locks the key');
    expect(pinIncorrectMessage('K', lib.CKF_USER_PIN_COUNT_LOW)).toMatch(/few tries remain \(it does not say how many\)/);
    expect(pinIncorrectMessage('K', lib.CKF_USER_PIN_LOCKED)).toMatch(/locked/);
  });

  it('maps return values to typed errors', () => {
    const lib = pkcs11js();
    const m = (e: unknown, extra: object = {}): CofferError => mapPkcs11Error(e, { ...ctx, ...extra });
    expect(m(ckr('CKR_PIN_INCORRECT', 0xa0), { flags: lib.CKF_USER_PIN_FINAL_TRY })).toMatchObject({ code: 'PIN_INCORRECT', message: expect.stringMatching(/next wrong PIN locks/) as unknown as string });
    // ykcs11 sets the flags from the exact retry counter, so the count can be told.
    expect(m(ckr('CKR_PIN_INCORRECT', 0xa0), { flags: lib.CKF_USER_PIN_COUNT_LOW, exactCounts: true }).message).toBe(`PIN incorrect for ${ctx.tokenName}, 2 tries left`);
    expect(m(ckr('CKR_PIN_INCORRECT', 0xa0), { flags: lib.CKF_USER_PIN_FINAL_TRY, exactCounts: true }).message).toMatch(/the next wrong PIN locks the key$/);
    expect(m(ckr('CKR_PIN_INCORRECT', 0xa0), { flags: lib.CKF_USER_PIN_COUNT_LOW }).message).toMatch(/does not say how many/);
    expect(m(ckr('CKR_PIN_INCORRECT', 0xa0), { flags: 0, exactCounts: true }).message).toBe(`PIN incorrect for ${ctx.tokenName}`);
    expect(m(ckr('CKR_PIN_LOCKED', 0xa4))).toMatchObject({ code: 'PIN_LOCKED', message: expect.stringMatching(/ykman piv access unblock-pin/) as unknown as string });
    expect(m(ckr('CKR_PIN_LEN_RANGE', 0xa2)).code).toBe('PIN_INCORRECT');
    for (const [n, v] of [['CKR_DEVICE_REMOVED', 0x32], ['CKR_TOKEN_NOT_PRESENT', 0xe0], ['CKR_SESSION_HANDLE_INVALID', 0xb3], ['CKR_SESSION_CLOSED', 0xb0]] as const) {
      expect(m(ckr(n, v))).toMatchObject({ code: 'TOKEN_REMOVED', message: expect.stringMatching(/was removed while logging in; insert it/) as unknown as string });
    }
    expect(m(ckr('CKR_GENERAL_ERROR', 5), { tokenGone: true }).code).toBe('TOKEN_REMOVED');
    expect(m(ckr('CKR_GENERAL_ERROR', 5))).toMatchObject({ code: 'PKCS11', message: expect.stringMatching(/CKR_GENERAL_ERROR/) as unknown as string });
    expect(m(ckr('CKR_FUNCTION_FAILED', 6)).message).toMatch(/touch it/);
    expect(m(ckr('CKR_MECHANISM_INVALID', 0x70)).message).toMatch(/P-256 key agreement/);
    const passthrough = new CofferError('KEY_NOT_FOUND', 'x');
    expect(m(passthrough)).toBe(passthrough);
  });
});

describe('module discovery', () => {
  it('prefers an explicit path, then COFFER_PKCS11_MODULE, then the usual places (ykcs11 first)', () => {
    expect(resolveModulePath({ modulePath: '/x.so', env: { COFFER_PKCS11_MODULE: '/y.so' } })).toBe('/x.so');
    expect(resolveModulePath({ env: { COFFER_PKCS11_MODULE: '/y.so' } })).toBe('/y.so');
    const linux = new Set(['/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', '/usr/lib/x86_64-linux-gnu/libykcs11.so.2']);
    expect(resolveModulePath({ env: {}, platform: 'linux', exists: (p) => linux.has(p) })).toBe('/usr/lib/x86_64-linux-gnu/libykcs11.so.2');
    expect(resolveModulePath({ env: {}, platform: 'linux', exists: (p) => p === '/usr/lib64/pkcs11/opensc-pkcs11.so' })).toBe('/usr/lib64/pkcs11/opensc-pkcs11.so');
    expect(resolveModulePath({ env: {}, platform: 'darwin', exists: (p) => p === '/opt/homebrew/lib/libykcs11.dylib' })).toBe('/opt/homebrew/lib/libykcs11.dylib');
    expect(resolveModulePath({ env: { ProgramFiles: 'D:\\PF' }, platform: 'win32', exists: (p) => p === 'D:\\PF\\Yubico\\Yubico PIV Tool\\bin\\libykcs11.dll' })).toBe('D:\\PF\\Yubico\\Yubico PIV Tool\\bin\\libykcs11.dll');
    expect(candidateModulePaths('win32', {}).some((c) => c.path === 'C:\\Windows\\System32\\opensc-pkcs11.dll')).toBe(true);
    expect(code(() => resolveModulePath({ env: {}, platform: 'linux', exists: () => false }))).toBe('PKCS11_MODULE');
  });
});

describe('PIV slots and EC points', () => {
  it('accepts 9d and 82–95 only, and reads slots from ykcs11 and OpenSC labels', () => {
    expect(PIV_SLOTS).toHaveLength(21);
    expect(parsePivSlot('9D')).toBe('9d');
    expect(parsePivSlot('0x95')).toBe('95');
    for (const bad of ['9a', '9c', '9e', '81', '96', 'f9', '']) expect(code(() => parsePivSlot(bad))).toBe('USAGE');
    expect(pivSlotFromLabel('Private key for Key Management')).toBe('9d');
    expect(pivSlotFromLabel('KEY MAN pubkey')).toBe('9d');
    expect(pivSlotFromLabel('Private key for Retired Key 1')).toBe('82');
    expect(pivSlotFromLabel('RETIRED KEY 20')).toBe('95');
    // OpenSC's labels (src/libopensc/pkcs15-piv.c): "Retired KEY MAN n" must not read as 9d.
    expect(pivSlotFromLabel('Retired KEY MAN 1')).toBe('82');
    expect(pivSlotFromLabel('Retired KEY MAN 12')).toBe('8d');
    expect(pivSlotFromLabel('Public key for Retired Key 7')).toBe('88');
    expect(pivSlotFromLabel('Retired KEY MAN')).toBeNull();
    expect(pivSlotFromLabel('Retired Key 21')).toBeNull();
    expect(pivSlotFromLabel('PIV AUTH key')).toBe('9a');
    expect(pivSlotFromLabel('Private key for Digital Signature')).toBe('9c');
    expect(pivSlotFromLabel('coffer-9d')).toBeNull();
    expect(ykcs11GenerateId('9d')).toBe(3);
    expect(ykcs11GenerateId('82')).toBe(5);
    expect(ykcs11GenerateId('95')).toBe(24);
  });

  it('decodes CKA_EC_POINT whether DER-wrapped or bare', () => {
    const pt = point();
    expect(unwrapEcPoint(Buffer.concat([Buffer.from([0x04, 0x41]), pt]))?.equals(pt)).toBe(true);
    expect(unwrapEcPoint(pt)?.equals(pt)).toBe(true);
    expect(unwrapEcPoint(Buffer.from([0x04, 0x02, 0x00, 0x00]))).toBeNull();
    const p384 = Buffer.concat([Buffer.from([4]), Buffer.alloc(96, 7)]);
    expect(unwrapEcPoint(Buffer.concat([Buffer.from([0x04, 0x61]), p384]))?.equals(p384)).toBe(true);
    const p521 = Buffer.concat([Buffer.from([4]), Buffer.alloc(132, 7)]);
    expect(unwrapEcPoint(Buffer.concat([Buffer.from([0x04, 0x81, 0x85]), p521]))?.equals(p521)).toBe(true);
  });
});
