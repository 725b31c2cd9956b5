/**
 * vault-transit key provider: a 32-byte key (a vault key VK, or in strict mode a file key K) is
 * wrapped by a HashiCorp Vault Transit key, which never leaves Vault.
 *
 * Stanza: `-> vault-transit MOUNT KEY VERSION` with the body = the raw bytes of the Transit
 * ciphertext after `vault:vVERSION:` (for aes256-gcm96 / chacha20-poly1305: 12-byte nonce ‖
 * ciphertext ‖ 16-byte tag = 60 bytes for a 32-byte key). The stanza names no address and holds
 * no token: the address comes from settings/VAULT_ADDR, the token from the login. See
 * docs/FORMAT.md ("vault-transit stanza") and docs/VAULT-TRANSIT.md.
 */
import { CofferError } from '../errors';
import type { Identity, ProviderUI, Recipient, Stanza } from './types';
import { checkKeyRef, type BatchResult, type Ciphertext, type TransitClient, type TransitKeyRef } from './transit/client';

export { TransitClient, BATCH_MAX, type TransitKeyRef, type TransitKeyInfo, type BatchResult } from './transit/client';
export { resolveTransitConfig, checkNamedAddress, isLoopbackHost, type TransitSettings, type TransitAuthSettings, type ResolvedTransitConfig } from './transit/config';

export const TRANSIT_STANZA = 'vault-transit';
const KEY_BYTES = 32;
/** Smallest AEAD body (nonce + tag) and a generous cap (RSA-4096 Transit keys give 512 bytes). */
const MIN_BODY = 28;
const MAX_BODY = 4096;

export interface ParsedTransitStanza extends TransitKeyRef, Ciphertext {}

export function encodeTransitStanza(ref: TransitKeyRef, ct: Ciphertext): Stanza {
  checkKeyRef(ref);
  const prefix = `vault:v${ct.version}:`;
  if (!ct.ciphertext.startsWith(prefix)) throw new CofferError('TRANSIT', `Transit ciphertext does not carry version ${ct.version}`);
  const body = Buffer.from(ct.ciphertext.slice(prefix.length), 'base64');
  if (body.toString('base64') !== ct.ciphertext.slice(prefix.length)) throw new CofferError('TRANSIT', 'Transit returned a non-canonical base64 ciphertext');
  return { type: TRANSIT_STANZA, args: [ref.mount, ref.key, String(ct.version)], body: new Uint8Array(body) };
}

/** null for other stanza types; throws HEADER_INVALID for a malformed vault-transit stanza. */
export function parseTransitStanza(s: Stanza): ParsedTransitStanza | null {
  if (s.type !== TRANSIT_STANZA) return null;
  const [mount, key, ver, ...extra] = s.args;
  if (mount === undefined || key === undefined || ver === undefined || extra.length) {
    throw new CofferError('HEADER_INVALID', 'vault-transit stanza must have exactly 3 arguments: mount, key name, key version');
  }
  if (!/^[1-9][0-9]{0,8}$/.test(ver)) throw new CofferError('HEADER_INVALID', `vault-transit stanza: bad key version "${ver}"`);
  try {
    checkKeyRef({ mount, key });
  } catch (e) {
    throw new CofferError('HEADER_INVALID', `vault-transit stanza: ${(e as Error).message}`);
  }
  if (s.body.length < MIN_BODY || s.body.length > MAX_BODY) throw new CofferError('HEADER_INVALID', `vault-transit stanza body must be ${MIN_BODY}–${MAX_BODY} bytes`);
  const version = Number(ver);
  return { mount, key, version, ciphertext: `vault:v${version}:${Buffer.from(s.body).toString('base64')}` };
}

/** Wraps keys with transit/encrypt (one request, or one per BATCH_MAX keys with wrapMany). */
export class TransitRecipient implements Recipient {
  readonly type = TRANSIT_STANZA;
  readonly fingerprint: string;
  constructor(readonly client: TransitClient, readonly ref: TransitKeyRef) {
    checkKeyRef(ref);
    this.fingerprint = `vault-transit:${client.address}/${ref.mount}/${ref.key}`;
  }

  async wrap(key: Uint8Array): Promise<Stanza[]> {
    if (key.byteLength !== KEY_BYTES) throw new CofferError('INTERNAL', 'vault-transit wraps 32-byte keys only');
    return [encodeTransitStanza(this.ref, await this.client.encrypt(this.ref, key))];
  }

  /** Strict mode: wrap many file keys with batch_input; any failed item fails the whole call. */
  async wrapMany(keys: readonly Uint8Array[]): Promise<Stanza[]> {
    if (!keys.length) return [];
    for (const k of keys) if (k.byteLength !== KEY_BYTES) throw new CofferError('INTERNAL', 'vault-transit wraps 32-byte keys only');
    const res = await this.client.encryptBatch(this.ref, keys);
    return res.map((r) => {
      if (!r.ok) throw r.error;
      return encodeTransitStanza(this.ref, r.value);
    });
  }
}

/** Creates a new 32-byte key inside Vault (transit/datakey/plaintext) and its stanza, in one request. */
export async function generateTransitKey(client: TransitClient, ref: TransitKeyRef): Promise<{ key: Uint8Array; stanza: Stanza }> {
  const dk = await client.dataKey(ref);
  if (dk.plaintext.length !== KEY_BYTES) throw new CofferError('TRANSIT', `Vault at ${client.address}: datakey returned ${dk.plaintext.length} bytes, expected ${KEY_BYTES}`);
  return { key: new Uint8Array(dk.plaintext), stanza: encodeTransitStanza(ref, dk) };
}

