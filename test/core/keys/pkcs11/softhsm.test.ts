/**
 * The pkcs11-p256 provider against a real PKCS#11 module: SoftHSM2 with tokens initialised per run.
 */
import { execFileSync } from 'node:child_process';
import { createECDH, ECDH, generateKeyPairSync, hkdfSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initSodium, sodium } from '../../../../main/core/crypto/sodium';
import { decodeB64 } from '../../../../main/core/format/base64';
import {
  enrollHardwareKey,
  listHardwareKeys,
  PIV_HKDF_INFO,
  PivP256Identity,
  PivP256Recipient,
  formatPivStubFile,
} from '../../../../main/core/keys/pkcs11-p256';
import { pkcs11js } from '../../../../main/core/keys/pkcs11/lib';
import { TokenModule, withModule } from '../../../../main/core/keys/pkcs11/token';
import { deriveInWorker } from '../../../../main/core/keys/pkcs11/derive-worker';
import type { ProviderNotice, ProviderUI, SecretRequest, Stanza } from '../../../../main/core/keys/types';
import { CofferError } from '../../../../main/core/errors';
import { createSoftHsm, type SoftHsm } from '../../../fixtures/softhsm';

class RecordingUI implements ProviderUI {
  readonly prompts: SecretRequest[] = [];
  readonly notices: ProviderNotice[] = [];
  constructor(private readonly answers: string[], private readonly onNotice?: (n: ProviderNotice) => void, private readonly onPrompt?: () => void) {}
  requestSecret(req: SecretRequest): Promise<string> {
    this.prompts.push(req);
    this.onPrompt?.();
    const a = this.answers.shift();
    return a === undefined ? Promise.reject(new CofferError('CANCELLED', 'no more answers')) : Promise.resolve(a);
  }
  notify(n: ProviderNotice): void {
    this.notices.push(n);
    this.onNotice?.(n);
  }
}

