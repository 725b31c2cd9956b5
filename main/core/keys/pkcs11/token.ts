/**
 * Token access: tokens and keys of one PKCS#11 module, login, P-256 key generation and ECDH.
 * Everything here maps PKCS#11 failures to typed CofferErrors (see ./errors.ts) and checks,
 * after an unexpected failure, whether the token is still present (TOKEN_REMOVED).
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { CofferError } from '../../errors';
import { acquireModule, pkcs11js, releaseModule, trimPadded, type Handle, type Pkcs11, type Template } from './lib';
import { mapPkcs11Error } from './errors';
import { deriveInWorker } from './derive-worker';
import { CURVE_BY_PARAMS, P256_OID_DER, p256Fingerprint, toUncompressed, unwrapEcPoint } from './p256';
import { pivSlotFromLabel, ykcs11GenerateId } from './piv';

export interface TokenSummary {
  /** PKCS#11 slot id, hex (little-endian CK_ULONG bytes as pkcs11js gives them); valid only while the module stays loaded. */
  readonly slotId: string;
  readonly label: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly flags: number;
  /** "YubiKey PIV #123 (serial 123)": for prompts and messages. */
  readonly displayName: string;
}

export interface KeySummary {
  readonly label: string;
  /** CKA_ID as read from the token, hex. */
  readonly id: string;
  readonly curve: string;
  /** Uncompressed point (65 bytes), for P-256 keys. */
  readonly point?: Buffer;
  readonly fingerprint?: string;
  /** The PIV slot the object label names (ykcs11 / OpenSC), if any. */
  readonly pivSlot: string | null;
  /** Where the public key was read from. */
  readonly source: 'public-key' | 'certificate';
}

export interface TokenSelector {
  readonly serial?: string | undefined;
  readonly label?: string | undefined;
}

function tokenDisplayName(label: string, serial: string): string {
  const l = label || 'PKCS#11 token';
  return serial ? `${l} (serial ${serial})` : l;
}

/** Yubico's vendor attributes for key generation through ykcs11 (its pkcs11y.h: CKA_VENDOR_DEFINED + 0x59554200 + 1, + 2). */
const CKA_YUBICO = 0x80000000 + 0x59554200;
const CKA_YUBICO_TOUCH_POLICY = CKA_YUBICO + 1;
const CKA_YUBICO_PIN_POLICY = CKA_YUBICO + 2;
const YUBICO_TOUCH = { never: 1, always: 2, cached: 3 } as const;
const YUBICO_PIN = { never: 1, once: 2, always: 3 } as const;
export interface YubicoPolicy {
  readonly touch: keyof typeof YUBICO_TOUCH;
  readonly pin: keyof typeof YUBICO_PIN;
}

export function isYubicoToken(t: Pick<TokenSummary, 'manufacturer'>): boolean {
  return /yubico/i.test(t.manufacturer);
}

/** One loaded module. Close it (or use `withModule`) to finalise the library. */
export class TokenModule {
  private closed = false;
  private constructor(readonly path: string, readonly pkcs11: Pkcs11) {}

  static open(path: string): TokenModule {
    return new TokenModule(path, acquireModule(path));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    releaseModule(this.path);
  }

  /** Module description, e.g. "SoftHSM v2" / "PKCS#11 PIV Library (SP-800-73)". */
  describe(): { manufacturer: string; description: string; version: string } {
    const i = this.pkcs11.C_GetInfo();
    return {
      manufacturer: trimPadded(i.manufacturerID),
      description: trimPadded(i.libraryDescription),
      version: `${i.libraryVersion.major}.${i.libraryVersion.minor}`,
    };
  }

  listTokens(): TokenSummary[] {
    let slots: Handle[];
    try {
      slots = this.pkcs11.C_GetSlotList(true);
    } catch (e) {
      throw mapPkcs11Error(e, { tokenName: `module ${this.path}`, doing: 'listing tokens' });
    }
    const out: TokenSummary[] = [];
    for (const slot of slots) {
      let info;
      try {
        info = this.pkcs11.C_GetTokenInfo(slot);
      } catch {
        continue; // removed between the two calls, or unreadable: not usable
      }
      // SoftHSM always shows one free, uninitialised token; skip tokens that are not initialised.
      if (!(info.flags & pkcs11js().CKF_TOKEN_INITIALIZED)) continue;
      const label = trimPadded(info.label);
      const serial = trimPadded(info.serialNumber);
      out.push({
        slotId: slot.toString('hex'),
        label,
        serial,
        manufacturer: trimPadded(info.manufacturerID),
        model: trimPadded(info.model),
        flags: info.flags,
        displayName: tokenDisplayName(label, serial),
      });
    }
    return out;
  }