/** A stanza for a fresh key that only Vault has ever seen (transit/datakey/wrapped). */
export async function createWrappedTransitKey(client: TransitClient, ref: TransitKeyRef): Promise<Stanza> {
  return encodeTransitStanza(ref, await client.wrappedDataKey(ref));
}

export interface TransitIdentityOptions {
  /** Only unwrap stanzas of this mount/key (others are "not mine"); default: any vault-transit stanza. */
  readonly only?: Partial<TransitKeyRef>;
}

/** Unwraps vault-transit stanzas with transit/decrypt. Non-interactive: it is tried first. */
export class TransitIdentity implements Identity {
  readonly kind = 'vault-transit';
  readonly interactive = false;
  constructor(readonly client: TransitClient, readonly opts: TransitIdentityOptions = {}) {}

  private mine(p: ParsedTransitStanza): boolean {
    const o = this.opts.only;
    return (!o?.mount || o.mount === p.mount) && (!o?.key || o.key === p.key);
  }

  async unwrap(stanzas: readonly Stanza[], ui: ProviderUI): Promise<Uint8Array | null> {
    const candidates: ParsedTransitStanza[] = [];
    for (const s of stanzas) {
      const p = parseTransitStanza(s);
      if (p && this.mine(p)) candidates.push(p);
    }
    if (!candidates.length) return null;
    ui.notify({ kind: 'contacting', message: `Contacting Vault at ${this.client.address}…` });
    let firstError: unknown;
    for (const c of candidates) {
      try {
        const pt = await this.client.decrypt(c, c.ciphertext, c.version);
        if (pt.length !== KEY_BYTES) throw new CofferError('TRANSIT', `Vault at ${this.client.address}: ${c.mount}/decrypt/${c.key} returned ${pt.length} bytes, expected ${KEY_BYTES}`);
        const out = new Uint8Array(pt);
        pt.fill(0);
        return out;
      } catch (e) {
        firstError ??= e;
      }
    }
    throw firstError;
  }

  /**
   * Strict mode: unwrap many single-stanza key slots (one per entry) with batch_input, grouped by
   * mount/key. Results keep the input order; an item Vault refuses carries its CofferError, and a
   * request-level failure (403, sealed, unreachable) throws.
   */
  async unwrapMany(items: readonly Stanza[]): Promise<BatchResult<Uint8Array>[]> {
    const parsed = items.map((s) => {
      const p = parseTransitStanza(s);
      if (!p) throw new CofferError('HEADER_INVALID', `expected a vault-transit stanza, got ${s.type}`);
      return p;
    });
    const out: BatchResult<Uint8Array>[] = new Array(items.length);
    const groups = new Map<string, number[]>();
    parsed.forEach((p, i) => {
      const k = `${p.mount}\n${p.key}`;
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    for (const idx of groups.values()) {
      const first = parsed[idx[0] as number] as ParsedTransitStanza;
      const res = await this.client.decryptBatch(first, idx.map((i) => parsed[i] as ParsedTransitStanza));
      res.forEach((r, j) => {
        const i = idx[j] as number;
        if (r.ok && r.value.length !== KEY_BYTES) out[i] = { ok: false, error: new CofferError('TRANSIT', `Vault returned a ${r.value.length}-byte key, expected ${KEY_BYTES}`) };
        else out[i] = r.ok ? { ok: true, value: new Uint8Array(r.value) } : r;
      });
    }
    return out;
  }
}

/**
 * After the Transit key rotated: rewrap every vault-transit stanza below the key's latest version
 * with transit/rewrap (batched per key). Vault decrypts and re-encrypts internally; the wrapped key
 * never reaches Coffer. Other stanzas are returned unchanged, in place.
 */
export async function rewrapTransitStanzas(client: TransitClient, stanzas: readonly Stanza[]): Promise<{ stanzas: Stanza[]; rewrapped: number }> {
  const parsed = stanzas.map((s) => parseTransitStanza(s));
  const versions = new Map<string, { latest: number; min: number }>();
  for (const p of parsed) {
    if (!p) continue;
    const k = `${p.mount}\n${p.key}`;
    if (!versions.has(k)) {
      const info = await client.readKey(p);
      versions.set(k, { latest: info.latestVersion, min: info.minDecryptionVersion });
    }
  }
  const out = [...stanzas];
  let rewrapped = 0;
  const groups = new Map<string, number[]>();
  parsed.forEach((p, i) => {
    const v = p ? versions.get(`${p.mount}\n${p.key}`) : undefined;
    // Below min_decryption_version Vault cannot rewrap it: left as it is (a freshness-anchored vault's
    // older epochs, which are reached through the chain; or a slot that needs the admin's recovery steps).
    if (p && v && p.version < v.latest && p.version >= v.min) {
      const k = `${p.mount}\n${p.key}`;
      groups.set(k, [...(groups.get(k) ?? []), i]);
    }
  });
  for (const idx of groups.values()) {
    const first = parsed[idx[0] as number] as ParsedTransitStanza;
    const res = await client.rewrapBatch(first, idx.map((i) => parsed[i] as ParsedTransitStanza));
    res.forEach((r, j) => {
      if (!r.ok) throw r.error;
      const i = idx[j] as number;
      out[i] = encodeTransitStanza(parsed[i] as ParsedTransitStanza, r.value);
      rewrapped++;
    });
  }
  return { stanzas: out, rewrapped };
}