async function expectCoffer(p: Promise<unknown>, code: string, message?: RegExp): Promise<CofferError> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${code}, but it succeeded`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CofferError);
  const ce = e as CofferError;
  expect(ce.code).toBe(code);
  if (message) expect(ce.message).toMatch(message);
  return ce;
}

let hsm: SoftHsm;
const PIN_A = '111111';
const PIN_B = '222222';

beforeAll(async () => {
  await initSodium();
  hsm = createSoftHsm();
  hsm.initToken('alpha', PIN_A);
  hsm.initToken('beta', PIN_B);
});
afterAll(() => hsm?.destroy());

/** Puts a software-made P-256 key on a token (public and private objects), as an admin could with pkcs11-tool. */
async function importKey(tokenLabel: string, pin: string, d: Buffer, label: string, id: Buffer): Promise<void> {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const lib = pkcs11js();
  const params = Buffer.from('06082a8648ce3d030107', 'hex');
  await withModule(hsm.modulePath, (m) => {
    const s = m.openSession(m.findToken({ label: tokenLabel }), true);
    try {
      s.login(pin);
      m.pkcs11.C_CreateObject(s.handle, [
        { type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY },
        { type: lib.CKA_KEY_TYPE, value: lib.CKK_EC },
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_PRIVATE, value: false },
        { type: lib.CKA_LABEL, value: label },
        { type: lib.CKA_ID, value: id },
        { type: lib.CKA_EC_PARAMS, value: params },
        { type: lib.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, 0x41]), pub]) },
      ]);
      m.pkcs11.C_CreateObject(s.handle, [
        { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
        { type: lib.CKA_KEY_TYPE, value: lib.CKK_EC },
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_PRIVATE, value: true },
        { type: lib.CKA_DERIVE, value: true },
        { type: lib.CKA_LABEL, value: label },
        { type: lib.CKA_ID, value: id },
        { type: lib.CKA_EC_PARAMS, value: params },
        { type: lib.CKA_VALUE, value: d },
      ]);
    } finally {
      s.logout();
      s.close();
    }
  });
}

function key32(): Uint8Array {
  return sodium().randomBytes(32);
}

describe('listing and enrollment on SoftHSM2', () => {
  it('lists both tokens with label, serial, manufacturer and model', async () => {
    const l = await listHardwareKeys({ modulePath: hsm.modulePath });
    const labels = l.tokens.map((t) => t.label).sort();
    expect(labels).toEqual(['alpha', 'beta']);
    for (const t of l.tokens) {
      expect(t.serial).toMatch(/^[0-9a-f]{16}$/);
      expect(t.manufacturer).toBe('SoftHSM project');
      expect(t.model).toMatch(/SoftHSM/);
    }
    expect(l.module.manufacturer).toMatch(/SoftHSM/);
  });

  it('enroll --generate makes a P-256 key on the token, lists it and refuses to overwrite it', async () => {
    const ui = new RecordingUI([PIN_A]);
    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'generate', slot: '9d', label: 'coffer-gen', ui });
    expect(r.generated).toBe(true);
    expect(ui.prompts).toHaveLength(1);
    expect(ui.prompts[0]?.kind).toBe('pin');
    expect(r.recipient.toString()).toMatch(/^coffer-piv1[02-9ac-hj-np-z]+$/);
    expect(r.recipient.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
    expect(r.stub.keyLabel).toBe('coffer-gen');
    expect(r.stub.keyId).toMatch(/^[0-9a-f]{16}$/);

    const l = await listHardwareKeys({ modulePath: hsm.modulePath });
    const alpha = l.tokens.find((t) => t.label === 'alpha');
    const listed = alpha?.keys.find((k) => k.label === 'coffer-gen');
    expect(listed?.curve).toBe('P-256');
    expect(listed?.fingerprint).toBe(r.recipient.fingerprint);
    expect(listed?.id).toBe(r.stub.keyId);

    await expectCoffer(
      enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'generate', label: 'coffer-gen', ui: new RecordingUI([PIN_A]) }),
      'EXISTS',
      /already exists/,
    );
    // --use-existing finds the same key by label without a PIN (its public key is readable).
    const ui2 = new RecordingUI([]);
    const again = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', label: 'coffer-gen', ui: ui2 });
    expect(again.recipient.toString()).toBe(r.recipient.toString());
    expect(ui2.prompts).toHaveLength(0);
  });

  it('asks to choose when several tokens are present and none is named', async () => {
    await expectCoffer(enrollHardwareKey({ modulePath: hsm.modulePath, mode: 'generate', ui: new RecordingUI([]) }), 'USAGE', /--serial/);
    await expectCoffer(enrollHardwareKey({ modulePath: hsm.modulePath, serial: '0000', mode: 'generate', ui: new RecordingUI([]) }), 'TOKEN_NOT_FOUND');
  });
});

describe('wrap and unwrap', () => {
  it('round-trips through the token and matches node:crypto ECDH on an imported key', async () => {
    // Import a software-generated key so the stanza can also be opened independently, from the spec alone.
    const ecdh = createECDH('prime256v1');
    const pub = ecdh.generateKeys();
    const d = ecdh.getPrivateKey();
    await importKey('alpha', PIN_A, d, 'imported', Buffer.from('c0ffee01', 'hex'));

    const enrolled = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', label: 'imported', ui: new RecordingUI([]) });
    expect(enrolled.recipient.point.equals(pub)).toBe(true);
    expect(enrolled.stub.keyId).toBe('c0ffee01');

    const recipient = PivP256Recipient.parse(enrolled.recipient.toString());
    const fileKey = key32();
    const stanzas = await recipient.wrap(fileKey);
    expect(stanzas).toHaveLength(1);
    const st = stanzas[0];
    if (!st) throw new Error('no stanza');
    expect(st.type).toBe('piv-p256');
    expect(st.args).toHaveLength(2);
    expect(st.body.byteLength).toBe(48);

    // Independent decryption with node:crypto ECDH and the spec (docs/FORMAT.md, "piv-p256 stanza").
    const tag = decodeB64(st.args[0] ?? '');
    const ephC = decodeB64(st.args[1] ?? '');
    expect(tag?.byteLength).toBe(4);
    expect(ephC?.byteLength).toBe(33);
    const me = createECDH('prime256v1');
    me.setPrivateKey(d);
    const shared = me.computeSecret(ephC as Buffer);
    const E = ECDH.convertKey(ephC as Buffer, 'prime256v1', undefined, undefined, 'uncompressed') as Buffer;
    const wk = new Uint8Array(hkdfSync('sha256', shared, Buffer.concat([E, pub]), PIV_HKDF_INFO, 32));
    const opened = sodium().aeadDecrypt(st.body, null, new Uint8Array(24), wk);
    expect(opened && Buffer.from(opened).equals(Buffer.from(fileKey))).toBe(true);

    // And through the token, with the PIN asked once and a touch notice before the derive.
    const id = PivP256Identity.fromStubFile(formatPivStubFile(enrolled.stub, enrolled.token));
    const ui = new RecordingUI([PIN_A]);
    const out = await id.unwrap(stanzas, ui);
    expect(out && Buffer.from(out).equals(Buffer.from(fileKey))).toBe(true);
    expect(ui.prompts).toHaveLength(1);
    expect(ui.prompts[0]?.prompt).toMatch(/PIN for alpha \(serial [0-9a-f]+\)/);
    expect(ui.notices.map((n) => n.kind)).toContain('touch');

    // The token's ECDH equals node's for the same ephemeral point.
    const eph = createECDH('prime256v1');
    const E2 = eph.generateKeys();
    const expected = eph.computeSecret(pub);
    const onToken = await withModule(hsm.modulePath, async (m) => {
      const t = m.findToken({ label: 'alpha' });
      const s = m.openSession(t);
      try {
        s.login(PIN_A);
        const k = s.findPrivateKey({ point: pub });
        return await s.derive(k, [E2]);
      } finally {
        s.logout();
        s.close();
      }
    });
    expect(Buffer.from(onToken[0] ?? []).equals(expected)).toBe(true);

    // The derive runs in a worker thread (a YubiKey blocks it until touched) while the event loop keeps turning.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const res = await withModule(hsm.modulePath, async (m) => {
      const s = m.openSession(m.findToken({ label: 'alpha' }));
      try {
        s.login(PIN_A);
        const k = s.findPrivateKey({ point: pub });
        return await deriveInWorker({ libraryPath: hsm.modulePath, session: new Uint8Array(s.handle), privateKey: new Uint8Array(k), peerPoints: [E2] });
      } finally {
        s.logout();
        s.close();
      }
    });
    clearInterval(timer);
    expect(res.ok).toBe(true);
    expect(res.threadId).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThan(0);
    if (res.ok) expect(Buffer.from(res.secrets[0] ?? []).equals(expected)).toBe(true);
  });

  it('a frozen piv-p256 stanza (made once; docs/FORMAT.md §4.3) still opens through the token', async () => {
    // Frozen vector: recipient key d = c0ffee… (32 bytes), K = 00 01 … 1f.
    const d = Buffer.from('c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff', 'hex');
    const frozen: Stanza = {
      type: 'piv-p256',
      args: ['cY5NFw', 'Anqo15ce80hVnlAdEP2qaCQt7glLNYKtrcNnAB9biafn'],
      body: Buffer.from('k7kzwOI71GCQwmauFZVyVJ/l0HXFB+equZ1wOj3QKAwQxFelJuVZk4mzR0pc1Sf6', 'base64'),
    };
    await importKey('beta', PIN_B, d, 'kat', Buffer.from('4b4154', 'hex'));
    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'beta', mode: 'use-existing', label: 'kat', ui: new RecordingUI([]) });
    expect(r.recipient.toString()).toBe('coffer-piv1q2hsnmywlxwcyf6c2qgqmdtqn2aurg30rdgnj58atn6apz5t9pf2cxmpr4v');
    expect(r.recipient.fingerprint).toBe('5861 cf52 5e9b 5edd');
    const out = await new PivP256Identity(r.stub).unwrap([frozen], new RecordingUI([PIN_B]));
    expect(Buffer.from(out ?? []).toString('hex')).toBe('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  });

  it('round-trips a generated key and caches the PIN only when asked to, until forgetPin()', async () => {
    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'beta', mode: 'generate', slot: '82', label: 'beta-82', ui: new RecordingUI([PIN_B]) });
    // A generic token has no PIV slots: the slot is recorded only where the token names one.
    expect(r.stub.pivSlot).toBeUndefined();
    const k1 = key32();
    const k2 = key32();
    const s1 = await r.recipient.wrap(k1);
    const s2 = await r.recipient.wrap(k2);
    expect(s1[0]?.args[1]).not.toBe(s2[0]?.args[1]); // fresh ephemeral each time

    const cached = new PivP256Identity(r.stub, { cachePin: true });
    const ui = new RecordingUI([PIN_B]);
    expect(Buffer.from((await cached.unwrap(s1, ui)) ?? []).equals(Buffer.from(k1))).toBe(true);
    expect(Buffer.from((await cached.unwrap(s2, ui)) ?? []).equals(Buffer.from(k2))).toBe(true);
    expect(ui.prompts).toHaveLength(1);
    cached.forgetPin();
    const ui2 = new RecordingUI([PIN_B]);
    await cached.unwrap(s1, ui2);
    expect(ui2.prompts).toHaveLength(1);

    const uncached = new PivP256Identity(r.stub);
    const ui3 = new RecordingUI([PIN_B, PIN_B]);
    await uncached.unwrap(s1, ui3);
    await uncached.unwrap(s2, ui3);
    expect(ui3.prompts).toHaveLength(2);
  });

  it('a tampered body is "mine but failed", not a silent null', async () => {
    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'beta', mode: 'use-existing', label: 'beta-82', ui: new RecordingUI([]) });
    const [st] = await r.recipient.wrap(key32());
    if (!st) throw new Error('no stanza');
    const body = Uint8Array.from(st.body);
    body[5] = (body[5] ?? 0) ^ 1;
    await expectCoffer(new PivP256Identity(r.stub).unwrap([{ ...st, body }], new RecordingUI([PIN_B])), 'HEADER_INVALID', /altered/);
    // Two stanzas for the same key: the one that opens wins, with one PIN prompt.
    const k = key32();
    const [good] = await r.recipient.wrap(k);
    if (!good) throw new Error('no stanza');
    const ui = new RecordingUI([PIN_B]);
    const out = await new PivP256Identity(r.stub).unwrap([{ ...st, body }, good], ui);
    expect(Buffer.from(out ?? []).equals(Buffer.from(k))).toBe(true);
    expect(ui.prompts).toHaveLength(1);
  });
});

describe('several tokens', () => {
  it('only the token whose tag matches is asked for a PIN', async () => {
    const a = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', label: 'coffer-gen', ui: new RecordingUI([]) });
    const b = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'beta', mode: 'use-existing', label: 'beta-82', ui: new RecordingUI([]) });
    expect(a.stub.serial).not.toBe(b.stub.serial);
    const k = key32();
    const forB = await b.recipient.wrap(k);

    const uiA = new RecordingUI([PIN_A]);
    expect(await new PivP256Identity(a.stub).unwrap(forB, uiA)).toBeNull();
    expect(uiA.prompts).toHaveLength(0);
    expect(uiA.notices).toHaveLength(0);

    const uiB = new RecordingUI([PIN_B]);
    const out = await new PivP256Identity(b.stub).unwrap(forB, uiB);
    expect(Buffer.from(out ?? []).equals(Buffer.from(k))).toBe(true);
    expect(uiB.prompts).toHaveLength(1);
    expect(uiB.prompts[0]?.prompt).toMatch(/beta/);

    // A header with stanzas for both: each identity opens its own.
    const both = [...(await a.recipient.wrap(k)), ...forB];
    const uiA2 = new RecordingUI([PIN_A]);
    expect(Buffer.from((await new PivP256Identity(a.stub).unwrap(both, uiA2)) ?? []).equals(Buffer.from(k))).toBe(true);
    expect(uiA2.prompts[0]?.prompt).toMatch(/alpha/);
  });
});

describe('PIN errors', () => {
  it('a wrong PIN is PIN_INCORRECT, with what the token says about remaining tries', async () => {
    const a = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', label: 'coffer-gen', ui: new RecordingUI([]) });
    const st = await a.recipient.wrap(key32());
    // SoftHSM2 sets CKF_USER_PIN_COUNT_LOW after a wrong PIN and never gives a count or FINAL_TRY,
    // so the honest message says few tries remain without a number.
    const e = await expectCoffer(new PivP256Identity(a.stub).unwrap(st, new RecordingUI(['000000'])), 'PIN_INCORRECT', /PIN incorrect for alpha/);
    expect(e.message).toMatch(/few tries remain \(it does not say how many\)/);
    expect(e.message).not.toContain('000000');
    // The cache never keeps a wrong PIN.
    const cached = new PivP256Identity(a.stub, { cachePin: true });
    await expectCoffer(cached.unwrap(st, new RecordingUI(['999999'])), 'PIN_INCORRECT');
    const ui = new RecordingUI([PIN_A]);
    expect(await cached.unwrap(st, ui)).not.toBeNull();
    expect(ui.prompts).toHaveLength(1);
  });

  it('SoftHSM2 never locks a PIN: after 12 wrong PINs the right one still works (observed behaviour)', async () => {
    const a = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', label: 'coffer-gen', ui: new RecordingUI([]) });
    const st = await a.recipient.wrap(key32());
    await withModule(hsm.modulePath, (m) => {
      const t = m.findToken({ label: 'alpha' });
      const s = m.openSession(t);
      try {
        for (let i = 0; i < 12; i++) expect(() => s.login('000000')).toThrow(/PIN incorrect/);
        const flags = m.tokenFlags(t) ?? 0;
        const lib = pkcs11js();
        expect(flags & lib.CKF_USER_PIN_LOCKED).toBe(0);
        expect(flags & lib.CKF_USER_PIN_FINAL_TRY).toBe(0);
        expect(flags & lib.CKF_USER_PIN_COUNT_LOW).not.toBe(0);
      } finally {
        s.close();
      }
    });
    expect(await new PivP256Identity(a.stub).unwrap(st, new RecordingUI([PIN_A]))).not.toBeNull();
  });

  it('locked and final-try states (simulated: SoftHSM2 cannot reach them, so the token flags and CKR_PIN_LOCKED are injected at the pkcs11js boundary)', async () => {
    const a = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', label: 'coffer-gen', ui: new RecordingUI([]) });
    const st = await a.recipient.wrap(key32());
    const lib = pkcs11js();
    // pkcs11js puts its wrapped methods on each instance; the module instance is kept for the
    // life of the process, so the spies below sit on the very object the provider uses.
    const held = TokenModule.open(hsm.modulePath);
    const owner = held.pkcs11;
    held.close();
    const realInfo = owner.C_GetTokenInfo;
    const realLogin = owner.C_Login;
    type Pkcs11ErrorCtor = new (message: string, code?: number, method?: string) => Error;
    const Pkcs11Error = (lib as unknown as { Pkcs11Error: Pkcs11ErrorCtor }).Pkcs11Error;

    // 1. FINAL_TRY: the prompt warns, and a wrong PIN says the next one locks the key.
    let extra = lib.CKF_USER_PIN_FINAL_TRY | lib.CKF_USER_PIN_COUNT_LOW;
    const infoSpy = vi.spyOn(owner, 'C_GetTokenInfo').mockImplementation(function (this: InstanceType<typeof lib.PKCS11>, slot) {
      const i = realInfo.call(this, slot);
      return { ...i, flags: i.flags | extra };
    });
    try {
      const ui = new RecordingUI(['000000']);
      await expectCoffer(new PivP256Identity(a.stub).unwrap(st, ui), 'PIN_INCORRECT', /the next wrong PIN locks the key/);
      expect(ui.prompts[0]?.prompt).toMatch(/one more wrong PIN locks it/);

      // 2. LOCKED flag: refused before asking for a PIN, pointing to the PUK reset.
      extra = lib.CKF_USER_PIN_LOCKED;
      const ui2 = new RecordingUI([PIN_A]);
      await expectCoffer(new PivP256Identity(a.stub).unwrap(st, ui2), 'PIN_LOCKED', /ykman piv access unblock-pin/);
      expect(ui2.prompts).toHaveLength(0);

      // 3. CKR_PIN_LOCKED from C_Login (a token that locks on this very try).
      extra = 0;
      const loginSpy = vi.spyOn(owner, 'C_Login').mockImplementation(function () {
        throw new Pkcs11Error('CKR_PIN_LOCKED:164');
      });
      try {
        await expectCoffer(new PivP256Identity(a.stub).unwrap(st, new RecordingUI([PIN_A])), 'PIN_LOCKED', /locked after too many wrong tries; reset it with the PUK/);
      } finally {
        loginSpy.mockRestore();
      }
    } finally {
      infoSpy.mockRestore();
    }
    expect(owner.C_Login).toBe(realLogin);
  });
});

describe('PIV-style layout', () => {
  it('a key shown only through its certificate (as ykcs11 and OpenSC show PIV slots) is listed, enrolled by --slot and unlocked', async () => {
    // Like a YubiKey slot 9d: a private key and an X.509 certificate with ykcs11's labels, no public-key object.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const d = Buffer.from(jwk.d ?? '', 'base64url');
    const keyPem = path.join(hsm.dir, 'piv.key.pem');
    writeFileSync(keyPem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const der = execFileSync('openssl', ['req', '-x509', '-new', '-key', keyPem, '-subj', '/CN=coffer test', '-days', '2', '-outform', 'DER']);
    const id = Buffer.from([3]);
    const lib = pkcs11js();
    await withModule(hsm.modulePath, (m) => {
      const s = m.openSession(m.findToken({ label: 'alpha' }), true);
      try {
        s.login(PIN_A);
        m.pkcs11.C_CreateObject(s.handle, [
          { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
          { type: lib.CKA_KEY_TYPE, value: lib.CKK_EC },
          { type: lib.CKA_TOKEN, value: true },
          { type: lib.CKA_PRIVATE, value: true },
          { type: lib.CKA_DERIVE, value: true },
          { type: lib.CKA_LABEL, value: 'Private key for Key Management' },
          { type: lib.CKA_ID, value: id },
          { type: lib.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
          { type: lib.CKA_VALUE, value: d },
        ]);
        m.pkcs11.C_CreateObject(s.handle, [
          { type: lib.CKA_CLASS, value: lib.CKO_CERTIFICATE },
          { type: lib.CKA_CERTIFICATE_TYPE, value: lib.CKC_X_509 },
          { type: lib.CKA_TOKEN, value: true },
          { type: lib.CKA_PRIVATE, value: false },
          { type: lib.CKA_LABEL, value: 'X.509 Certificate for Key Management' },
          { type: lib.CKA_ID, value: id },
          // DER Name "CN=coffer test" (SoftHSM requires CKA_SUBJECT on certificates).
          { type: lib.CKA_SUBJECT, value: Buffer.from('30163114301206035504030c0b636f666665722074657374', 'hex') },
          { type: lib.CKA_VALUE, value: der },
        ]);
      } finally {
        s.logout();
        s.close();
      }
    });
    const expectedPoint = createECDH('prime256v1');
    expectedPoint.setPrivateKey(d);

    const l = await listHardwareKeys({ modulePath: hsm.modulePath });
    const listed = l.tokens.find((t) => t.label === 'alpha')?.keys.find((k) => k.source === 'certificate');
    expect(listed).toMatchObject({ label: 'X.509 Certificate for Key Management', id: '03', curve: 'P-256', pivSlot: '9d' });
    expect(listed?.point?.equals(expectedPoint.getPublicKey())).toBe(true);

    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', slot: '9d', ui: new RecordingUI([]) });
    expect(r.stub.pivSlot).toBe('9d');
    expect(r.stub.keyId).toBe('03');
    const k = key32();
    const out = await new PivP256Identity(r.stub).unwrap(await r.recipient.wrap(k), new RecordingUI([PIN_A]));
    expect(Buffer.from(out ?? []).equals(Buffer.from(k))).toBe(true);
    // Retired slots are empty here.
    await expectCoffer(enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'alpha', mode: 'use-existing', slot: '82', ui: new RecordingUI([]) }), 'KEY_NOT_FOUND', /in slot 82/);
  });
});

describe('modules', () => {
  it('a missing module path is PKCS11_MODULE, for listing, enrolling and unlocking', async () => {
    const missing = path.join(hsm.dir, 'no-such-module.so');
    await expectCoffer(listHardwareKeys({ modulePath: missing }), 'PKCS11_MODULE', /no PKCS#11 module at .*no-such-module\.so; install Yubico PIV Tool/);
    await expectCoffer(enrollHardwareKey({ modulePath: missing, mode: 'generate', ui: new RecordingUI([]) }), 'PKCS11_MODULE');
    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'beta', mode: 'use-existing', label: 'beta-82', ui: new RecordingUI([]) });
    const st = await r.recipient.wrap(key32());
    await expectCoffer(new PivP256Identity(r.stub, { modulePath: missing }).unwrap(st, new RecordingUI([PIN_B])), 'PKCS11_MODULE');
  });

  it('a file that is not a PKCS#11 module is PKCS11_MODULE', async () => {
    const text = path.join(hsm.dir, 'not-a-library.so');
    writeFileSync(text, 'this is text, not a shared library\n');
    await expectCoffer(listHardwareKeys({ modulePath: text }), 'PKCS11_MODULE', /could not be loaded as a PKCS#11 module/);
    // A real shared library without C_GetFunctionList: pkcs11js's own addon.
    const addon = path.join(path.dirname(require.resolve('pkcs11js')), 'build', 'Release', 'pkcs11.node');
    await expectCoffer(listHardwareKeys({ modulePath: addon }), 'PKCS11_MODULE', /could not be loaded as a PKCS#11 module/);
    await expectCoffer(listHardwareKeys({ modulePath: hsm.dir }), 'PKCS11_MODULE', /not a file/);
  });

  it('the module is finalised after each operation (no handle left open)', async () => {
    await listHardwareKeys({ modulePath: hsm.modulePath });
    const m = TokenModule.open(hsm.modulePath);
    // A fresh C_Initialize succeeded, so the previous user finalised it; finalising this one works too.
    expect(m.listTokens().length).toBe(2);
    m.close();
  });
});

describe('token removed', () => {
  it('the token disappearing while the PIN is asked for is TOKEN_REMOVED', async () => {
    const extra = createSoftHsm();
    try {
      extra.initToken('gamma', '333333');
      const r = await enrollHardwareKey({ modulePath: extra.modulePath, tokenLabel: 'gamma', mode: 'generate', label: 'g', ui: new RecordingUI(['333333']) });
      const st = await r.recipient.wrap(key32());
      const ui = new RecordingUI(['333333'], undefined, () => extra.removeAllTokens());
      await expectCoffer(new PivP256Identity(r.stub).unwrap(st, ui), 'TOKEN_REMOVED', /gamma \(serial [0-9a-f]+\) was removed while/);
    } finally {
      extra.destroy();
      process.env.SOFTHSM2_CONF = hsm.confPath;
    }
  });

  it('the token disappearing after login, at the touch prompt before the derive, is TOKEN_REMOVED', async () => {
    const extra = createSoftHsm();
    try {
      extra.initToken('delta', '444444');
      const r = await enrollHardwareKey({ modulePath: extra.modulePath, tokenLabel: 'delta', mode: 'generate', label: 'd', ui: new RecordingUI(['444444']) });
      const st = await r.recipient.wrap(key32());
      const ui = new RecordingUI(['444444'], (n) => {
        if (n.kind === 'touch') extra.removeAllTokens();
      });
      await expectCoffer(new PivP256Identity(r.stub).unwrap(st, ui), 'TOKEN_REMOVED', /was removed while deriving the key/);
    } finally {
      extra.destroy();
      process.env.SOFTHSM2_CONF = hsm.confPath;
    }
  });

  it('a stub for a token that is not inserted is TOKEN_NOT_FOUND, naming the serial', async () => {
    const r = await enrollHardwareKey({ modulePath: hsm.modulePath, tokenLabel: 'beta', mode: 'use-existing', label: 'beta-82', ui: new RecordingUI([]) });
    const st = await r.recipient.wrap(key32());
    const id = new PivP256Identity({ ...r.stub, serial: 'feedfacefeedface' });
    await expectCoffer(id.unwrap(st, new RecordingUI([PIN_B])), 'TOKEN_NOT_FOUND', /serial feedfacefeedface/);
  });
});
