/**
 * pkcs11-p256: hardware keys (YubiKey PIV, any PKCS#11 token with a P-256 key) as recipients.
 *
 * Wrap (software, anyone with the public key): an ephemeral P-256 key pair e; the shared secret
 * S = ECDH(e, R) (the 32-byte x-coordinate); the wrap key W = HKDF-SHA256(ikm S,
 * salt = E ‖ R (both uncompressed, 65 bytes each), info "coffer/piv-p256", 32 bytes); the body is
 * XChaCha20-Poly1305(W, nonce = 24 zero bytes, no associated data) over the 32-byte key. W is
 * used once, so the fixed nonce is safe (as age does with ChaCha20-Poly1305).
 * Stanza: `-> piv-p256 <tag> <E>` where tag = SHA-256(compressed R)[0..4] and E is the compressed
 * ephemeral point, both unpadded base64; the body is 48 bytes.
 *
 * Unwrap (on the token): C_DeriveKey(CKM_ECDH1_DERIVE, CKD_NULL, raw 65-byte E) after the PIN,
 * in a worker thread (the token may wait for a touch); HKDF and the AEAD run in software.
 *
 * Recipient string: bech32 "coffer-piv1…" of the compressed point (with checksum).
 * Identity stub: a line `COFFER-PIV-STUB-1 recipient=… serial=… …` naming the module, token and key;
 * it holds no secret (see docs/HARDWARE-KEYS.md).
 */