  /** The one token matching the selector (serial wins over label); with no selector, the only token present. */
  findToken(sel: TokenSelector): TokenSummary {
    const tokens = this.listTokens();
    if (tokens.length === 0) {
      throw new CofferError('TOKEN_NOT_FOUND', `no token found through ${this.path}; insert your YubiKey (on Linux, is pcscd running?)`);
    }
    if (sel.serial) {
      const t = tokens.find((x) => x.serial === sel.serial || stripZeros(x.serial) === stripZeros(sel.serial ?? ''));
      if (!t) throw new CofferError('TOKEN_NOT_FOUND', `no token with serial ${sel.serial} is present (present: ${tokens.map((x) => x.displayName).join(', ')}); insert it and try again`);
      return t;
    }
    if (sel.label) {
      const matches = tokens.filter((x) => x.label === sel.label);
      if (matches.length === 0) throw new CofferError('TOKEN_NOT_FOUND', `no token labelled "${sel.label}" is present (present: ${tokens.map((x) => x.displayName).join(', ')})`);
      if (matches.length > 1) throw new CofferError('USAGE', `several tokens are labelled "${sel.label}"; choose one with --serial (${matches.map((x) => x.serial).join(', ')})`);
      return matches[0] as TokenSummary;
    }
    if (tokens.length > 1) {
      throw new CofferError('USAGE', `${tokens.length} tokens are present; choose one with --serial N or --token LABEL (${tokens.map((x) => x.displayName).join('; ')})`);
    }
    return tokens[0] as TokenSummary;
  }

  /** Whether a token with this serial (and label) is still present and readable. */
  isPresent(token: TokenSummary): boolean {
    try {
      const slots = this.pkcs11.C_GetSlotList(true);
      for (const slot of slots) {
        if (slot.toString('hex') !== token.slotId) continue;
        const info = this.pkcs11.C_GetTokenInfo(slot);
        return trimPadded(info.serialNumber) === token.serial && trimPadded(info.label) === token.label;
      }
      return false;
    } catch {
      return false;
    }
  }

  /** Current token flags (PIN counters), or null if they cannot be read. */
  tokenFlags(token: TokenSummary): number | null {
    try {
      return this.pkcs11.C_GetTokenInfo(Buffer.from(token.slotId, 'hex')).flags;
    } catch {
      return null;
    }
  }

  openSession(token: TokenSummary, readWrite = false): TokenSession {
    const p = pkcs11js();
    try {
      const flags = p.CKF_SERIAL_SESSION | (readWrite ? p.CKF_RW_SESSION : 0);
      return new TokenSession(this, token, this.pkcs11.C_OpenSession(Buffer.from(token.slotId, 'hex'), flags));
    } catch (e) {
      throw this.mapError(e, token, 'opening a session');
    }
  }

  /** Maps a failure, first checking whether the token went away. */
  mapError(e: unknown, token: TokenSummary, doing: string): CofferError {
    if (e instanceof CofferError) return e;
    const gone = !this.isPresent(token);
    return mapPkcs11Error(e, { tokenName: token.displayName, doing, flags: gone ? null : this.tokenFlags(token), tokenGone: gone, exactCounts: isYubicoToken(token) });
  }
}

function stripZeros(s: string): string {
  return s.replace(/^0+/, '');
}

/** Runs `fn` with the module at `path` loaded, and finalises it afterwards. */
export async function withModule<T>(path: string, fn: (m: TokenModule) => Promise<T> | T): Promise<T> {
  const m = TokenModule.open(path);
  try {
    return await fn(m);
  } finally {
    m.close();
  }
}

export interface PrivateKeyRef {
  /** Uncompressed public point: the primary way to find the key (through its public key or certificate). */
  readonly point?: Uint8Array | undefined;
  /** CKA_ID read from the token at enrollment, hex. */
  readonly id?: string | undefined;
  readonly label?: string | undefined;
  readonly pivSlot?: string | undefined;
}

