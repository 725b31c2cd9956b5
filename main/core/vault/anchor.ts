/**
 * Freshness anchors: what lets a computer that has never opened a vault tell a restored older copy
 * of the folder from the real one (docs/SECURITY.md, "Rollback on a new computer"; FORMAT.md §6.17).
 * Everything in the folder of an older copy authenticates under keys a removed member still holds,
 * so freshness must be confirmed by something outside the folder:
 *
 * - **Transit anchor** (opt-in, a Transit key dedicated to this vault). Every rotation or revocation
 *   rotates the Transit key, wraps the new epoch's key under the new version, and raises the key's
 *   `min_decryption_version` to it. An older copy's newest epoch is wrapped under an older version,
 *   which Vault no longer decrypts. On open the key is read (one request) and compared; the newest
 *   epoch's wrap must also really decrypt to its key (one more request unless the unlock did it), so a
 *   forged `vault:vN:` label does not pass. The anchored slot and key are recorded in the epochs
 *   (`anchor`), authenticated by each epoch's MAC, and inherited along the verified history.
 * - **Hardware anchor.** A private data object `coffer-anchor:<vault id>` on an enrolled PKCS#11
 *   token records the newest epoch made while the token was present (id, number, SHA-256 of the
 *   epoch file). On open with that token, the chosen history must contain that epoch and descend from
 *   it. The object is found by the vault id, not through anything in the folder.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CofferError, isCofferError } from '../errors';
import type { Identity, ProviderUI, Stanza } from '../keys/types';
import { parseTransitStanza, TRANSIT_STANZA, TransitIdentity } from '../keys/vault-transit';
import { parseTransitRecipientString, transitClientFor, transitConfigured } from '../keys/transit/slot';
import type { TransitClient, TransitKeyRef } from '../keys/transit/client';
import { PivP256Identity } from '../keys/pkcs11-p256';

/* ------------------------------------------------------------------ Transit */

/** `anchor.transit` of an epoch body: the slot whose Transit key anchors the vault. */
export interface TransitAnchor {
  /** The vault-transit slot (12 hex digits). */
  readonly slot: string;
  /** MOUNT/KEY of its Transit key. */
  readonly key: string;
  /** The Transit key version this epoch's wrap for the slot uses (min_decryption_version once anchored). */
  readonly version: number;
}

export interface EpochAnchor {
  readonly transit?: TransitAnchor;
}

/** Whether an epoch body's `anchor` field is well-formed (absent is fine). */
export function validEpochAnchor(a: unknown): boolean {
  if (a === undefined) return true;
  if (!a || typeof a !== 'object' || Array.isArray(a)) return false;
  const keys = Object.keys(a);
  if (keys.some((k) => k !== 'transit')) return false;
  const t = (a as { transit?: unknown }).transit;
  if (t === undefined) return true;
  if (!t || typeof t !== 'object' || Array.isArray(t)) return false;
  const { slot, key, version } = t as Record<string, unknown>;
  return typeof slot === 'string' && /^[0-9a-f]{12}$/.test(slot) && typeof key === 'string' && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/.test(key)
    && typeof version === 'number' && Number.isSafeInteger(version) && version >= 1;
}

export function keyRefOf(anchor: TransitAnchor): TransitKeyRef {
  const i = anchor.key.lastIndexOf('/');
  return { mount: anchor.key.slice(0, i), key: anchor.key.slice(i + 1) };
}

/** The Transit client for a vault-transit slot's recipient (allowlist checked); TRANSIT_CONFIG when not configured. */
export function anchorClient(recipient: string): TransitClient {
  if (!transitConfigured()) {
    throw new CofferError('TRANSIT_CONFIG', 'Vault is not configured here (set VAULT_ADDR and VAULT_TOKEN, or give --vault-config FILE)');
  }
  return transitClientFor(parseTransitRecipientString(recipient));
}