import { createECDH, hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { decodeB64, encodeB64 } from '../format/base64';
import { decodeBech32, encodeBech32 } from './bech32';
import type { Identity, ProviderUI, Recipient, Stanza } from './types';
import { keyTag, p256Fingerprint, toCompressed, toUncompressed } from './pkcs11/p256';
import { CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, pinLockedMessage, triesFromYkcs11Flags } from './pkcs11/errors';
import { resolveModulePath } from './pkcs11/modules';
import { parsePivSlot } from './pkcs11/piv';
import { isYubicoToken, withModule, type KeySummary, type TokenModule, type TokenSession, type TokenSummary, type YubicoPolicy } from './pkcs11/token';
import { pkcs11js } from './pkcs11/lib';

export const PIV_STANZA = 'piv-p256';
export const PIV_RECIPIENT_HRP = 'coffer-piv';
export const PIV_STUB_PREFIX = 'COFFER-PIV-STUB-1';
export const PIV_HKDF_INFO = 'coffer/piv-p256';
const KEY_BYTES = 32;
const BODY_BYTES = KEY_BYTES + 16;
const ZERO_NONCE = new Uint8Array(24);

function wrapKeyFor(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array {
  const salt = Buffer.concat([Buffer.from(ephemeral), Buffer.from(recipient)]);
  return new Uint8Array(hkdfSync('sha256', shared, salt, PIV_HKDF_INFO, KEY_BYTES));
}

/* ---------------- recipient ---------------- */

export class PivP256Recipient implements Recipient {
  readonly type = PIV_STANZA;
  /** Uncompressed point, 65 bytes. */
  readonly point: Buffer;
  readonly tag: Buffer;
  readonly fingerprint: string;

  constructor(point: Uint8Array) {
    this.point = toUncompressed(point, 'BAD_RECIPIENT');
    this.tag = keyTag(this.point);
    this.fingerprint = p256Fingerprint(this.point);
  }

  static parse(text: string): PivP256Recipient {
    const data = decodeBech32(text.trim(), PIV_RECIPIENT_HRP, 'BAD_RECIPIENT', 'hardware-key recipient');
    if (data.byteLength !== 33) throw new CofferError('BAD_RECIPIENT', 'hardware-key recipient must hold a 33-byte compressed P-256 point');
    return new PivP256Recipient(data);
  }

  /** Whether `text` looks like a hardware-key recipient string (prefix only; parse() validates). */
  static looksLike(text: string): boolean {
    return text.trim().toLowerCase().startsWith(`${PIV_RECIPIENT_HRP}1`);
  }

  toString(): string {
    return encodeBech32(PIV_RECIPIENT_HRP, toCompressed(this.point));
  }

  wrap(key: Uint8Array): Stanza[] {
    if (key.byteLength !== KEY_BYTES) throw new CofferError('INTERNAL', 'piv-p256 wraps 32-byte keys only');
    const eph = createECDH('prime256v1');
    const ephPoint = eph.generateKeys();
    const shared = eph.computeSecret(this.point);
    const wk = wrapKeyFor(shared, ephPoint, this.point);
    try {
      const body = sodium().aeadEncrypt(key, null, ZERO_NONCE, wk);
      return [{ type: PIV_STANZA, args: [encodeB64(this.tag), encodeB64(toCompressed(ephPoint))], body }];
    } finally {
      sodium().memzero(shared);
      sodium().memzero(wk);
    }
  }
}

/* ---------------- identity stub ---------------- */

/** What an identity stub records: where the key lives. No secret. */
export interface PivStub {
  readonly recipient: PivP256Recipient;
  readonly modulePath?: string | undefined;
  readonly serial?: string | undefined;
  readonly tokenLabel?: string | undefined;
  readonly pivSlot?: string | undefined;
  readonly keyLabel?: string | undefined;
  /** CKA_ID as read from the token at enrollment, hex (a lookup hint; the public key is matched first). */
  readonly keyId?: string | undefined;
}

const STUB_FIELDS = {
  recipient: 'recipient',
  serial: 'serial',
  token: 'tokenLabel',
  slot: 'pivSlot',
  'key-label': 'keyLabel',
  'key-id': 'keyId',
  module: 'modulePath',
} as const;
type StubFieldName = keyof typeof STUB_FIELDS;

/** The single stub line: `COFFER-PIV-STUB-1 recipient=… serial=… token=… slot=… key-label=… key-id=… module=…` (values percent-encoded). */
export function formatPivStubLine(stub: PivStub): string {
  const parts: string[] = [PIV_STUB_PREFIX, `recipient=${stub.recipient.toString()}`];
  const add = (k: StubFieldName, v: string | undefined): void => {
    if (v) parts.push(`${k}=${encodeURIComponent(v)}`);
  };
  add('serial', stub.serial);
  add('token', stub.tokenLabel);
  add('slot', stub.pivSlot);
  add('key-label', stub.keyLabel);
  add('key-id', stub.keyId);
  add('module', stub.modulePath);
  return parts.join(' ');
}

/** A whole stub file: comments for people, then the stub line. */
export function formatPivStubFile(stub: PivStub, token?: Pick<TokenSummary, 'displayName'>): string {
  const r = stub.recipient;
  return [
    '# Coffer hardware-key identity stub. It names a key on a token and holds no secret;',
    '# unlocking still needs the token and its PIN.',
    token ? `# token: ${token.displayName}` : null,
    stub.pivSlot ? `# slot: ${stub.pivSlot}` : null,
    `# recipient: ${r.toString()}`,
    `# fingerprint: ${r.fingerprint}`,
    formatPivStubLine(stub),
    '',
  ]
    .filter((l): l is string => l !== null)
    .join('\n');
}

/** Parses one stub line (see formatPivStubLine). Throws BAD_IDENTITY_FILE. */
export function parsePivStubLine(line: string): PivStub {
  const fields = line.trim().split(/ +/);
  if (fields[0] !== PIV_STUB_PREFIX) throw new CofferError('BAD_IDENTITY_FILE', `not a hardware-key stub line (expected it to start with ${PIV_STUB_PREFIX})`);
  const out: Record<string, string> = {};
  for (const f of fields.slice(1)) {
    const eq = f.indexOf('=');
    const k = eq > 0 ? f.slice(0, eq) : '';
    if (!(k in STUB_FIELDS)) throw new CofferError('BAD_IDENTITY_FILE', `hardware-key stub: unknown field "${eq > 0 ? k : f}"`);
    const prop = STUB_FIELDS[k as StubFieldName];
    if (prop in out) throw new CofferError('BAD_IDENTITY_FILE', `hardware-key stub: field "${k}" appears twice`);
    let v: string;
    try {
      v = decodeURIComponent(f.slice(eq + 1));
    } catch {
      throw new CofferError('BAD_IDENTITY_FILE', `hardware-key stub: field "${k}" is not validly encoded`);
    }
    out[prop] = v;
  }
  if (!out.recipient) throw new CofferError('BAD_IDENTITY_FILE', 'hardware-key stub has no recipient');
  let recipient: PivP256Recipient;
  try {
    recipient = PivP256Recipient.parse(out.recipient);
  } catch (e) {
    throw new CofferError('BAD_IDENTITY_FILE', `hardware-key stub: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (out.keyId !== undefined && !/^(?:[0-9a-f]{2})*$/.test(out.keyId)) throw new CofferError('BAD_IDENTITY_FILE', 'hardware-key stub: key-id must be hex');
  return {
    recipient,
    modulePath: out.modulePath,
    serial: out.serial,
    tokenLabel: out.tokenLabel,
    pivSlot: out.pivSlot,
    keyLabel: out.keyLabel,
    keyId: out.keyId,
  };
}

/** Parses a stub file: `#` comments and blank lines are skipped; exactly one stub line. */
export function parsePivStubFile(text: string): PivStub {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) throw new CofferError('BAD_IDENTITY_FILE', `a hardware-key stub file holds exactly one ${PIV_STUB_PREFIX} line (found ${lines.length} non-comment lines)`);
  return parsePivStubLine(lines[0] as string);
}

/* ---------------- identity ---------------- */

export interface PivIdentityOptions {
  /** Module from Settings or --module; otherwise the stub's module if it exists here, else the usual places. */
  readonly modulePath?: string | undefined;
  /** Keep the PIN in memory after a successful unlock (until forgetPin()). Off by default. */
  readonly cachePin?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

function parseStanza(s: Stanza): { tag: Buffer; eph: Buffer } {
  if (s.args.length !== 2) throw new CofferError('HEADER_INVALID', 'invalid header: piv-p256 stanza needs 2 arguments');
  const tag = decodeB64(s.args[0] as string);
  const eph = decodeB64(s.args[1] as string);
  if (!tag || tag.byteLength !== 4) throw new CofferError('HEADER_INVALID', 'invalid header: piv-p256 stanza tag must be 4 bytes of canonical base64');
  if (!eph || eph.byteLength !== 33 || (eph[0] !== 2 && eph[0] !== 3)) throw new CofferError('HEADER_INVALID', 'invalid header: piv-p256 ephemeral point must be 33 bytes (compressed)');
  if (s.body.byteLength !== BODY_BYTES) throw new CofferError('HEADER_INVALID', `invalid header: piv-p256 stanza body must be ${BODY_BYTES} bytes`);
  return { tag, eph };
}

export class PivP256Identity implements Identity {
  readonly kind = 'piv-p256';
  readonly interactive = true;
  readonly recipient: PivP256Recipient;
  private pin: Buffer | null = null;

  constructor(readonly stub: PivStub, private readonly opts: PivIdentityOptions = {}) {
    this.recipient = stub.recipient;
  }

  static fromStubFile(text: string, opts?: PivIdentityOptions): PivP256Identity {
    return new PivP256Identity(parsePivStubFile(text), opts);
  }

  /** The module this identity will load. */
  modulePath(): string {
    if (this.opts.modulePath) return this.opts.modulePath;
    if (this.stub.modulePath && existsSync(this.stub.modulePath)) return this.stub.modulePath;
    return resolveModulePath({ env: this.opts.env ?? process.env });
  }

  /** Wipes a cached PIN (call on lock) and ends holdPin(). */
  forgetPin(): void {
    if (this.pin) this.pin.fill(0);
    this.pin = null;
    this.pinHeld = false;
  }

  private pinHeld = false;
  /**
   * Keeps the PIN after the next successful login until forgetPin(): an unlocked vault reads and
   * writes its freshness anchor on the token without asking again (the vault calls forgetPin on lock).
   */
  holdPin(): void {
    this.pinHeld = true;
  }

  /**
   * Runs `fn` in a logged-in session on this identity's token (read-write if asked): for the private
   * data objects of a vault's freshness anchor (main/core/vault/anchor.ts).
   */
  async withTokenSession<T>(ui: ProviderUI, readWrite: boolean, fn: (session: TokenSession) => T): Promise<T> {
    return withModule(this.modulePath(), async (mod) => {
      const token = mod.findToken({ serial: this.stub.serial, label: this.stub.serial ? undefined : this.stub.tokenLabel });
      const session = mod.openSession(token, readWrite);
      try {
        await this.login(mod, session, token, ui);
        return fn(session);
      } finally {
        session.logout();
        session.close();
      }
    });
  }

  /** Whether a PIN is held in memory now (the token was unlocked in this session with holdPin or cachePin). */
  get hasPin(): boolean {
    return this.pin !== null;
  }

  /** The token's display name, for messages (without loading the module). */
  get tokenName(): string {
    const l = this.stub.tokenLabel || 'hardware key';
    return this.stub.serial ? `${l} (serial ${this.stub.serial})` : l;
  }

  async unwrap(stanzas: readonly Stanza[], ui: ProviderUI): Promise<Uint8Array | null> {
    // Only stanzas tagged for this key: a stanza for another token is "not mine" and that token is never asked for a PIN.
    const mine: { eph: Buffer; body: Uint8Array }[] = [];
    for (const s of stanzas) {
      if (s.type !== PIV_STANZA) continue;
      const { tag, eph } = parseStanza(s);
      if (tag.equals(this.recipient.tag)) mine.push({ eph: toUncompressed(eph, 'HEADER_INVALID'), body: s.body });
    }
    if (mine.length === 0) return null;

    const key = await withModule(this.modulePath(), async (mod) => {
      const token = mod.findToken({ serial: this.stub.serial, label: this.stub.serial ? undefined : this.stub.tokenLabel });
      const session = mod.openSession(token, false);
      try {
        await this.login(mod, session, token, ui);
        const priv = session.findPrivateKey({ point: this.recipient.point, id: this.stub.keyId, label: this.stub.keyLabel, pivSlot: this.stub.pivSlot });
        ui.notify({ kind: 'touch', message: `Touch your key ${token.displayName} if it blinks` });
        // One key agreement per stanza, stopping at the first that opens (each may need its own touch).
        for (const m of mine) {
          const [secret] = await session.derive(priv, [m.eph]);
          if (!secret) continue;
          const wk = wrapKeyFor(secret, m.eph, this.recipient.point);
          sodium().memzero(secret);
          const opened = sodium().aeadDecrypt(m.body, null, ZERO_NONCE, wk);
          sodium().memzero(wk);
          if (opened) return opened;
        }
        return null;
      } finally {
        session.logout();
        session.close();
      }
    });
    if (key) return key;
    throw new CofferError('HEADER_INVALID', `the piv-p256 stanza for ${this.recipient.fingerprint} does not decrypt with the token's key: the header was altered`);
  }

  private async login(mod: TokenModule, session: TokenSession, token: TokenSummary, ui: ProviderUI): Promise<void> {
    const lib = pkcs11js();
    const flags = mod.tokenFlags(token) ?? token.flags;
    if (!(flags & lib.CKF_LOGIN_REQUIRED)) return;
    if (flags & CKF_USER_PIN_LOCKED) throw new CofferError('PIN_LOCKED', pinLockedMessage(token.displayName));
    if (flags & lib.CKF_PROTECTED_AUTHENTICATION_PATH) {
      ui.notify({ kind: 'info', message: `Enter the PIN on ${token.displayName}'s PIN pad` });
      session.login(undefined);
      return;
    }
    let pin = this.pin?.toString('utf8');
    if (pin === undefined) {
      pin = await ui.requestSecret({ kind: 'pin', prompt: `PIN for ${token.displayName}${pinWarning(token, flags)}` });
    }
    try {
      session.login(pin);
    } catch (e) {
      this.forgetPin();
      throw e;
    }
    if ((this.opts.cachePin || this.pinHeld) && !this.pin) this.pin = Buffer.from(pin, 'utf8');
  }
}

/** A warning for the PIN prompt when the token says tries are running out. */
function pinWarning(token: TokenSummary, flags: number): string {
  if (flags & CKF_USER_PIN_FINAL_TRY) return ' (careful: one more wrong PIN locks it)';
  if (isYubicoToken(token) && triesFromYkcs11Flags(flags) === 2) return ' (2 tries left)';
  return '';
}

/* ---------------- listing and enrollment ---------------- */

export interface TokenListing extends TokenSummary {
  readonly keys: KeySummary[];
}

export interface HardwareKeyListing {
  readonly modulePath: string;
  readonly module: { manufacturer: string; description: string; version: string };
  readonly tokens: TokenListing[];
}

/** Tokens and their EC keys, read without logging in. */
export async function listHardwareKeys(opts: { modulePath?: string | undefined; env?: NodeJS.ProcessEnv } = {}): Promise<HardwareKeyListing> {
  const modulePath = resolveModulePath({ modulePath: opts.modulePath, env: opts.env ?? process.env });
  return withModule(modulePath, (mod) => {
    const tokens = mod.listTokens().map((t) => {
      const s = mod.openSession(t, false);
      try {
        return { ...t, keys: s.listKeys() };
      } finally {
        s.close();
      }
    });
    return { modulePath, module: mod.describe(), tokens };
  });
}

export interface EnrollOptions {
  readonly modulePath?: string | undefined;
  readonly serial?: string | undefined;
  readonly tokenLabel?: string | undefined;
  /** PIV slot: 9d (default when generating) or 82…95. */
  readonly slot?: string | undefined;
  readonly mode: 'generate' | 'use-existing';
  /** Key label: set on generated keys (generic tokens), or the label of the existing key to use. */
  readonly label?: string | undefined;
  readonly ui: ProviderUI;
  /** YubiKey (ykcs11) only, with `generate`: the new key's touch and PIN policies (default: the token's). */
  readonly touchPolicy?: YubicoPolicy['touch'] | undefined;
  readonly pinPolicy?: YubicoPolicy['pin'] | undefined;
  /** The PIV management key (hex) for generation on a YubiKey; defaults to asking through `ui`. */
  readonly requestManagementKey?: (prompt: string) => Promise<string>;
  readonly env?: NodeJS.ProcessEnv;
}

export interface EnrollResult {
  readonly recipient: PivP256Recipient;
  readonly stub: PivStub;
  readonly token: TokenSummary;
  readonly key: KeySummary;
  readonly generated: boolean;
}

/**
 * Enrolls a P-256 key on a token: generates one (`generate`) or picks an existing one, and returns
 * its recipient and identity stub. Generation on a YubiKey (ykcs11) logs in as SO with the PIV
 * management key; on other tokens as the user with the PIN. Never overwrites an existing key.
 */
export async function enrollHardwareKey(opts: EnrollOptions): Promise<EnrollResult> {
  const slot = opts.slot ? parsePivSlot(opts.slot) : undefined;
  const modulePath = resolveModulePath({ modulePath: opts.modulePath, env: opts.env ?? process.env });
  return withModule(modulePath, async (mod) => {
    const token = mod.findToken({ serial: opts.serial, label: opts.tokenLabel });
    const session = mod.openSession(token, true);
    try {
      let key: KeySummary;
      if (opts.mode === 'generate') {
        const pivSlot = slot ?? '9d';
        if (!isYubicoToken(token) && (opts.touchPolicy || opts.pinPolicy)) {
          throw new CofferError('USAGE', `touch and PIN policies can only be set on a YubiKey through Yubico's module (ykcs11); ${token.displayName} is not one`);
        }
        if (isYubicoToken(token)) {
          const prompt = `PIV management key (hex) for ${token.displayName}`;
          const mk = opts.requestManagementKey ? await opts.requestManagementKey(prompt) : await opts.ui.requestSecret({ kind: 'pin', prompt });
          session.login(mk, 'so');
        } else {
          await loginUser(session, mod, token, opts.ui);
        }
        key = session.generateP256({ label: opts.label ?? `coffer-${pivSlot}`, pivSlot, touchPolicy: opts.touchPolicy, pinPolicy: opts.pinPolicy });
      } else {
        if (opts.touchPolicy || opts.pinPolicy) throw new CofferError('USAGE', 'touch and PIN policies are set when a key is generated (--generate), not for an existing key');
        key = await chooseExisting(session, mod, token, opts.ui, slot, opts.label);
      }
      if (!key.point) throw new CofferError('KEY_NOT_FOUND', `the key "${key.label}" on ${token.displayName} has no readable P-256 public key`);
      const recipient = new PivP256Recipient(key.point);
      const stub: PivStub = {
        recipient,
        modulePath,
        serial: token.serial || undefined,
        tokenLabel: token.label || undefined,
        pivSlot: key.pivSlot ?? undefined,
        keyLabel: key.label || undefined,
        keyId: key.id || undefined,
      };
      return { recipient, stub, token, key, generated: opts.mode === 'generate' };
    } finally {
      session.logout();
      session.close();
    }
  });
}

async function loginUser(session: TokenSession, mod: TokenModule, token: TokenSummary, ui: ProviderUI): Promise<void> {
  const flags = mod.tokenFlags(token) ?? token.flags;
  if (flags & CKF_USER_PIN_LOCKED) throw new CofferError('PIN_LOCKED', pinLockedMessage(token.displayName));
  session.login(await ui.requestSecret({ kind: 'pin', prompt: `PIN for ${token.displayName}${pinWarning(token, flags)}` }));
}

async function chooseExisting(session: TokenSession, mod: TokenModule, token: TokenSummary, ui: ProviderUI, slot: string | undefined, label: string | undefined): Promise<KeySummary> {
  let keys = session.listKeys().filter((k) => k.curve === 'P-256' && k.point);
  if (keys.length === 0) {
    // Some tokens show public objects only after login.
    await loginUser(session, mod, token, ui);
    keys = session.listKeys().filter((k) => k.curve === 'P-256' && k.point);
  }
  let pick = keys;
  if (label !== undefined) pick = pick.filter((k) => k.label === label);
  if (slot !== undefined) pick = pick.filter((k) => k.pivSlot === slot);
  const describe = (ks: KeySummary[]): string => ks.map((k) => `"${k.label}"${k.pivSlot ? ` (slot ${k.pivSlot})` : ''}`).join(', ') || 'none';
  if (pick.length === 0) {
    throw new CofferError('KEY_NOT_FOUND', `no P-256 key${label !== undefined ? ` labelled "${label}"` : ''}${slot ? ` in slot ${slot}` : ''} on ${token.displayName} (P-256 keys there: ${describe(keys)}); generate one with --generate or \`ykman piv keys generate -a ECCP256 ${slot ?? '9d'} -\``);
  }
  // The same key can appear as a public-key object and a certificate; keep distinct points.
  const distinct = pick.filter((k, i) => pick.findIndex((o) => o.point?.equals(k.point as Buffer)) === i);
  if (distinct.length > 1) throw new CofferError('USAGE', `several P-256 keys on ${token.displayName} match (${describe(distinct)}); choose one with --label or --slot`);
  return distinct[0] as KeySummary;
}