export class TokenSession {
  private open = true;
  constructor(readonly module: TokenModule, readonly token: TokenSummary, readonly handle: Handle) {}

  private get p(): Pkcs11 {
    return this.module.pkcs11;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.p.C_CloseSession(this.handle);
    } catch {
      /* the token is gone or the session already closed: closing again cannot help */
    }
  }

  /** Logs in as the user (PIN) or the security officer (for ykcs11: the PIV management key, hex); undefined for a PIN pad. */
  login(secret: string | undefined, as: 'user' | 'so' = 'user'): void {
    const lib = pkcs11js();
    try {
      this.p.C_Login(this.handle, as === 'so' ? lib.CKU_SO : lib.CKU_USER, secret);
    } catch (e) {
      const name = e instanceof Error ? e.message : '';
      if (name === 'CKR_USER_ALREADY_LOGGED_IN') return;
      if (as === 'so' && (name === 'CKR_PIN_INCORRECT' || name === 'CKR_PIN_LEN_RANGE')) {
        throw new CofferError('PIN_INCORRECT', `the management key for ${this.token.displayName} was not accepted (give the PIV management key as hex; the factory default is 010203…08 repeated three times)`, { cause: e });
      }
      throw this.module.mapError(e, this.token, 'logging in');
    }
  }

  logout(): void {
    try {
      this.p.C_Logout(this.handle);
    } catch {
      /* not logged in, or the token is gone */
    }
  }

  private find(template: Template, max = 256): Handle[] {
    this.p.C_FindObjectsInit(this.handle, template);
    try {
      return this.p.C_FindObjects(this.handle, max);
    } finally {
      this.p.C_FindObjectsFinal(this.handle);
    }
  }

  private attr(obj: Handle, type: number): Buffer | null {
    try {
      const r = this.p.C_GetAttributeValue(this.handle, obj, [{ type }]);
      const v = r[0]?.value;
      return v ? Buffer.from(v) : null;
    } catch (e) {
      const n = e instanceof Error ? e.message : '';
      if (n === 'CKR_ATTRIBUTE_TYPE_INVALID' || n === 'CKR_ATTRIBUTE_SENSITIVE') return null;
      throw e;
    }
  }

  /** EC keys visible in this session (public-key objects, plus certificates of keys without one). */
  listKeys(): KeySummary[] {
    const lib = pkcs11js();
    try {
      const keys: KeySummary[] = [];
      for (const h of this.find([{ type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY }, { type: lib.CKA_KEY_TYPE, value: lib.CKK_EC }])) {
        const label = this.attr(h, lib.CKA_LABEL)?.toString('utf8') ?? '';
        const id = this.attr(h, lib.CKA_ID)?.toString('hex') ?? '';
        const params = this.attr(h, lib.CKA_EC_PARAMS)?.toString('hex') ?? '';
        const curve = CURVE_BY_PARAMS[params] ?? 'unknown';
        const raw = this.attr(h, lib.CKA_EC_POINT);
        const bare = raw ? unwrapEcPoint(raw) : null;
        keys.push(keySummary(label, id, curve, bare, 'public-key'));
      }
      for (const h of this.find([{ type: lib.CKA_CLASS, value: lib.CKO_CERTIFICATE }])) {
        const id = this.attr(h, lib.CKA_ID)?.toString('hex') ?? '';
        if (id && keys.some((k) => k.id === id)) continue;
        const der = this.attr(h, lib.CKA_VALUE);
        if (!der) continue;
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(der);
        } catch {
          continue;
        }
        const pk = cert.publicKey;
        if (pk.asymmetricKeyType !== 'ec') continue;
        const named = pk.asymmetricKeyDetails?.namedCurve;
        const label = this.attr(h, lib.CKA_LABEL)?.toString('utf8') ?? '';
        if (named !== 'prime256v1') {
          keys.push(keySummary(label, id, named === 'secp384r1' ? 'P-384' : named ?? 'unknown', null, 'certificate'));
          continue;
        }
        const jwk = pk.export({ format: 'jwk' });
        const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
        keys.push(keySummary(label, id, 'P-256', point, 'certificate'));
      }
      return keys;
    } catch (e) {
      throw this.module.mapError(e, this.token, 'listing keys');
    }
  }

  /**
   * The private key for `ref`: through the public key / certificate with the same point (its
   * CKA_ID names the private key), else by the CKA_ID or label recorded at enrollment, else by PIV
   * slot label. Needs a logged-in session on most tokens.
   */
  findPrivateKey(ref: PrivateKeyRef): Handle {
    const lib = pkcs11js();
    const base = [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }, { type: lib.CKA_KEY_TYPE, value: lib.CKK_EC }];
    try {
      const ids: string[] = [];
      if (ref.point) {
        const want = Buffer.from(ref.point);
        for (const k of this.listKeys()) if (k.point && k.point.equals(want) && k.id) ids.push(k.id);
      }
      if (ref.id) ids.push(ref.id);
      for (const id of ids) {
        const hit = this.find([...base, { type: lib.CKA_ID, value: Buffer.from(id, 'hex') }], 2);
        if (hit[0]) return hit[0];
      }
      if (ref.label) {
        const hit = this.find([...base, { type: lib.CKA_LABEL, value: ref.label }], 2);
        if (hit[0]) return hit[0];
      }
      if (ref.pivSlot) {
        for (const h of this.find(base)) {
          const label = this.attr(h, lib.CKA_LABEL)?.toString('utf8') ?? '';
          if (pivSlotFromLabel(label) === ref.pivSlot) return h;
        }
      }
    } catch (e) {
      throw this.module.mapError(e, this.token, 'looking for the key');
    }
    throw new CofferError(
      'KEY_NOT_FOUND',
      `the enrolled key is not on ${this.token.displayName}${ref.label ? ` (label "${ref.label}")` : ''}; was the slot reset or regenerated? Use another key slot (a recovery key) to unlock`,
    );
  }

  /**
   * Generates a P-256 key pair on the token. Generic tokens (SoftHSM, HSMs): as the logged-in user,
   * with `label` and a random CKA_ID. ykcs11 (YubiKey): as SO (management key), in the PIV slot the
   * template's CKA_ID selects. Refuses to overwrite a key that is already there.
   */
  generateP256(opts: { label: string; pivSlot: string; touchPolicy?: YubicoPolicy['touch']; pinPolicy?: YubicoPolicy['pin'] }): KeySummary {
    const lib = pkcs11js();
    const yubico = isYubicoToken(this.token);
    if (!yubico && (opts.touchPolicy || opts.pinPolicy)) {
      throw new CofferError('USAGE', `touch and PIN policies can only be set on a YubiKey through Yubico's module (ykcs11); ${this.token.displayName} is not one`);
    }
    const existing = this.listKeys();
    if (yubico && existing.some((k) => k.pivSlot === opts.pivSlot)) {
      throw new CofferError('EXISTS', `PIV slot ${opts.pivSlot} on ${this.token.displayName} already holds a key; choose another slot (--slot 82…95) or use it with --use-existing`);
    }
    if (!yubico && existing.some((k) => k.label === opts.label)) {
      throw new CofferError('EXISTS', `a key labelled "${opts.label}" already exists on ${this.token.displayName}; choose another --label or use it with --use-existing`);
    }
    const id = yubico ? Buffer.from([ykcs11GenerateId(opts.pivSlot)]) : randomBytes(8);
    const common = [
      { type: lib.CKA_KEY_TYPE, value: lib.CKK_EC },
      { type: lib.CKA_TOKEN, value: true },
      { type: lib.CKA_ID, value: id },
    ];
    const pub: Template = [{ type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY }, ...common, { type: lib.CKA_EC_PARAMS, value: P256_OID_DER }];
    const priv: Template = [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }, ...common, { type: lib.CKA_DERIVE, value: true }];
    if (opts.touchPolicy) priv.push({ type: CKA_YUBICO_TOUCH_POLICY, value: Buffer.from([YUBICO_TOUCH[opts.touchPolicy]]) });
    if (opts.pinPolicy) priv.push({ type: CKA_YUBICO_PIN_POLICY, value: Buffer.from([YUBICO_PIN[opts.pinPolicy]]) });
    if (!yubico) {
      pub.push({ type: lib.CKA_LABEL, value: opts.label }, { type: lib.CKA_PRIVATE, value: false });
      priv.push(
        { type: lib.CKA_LABEL, value: opts.label },
        { type: lib.CKA_PRIVATE, value: true },
        { type: lib.CKA_SENSITIVE, value: true },
        { type: lib.CKA_EXTRACTABLE, value: false },
      );
    }
    let pair;
    try {
      pair = this.p.C_GenerateKeyPair(this.handle, { mechanism: lib.CKM_EC_KEY_PAIR_GEN }, pub, priv);
    } catch (e) {
      throw this.module.mapError(e, this.token, 'generating a key');
    }
    try {
      const raw = this.attr(pair.publicKey, lib.CKA_EC_POINT);
      const point = raw ? unwrapEcPoint(raw) : null;
      if (!point) throw new CofferError('PKCS11', `${this.token.displayName} generated a key but did not return its public point`);
      const label = this.attr(pair.publicKey, lib.CKA_LABEL)?.toString('utf8') ?? opts.label;
      const readId = this.attr(pair.publicKey, lib.CKA_ID)?.toString('hex') ?? id.toString('hex');
      return keySummary(label, readId, 'P-256', point, 'public-key', yubico ? opts.pivSlot : null);
    } catch (e) {
      throw this.module.mapError(e, this.token, 'reading the new key');
    }
  }

  /**
   * The values of the private token data objects (CKO_DATA) labelled `label` with CKA_APPLICATION
   * `application` (normally one; two after an interrupted writeData). Needs a logged-in session.
   */
  readData(application: string, label: string): Buffer[] {
    const lib = pkcs11js();
    try {
      return this.find([{ type: lib.CKA_CLASS, value: lib.CKO_DATA }, { type: lib.CKA_APPLICATION, value: application }, { type: lib.CKA_LABEL, value: label }], 16)
        .map((h) => this.attr(h, lib.CKA_VALUE) ?? Buffer.alloc(0));
    } catch (e) {
      throw this.module.mapError(e, this.token, 'reading a data object');
    }
  }

  /**
   * Creates or replaces the private token data object labelled `label`: the new object is created
   * first, then older ones with that label are destroyed, so an interruption leaves at least one.
   * Needs a read-write, logged-in session.
   */
  writeData(application: string, label: string, value: Uint8Array): void {
    const lib = pkcs11js();
    const match = [{ type: lib.CKA_CLASS, value: lib.CKO_DATA }, { type: lib.CKA_APPLICATION, value: application }, { type: lib.CKA_LABEL, value: label }];
    try {
      const old = this.find(match, 16);
      const created = this.p.C_CreateObject(this.handle, [
        ...match,
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_PRIVATE, value: true },
        { type: lib.CKA_MODIFIABLE, value: true },
        { type: lib.CKA_VALUE, value: Buffer.from(value) },
      ]);
      for (const h of old) if (!h.equals(created)) this.p.C_DestroyObject(this.handle, h);
    } catch (e) {
      throw this.module.mapError(e, this.token, 'writing a data object');
    }
  }

  /** ECDH (CKM_ECDH1_DERIVE, CKD_NULL) with each peer point, in a worker thread; returns the 32-byte shared x-coordinates. */
  async derive(privateKey: Handle, peerPoints: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const res = await deriveInWorker({
      libraryPath: this.module.path,
      session: new Uint8Array(this.handle),
      privateKey: new Uint8Array(privateKey),
      peerPoints: peerPoints.map((p) => new Uint8Array(p)),
    });
    if (res.ok) return res.secrets;
    const err = Object.assign(new Error(res.message), { name: res.name, code: res.code });
    throw this.module.mapError(err, this.token, 'deriving the key');
  }
}

function keySummary(label: string, id: string, curve: string, point: Buffer | null, source: KeySummary['source'], pivSlot?: string | null): KeySummary {
  let p: Buffer | undefined;
  if (point && curve === 'P-256') {
    try {
      p = toUncompressed(point, 'PKCS11');
    } catch {
      p = undefined;
    }
  }
  return {
    label,
    id,
    curve,
    ...(p ? { point: p, fingerprint: p256Fingerprint(p) } : {}),
    pivSlot: pivSlot ?? pivSlotFromLabel(label),
    source,
  };
}