/** The Transit stanza for `ref` among a wrap's stanzas (with its key version), or null. */
export function transitStanzaFor(stanzas: readonly Stanza[], ref: TransitKeyRef): { stanza: Stanza; version: number } | null {
  for (const s of stanzas) {
    if (s.type !== TRANSIT_STANZA) continue;
    const p = parseTransitStanza(s);
    if (p && p.mount === ref.mount && p.key === ref.key) return { stanza: s, version: p.version };
  }
  return null;
}

export type TransitCheck =
  | { readonly status: 'fresh'; readonly minDecryption: number; readonly requests: number }
  | { readonly status: 'unreachable'; readonly reason: string };

/** Errors that mean "Vault could not be asked", as opposed to an answer about this wrap. */
function unreachable(e: unknown): boolean {
  if (!isCofferError(e)) return false;
  return ['TRANSIT_CONFIG', 'TRANSIT_UNREACHABLE', 'TRANSIT_TLS', 'TRANSIT_AUTH', 'TRANSIT_SEALED', 'TRANSIT_ADDRESS_NOT_ALLOWED', 'TRANSIT_DENIED'].includes(e.code)
    || (e.code === 'TRANSIT' && !/message authentication failed|invalid ciphertext|could not decode/.test(e.message));
}

/**
 * Checks the newest epoch against the Transit anchor: the key is read (one request); a wrap under a
 * version below `min_decryption_version` is an older copy (VAULT_ROLLBACK); otherwise, unless the
 * unlock already decrypted this very wrap, it is decrypted (one request) and must give the epoch's
 * key (else VAULT_TAMPERED: a forged wrap). Vault not reachable or not configured: `unreachable`.
 */
export async function checkTransitAnchor(opts: {
  readonly vaultName: string;
  readonly epoch: string;
  readonly anchor: TransitAnchor;
  readonly recipient: string;
  /** The stanzas of keys/<slot>.<epoch>.key (header MAC already verified with the epoch's key), or null if missing. */
  readonly stanzas: readonly Stanza[] | null;
  readonly epochKey: Uint8Array;
  /** The unlock decrypted this wrap through Transit already. */
  readonly proved: boolean;
  readonly ui: ProviderUI;
}): Promise<TransitCheck> {
  const ref = keyRefOf(opts.anchor);
  const name = `${ref.mount}/${ref.key}`;
  let client: TransitClient;
  try {
    client = anchorClient(opts.recipient);
  } catch (e) {
    if (unreachable(e)) return { status: 'unreachable', reason: (e as Error).message };
    throw e;
  }
  const before = client.requestCount;
  let minDec: number;
  try {
    minDec = (await client.readKey(ref)).minDecryptionVersion;
  } catch (e) {
    if (isCofferError(e) && e.code === 'TRANSIT_KEY_NOT_FOUND') {
      throw new CofferError('VAULT_ROLLBACK', `vault ${opts.vaultName} is anchored to Vault Transit key ${name}, which no longer exists: freshness cannot be confirmed. Ask the vault's owner (was the key deleted?)`);
    }
    if (unreachable(e)) return { status: 'unreachable', reason: (e as Error).message };
    throw e;
  }
  const found = opts.stanzas ? transitStanzaFor(opts.stanzas, ref) : null;
  if (!found) {
    throw new CofferError('VAULT_ROLLBACK', `vault ${opts.vaultName}: its newest epoch ${opts.epoch} has no key wrap for Transit key ${name}, which anchors its freshness, so it cannot be shown to be the newest copy (an older copy, a forged epoch, or a key file not yet synced). Wait for the folder to finish syncing; otherwise restore the newest copy or ask the vault's owner`);
  }
  const rollback = (): CofferError => new CofferError('VAULT_ROLLBACK', `vault ${opts.vaultName} was rolled back: its newest epoch ${opts.epoch} is wrapped with version ${found.version} of Transit key ${name}, but that key accepts only versions ${minDec} and later since a newer revocation or rotation of this vault. This folder is an older copy (perhaps restored by a removed member): do not add files to it. Restore the newest copy, or ask the vault's owner`);
  if (found.version < minDec) throw rollback();
  if (!opts.proved) {
    let key: Uint8Array | null;
    try {
      key = await new TransitIdentity(client, { only: ref }).unwrap([found.stanza], opts.ui);
    } catch (e) {
      if (isCofferError(e) && e.code === 'TRANSIT_VERSION_TOO_OLD') throw rollback();
      if (unreachable(e)) return { status: 'unreachable', reason: (e as Error).message };
      key = null;
    }
    const ok = key !== null && key.length === opts.epochKey.length && timingSafeEqual(key, opts.epochKey);
    key?.fill(0);
    if (!ok) {
      throw new CofferError('VAULT_TAMPERED', `vault ${opts.vaultName}: the Transit key wrap of its newest epoch ${opts.epoch} does not decrypt to that epoch's key: it was forged (someone holding an older vault key made this epoch). Restore the newest copy, or ask the vault's owner`);
    }
  }
  return { status: 'fresh', minDecryption: minDec, requests: client.requestCount - before };
}

