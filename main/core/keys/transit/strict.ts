/**
 * Strict mode: every entry's file key K is itself wrapped by Vault Transit, so opening a file is a
 * transit/decrypt that Vault authorises and audits (and a policy change in Vault takes effect on the
 * next open). Keys are sealed and opened in batches (batch_input, up to BATCH_MAX per request),
 * never one request per file.
 *
 * A sealed key is a string stored in the entry record (under the vault key as usual):
 *
 *   vault-transit:MOUNT/KEY:vault:vN:BASE64
 *
 * i.e. the guard's id, `:`, and Vault's ciphertext verbatim.
 */
import { CofferError } from '../../errors';
import { checkKeyRef, type BatchResult, type TransitClient, type TransitKeyRef } from './client';
import { parseTransitRecipientString, transitClient, TRANSIT_RECIPIENT_PREFIX } from './slot';

/** What a vault needs from a strict-mode key guard. */
export interface FileKeyGuard {
  /** Stable id recorded by the vault, e.g. "vault-transit:transit/team-kek". */
  readonly id: string;
  /** Seals file keys, all or nothing, in input order. */
  seal(keys: readonly Uint8Array[]): Promise<string[]>;
  /** Opens sealed keys in input order; per-item failures are returned, request failures thrown. */
  open(sealed: readonly string[]): Promise<BatchResult<Uint8Array>[]>;
}

const CT_RE = /^vault:v([1-9][0-9]{0,8}):([A-Za-z0-9+/]+={0,2})$/;

export function isSealedFileKey(s: string): boolean {
  return s.startsWith(TRANSIT_RECIPIENT_PREFIX);
}

export class TransitFileKeyGuard implements FileKeyGuard {
  readonly id: string;
  private readonly getClient: () => TransitClient;

  /** `client` may be a getter, so a vault can be opened before Vault is contacted. */
  constructor(client: TransitClient | (() => TransitClient), readonly ref: TransitKeyRef) {
    checkKeyRef(ref);
    this.id = `${TRANSIT_RECIPIENT_PREFIX}${ref.mount}/${ref.key}`;
    this.getClient = typeof client === 'function' ? client : () => client;
  }

  /** A guard for the id a vault recorded, using the process-wide client (see slot.ts). */
  static fromId(id: string, client: TransitClient | (() => TransitClient) = transitClient): TransitFileKeyGuard {
    return new TransitFileKeyGuard(client, parseTransitRecipientString(id).ref);
  }

  async seal(keys: readonly Uint8Array[]): Promise<string[]> {
    if (!keys.length) return [];
    for (const k of keys) if (k.byteLength !== 32) throw new CofferError('INTERNAL', 'file keys are 32 bytes');
    const res = await this.getClient().encryptBatch(this.ref, keys);
    return res.map((r) => {
      if (!r.ok) throw r.error;
      return `${this.id}:${r.value.ciphertext}`;
    });
  }

  async open(sealed: readonly string[]): Promise<BatchResult<Uint8Array>[]> {
    if (!sealed.length) return [];
    const out: BatchResult<Uint8Array>[] = new Array(sealed.length);
    const items: { i: number; ciphertext: string; version: number }[] = [];
    sealed.forEach((s, i) => {
      const ct = s.startsWith(`${this.id}:`) ? s.slice(this.id.length + 1) : '';
      const m = CT_RE.exec(ct);
      if (!m) out[i] = { ok: false, error: new CofferError('VAULT_TAMPERED', `a strict-mode file key is not sealed by ${this.id}`) };
      else items.push({ i, ciphertext: ct, version: Number(m[1]) });
    });
    if (items.length) {
      const res = await this.getClient().decryptBatch(this.ref, items);
      res.forEach((r, j) => {
        const i = (items[j] as { i: number }).i;
        if (r.ok && r.value.length !== 32) out[i] = { ok: false, error: new CofferError('TRANSIT', `Vault returned a ${r.value.length}-byte file key`) };
        else out[i] = r.ok ? { ok: true, value: new Uint8Array(r.value) } : r;
      });
    }
    return out;
  }

  /** After the Transit key rotated: moves sealed keys to the latest version with transit/rewrap. */
  async rewrap(sealed: readonly string[]): Promise<string[]> {
    const cts = sealed.map((s) => {
      const ct = s.startsWith(`${this.id}:`) ? s.slice(this.id.length + 1) : '';
      const m = CT_RE.exec(ct);
      if (!m) throw new CofferError('VAULT_TAMPERED', `a strict-mode file key is not sealed by ${this.id}`);
      return { ciphertext: ct, version: Number(m[1]) };
    });
    const res = await this.getClient().rewrapBatch(this.ref, cts);
    return res.map((r) => {
      if (!r.ok) throw r.error;
      return `${this.id}:${r.value.ciphertext}`;
    });
  }
}

type GuardFactory = (id: string) => FileKeyGuard;
const factories: [string, GuardFactory][] = [[TRANSIT_RECIPIENT_PREFIX, (id) => TransitFileKeyGuard.fromId(id)]];

/** Lets another provider offer strict mode: ids starting with `prefix` get guards from `factory`. */
export function registerFileKeyGuard(prefix: string, factory: GuardFactory): void {
  if (!factories.some(([p]) => p === prefix)) factories.push([prefix, factory]);
}

/** The key guard for the id a strict vault records; VAULT_INVALID for an unknown kind. */
export function fileKeyGuardFor(id: string): FileKeyGuard {
  const f = factories.find(([p]) => id.startsWith(p));
  if (!f) throw new CofferError('VAULT_INVALID', `this vault uses strict mode with "${id}", which this build of coffer does not know`);
  return f[1](id);
}