/* ------------------------------------------------------------------ hardware */

export const HW_ANCHOR_APPLICATION = 'coffer';
export const hwAnchorLabel = (vaultId: string): string => `coffer-anchor:${vaultId}`;

/** The value of a hardware anchor data object (JSON, UTF-8). */
export interface HardwareAnchor {
  readonly v: 1;
  readonly vault: string;
  readonly epoch: string;
  readonly n: number;
  /** Hex SHA-256 of the epoch file's exact bytes. */
  readonly hash: string;
}

export const epochFileHash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function parseHardwareAnchor(raw: Buffer, vaultId: string): HardwareAnchor | null {
  if (raw.length > 4096) return null;
  try {
    const o = JSON.parse(raw.toString('utf8')) as Partial<HardwareAnchor>;
    if (o.v !== 1 || o.vault !== vaultId || typeof o.epoch !== 'string' || !/^[0-9]{8}-[0-9a-f]{8}$/.test(o.epoch)
      || typeof o.n !== 'number' || !Number.isSafeInteger(o.n) || typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash)) return null;
    return { v: 1, vault: o.vault, epoch: o.epoch, n: o.n, hash: o.hash };
  } catch {
    return null;
  }
}

/** The hardware-key identities among those given (the tokens that can hold an anchor). */
export function hardwareIdentities(ids: readonly Identity[] | undefined): PivP256Identity[] {
  return (ids ?? []).filter((i): i is PivP256Identity => i instanceof PivP256Identity);
}

export interface HardwareAnchorRead {
  readonly token: string;
  readonly anchor: HardwareAnchor | null;
  readonly error?: CofferError;
}

/** Reads the anchor for `vaultId` from one token (the newest if an interrupted write left two). */
export async function readHardwareAnchor(id: PivP256Identity, vaultId: string, ui: ProviderUI): Promise<HardwareAnchorRead> {
  try {
    const values = await id.withTokenSession(ui, false, (s) => s.readData(HW_ANCHOR_APPLICATION, hwAnchorLabel(vaultId)));
    const parsed = values.map((v) => parseHardwareAnchor(v, vaultId));
    if (parsed.some((p) => p === null)) {
      return { token: id.tokenName, anchor: null, error: new CofferError('VAULT_TAMPERED', `the freshness anchor of this vault on ${id.tokenName} is malformed`) };
    }
    const best = (parsed as HardwareAnchor[]).sort((a, b) => b.n - a.n)[0] ?? null;
    return { token: id.tokenName, anchor: best };
  } catch (e) {
    if (!isCofferError(e)) throw e;
    return { token: id.tokenName, anchor: null, error: e };
  }
}

/** Writes (creates or replaces) the anchor for the vault on one token. */
export async function writeHardwareAnchor(id: PivP256Identity, value: HardwareAnchor, ui: ProviderUI, onlyIfPresent: boolean): Promise<boolean> {
  return id.withTokenSession(ui, true, (s) => {
    const label = hwAnchorLabel(value.vault);
    if (onlyIfPresent && s.readData(HW_ANCHOR_APPLICATION, label).length === 0) return false;
    s.writeData(HW_ANCHOR_APPLICATION, label, Buffer.from(JSON.stringify(value), 'utf8'));
    return true;
  });
}
