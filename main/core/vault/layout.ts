/**
 * The vault folder's layout and its plaintext parts (docs/FORMAT.md, "Vault layout"): object names,
 * the descriptor, the epoch body, revocation manifests, and the limits on what a folder can make an
 * open consider. Everything here works without a key.
 *
 *   coffer-vault.json        descriptor (plaintext: format, id, name, created)
 *   epochs/<E>.epoch         one per epoch, signed with VK_E; holds older epochs' keys (chain)
 *   epochs/<E>.manifest      a revocation's list of the record files it keeps
 *   slots/<S>.slot           one per key slot, signed with the key of the epoch named inside
 *   keys/<S>.<E>.key         VK_E wrapped for slot S (a coffer header whose MAC proves VK_E)
 *   records/<id>.rec         one encrypted record per file or folder
 *   blobs/<id>.blob          one immutable encrypted payload per file version
 *   requests/<R>.req         access requests (unauthenticated; approved by `grant`)
 *   tmp/                     temp files, intents, the writer lock (need not be synced)
 */
import { createHash } from 'node:crypto';
import { CofferError } from '../errors';
import { parseSignedObject } from './crypto';
import { HEX12, ID_RE, normalizeName, parseObjectName } from './names';
import type { SlotBody } from './slots';
import { FsStorage, type VaultStorage } from './storage';
import { nameProblem } from './validate';
import type { EpochAnchor } from './anchor';
import type { Retention } from './versions';

export const DESCRIPTOR_KEY = 'coffer-vault.json';
export const VAULT_FORMAT = 'coffer-vault';
/** Written by this build; version 1 vaults still open, and move to 2 on their first change (see migrate). */
export const VAULT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];

/** Bounds on what a folder can make an open consider (docs/FORMAT.md §6.7). */
export const VAULT_LIMITS = {
  /** Epoch files: more is a flooded folder, refused with VAULT_INVALID. */
  epochFiles: 10_000,
  /** Slot files: more is refused with VAULT_INVALID. */
  slotFiles: 1_000,
  /** Epochs whose key wraps are tried per open; those beyond are reported, not tried. */
  epochTries: 64,
} as const;

export interface VaultDescriptor {
  readonly format: typeof VAULT_FORMAT;
  readonly version: 1 | 2;
  readonly id: string;
  readonly name: string;
  readonly created: string;
  /**
   * Strict mode: every file key is also sealed by this key guard (e.g. "vault-transit:transit/kek"),
   * so each file open is authorised by it. Covered by the epochs' descriptor hash. docs/VAULT-TRANSIT.md.
   */
  readonly strict?: string;
}

/** The signed body of `epochs/<E>.epoch`. */
export interface EpochBody {
  /** 1 in vaults made before format 2; 2 adds memberKeys and manifest. */
  readonly v: 1 | 2;
  readonly vault: string;
  readonly epoch: string;
  readonly n: number;
  readonly parents: string[];
  readonly created: string;
  /** SHA-256 (hex) of coffer-vault.json's exact bytes. */
  readonly descriptor: string;
  /** parent epoch id → its VK sealed under this epoch's chain key. */
  readonly chain: Record<string, string>;
  /** Slots wrapped when this epoch was made. */
  readonly members: string[];
  /** Slots this epoch revokes (and their fingerprints). */
  readonly revoked: string[];
  readonly revokedFingerprints: string[];
  /** v2: slot id → SHA-256 (hex) of the recipient string it was wrapped for. */
  readonly memberKeys?: Record<string, string>;
  /** v2 revocations: SHA-256 (hex) of `epochs/<E>.manifest`, the record files current when it was made. */
  readonly manifest?: string;
  /**
   * Freshness anchor (anchor.ts, FORMAT.md §6.17): the Transit slot and key version this epoch is
   * anchored at. Once an epoch is anchored, every epoch descending from it is (the anchor is permanent).
   */
  readonly anchor?: EpochAnchor;
  /** How long previous versions and trash entries are kept (versions.ts); absent: the defaults. */
  readonly retention?: Retention;
}

export const RECORDS = 'records';
export const BLOBS = 'blobs';
export const SLOTS = 'slots';
export const KEYS = 'keys';
export const EPOCHS = 'epochs';
export const REQUESTS = 'requests';

export const recordKey = (id: string): string => `${RECORDS}/${id}.rec`;
export const blobKey = (id: string): string => `${BLOBS}/${id}.blob`;
export const slotKey = (id: string): string => `${SLOTS}/${id}.slot`;
export const wrapKeyName = (slot: string, epoch: string): string => `${KEYS}/${slot}.${epoch}.key`;
export const epochKey = (id: string): string => `${EPOCHS}/${id}.epoch`;
export const manifestKey = (id: string): string => `${EPOCHS}/${id}.manifest`;

/** The descriptor's bytes as coffer writes them (pretty JSON, key order kept, newline). */
export function descriptorBytes(d: VaultDescriptor): Buffer {
  return Buffer.from(`${JSON.stringify(d, null, 2)}\n`, 'utf8');
}

export const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const nowIso = (): string => new Date().toISOString();

/** Splits a vault path into components ('' and '/' are the root). */
export function splitVaultPath(vpath: string): string[] {
  const parts = vpath.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.').map(normalizeName);
  for (const p of parts) {
    if (p === '..') throw new CofferError('USAGE', `vault paths cannot contain "..": ${vpath}`);
  }
  return parts;
}

export function checkName(name: string): void {
  const why = nameProblem(name);
  if (why !== null) throw new CofferError('USAGE', `invalid name ${JSON.stringify(name)}: ${why}`);
}

export function conflictName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (conflict ${n})${ext}`;
}

/** Reads the plaintext descriptor; VAULT_INVALID when `dir` is not a vault. */
export async function readDescriptor(storage: VaultStorage): Promise<{ desc: VaultDescriptor; bytes: Buffer }> {
  const bytes = await storage.get(DESCRIPTOR_KEY);
  if (!bytes) throw new CofferError('VAULT_INVALID', `${storage.location} is not a coffer vault (no ${DESCRIPTOR_KEY})`);
  let d: VaultDescriptor;
  try {
    d = JSON.parse(bytes.toString('utf8')) as VaultDescriptor;
  } catch {
    throw new CofferError('VAULT_INVALID', `${storage.location}/${DESCRIPTOR_KEY} is not valid JSON`);
  }
  if (d.format !== VAULT_FORMAT || typeof d.id !== 'string' || !ID_RE.test(d.id) || (d.strict !== undefined && typeof d.strict !== 'string')) {
    throw new CofferError('VAULT_INVALID', `${storage.location}/${DESCRIPTOR_KEY} is not a coffer vault descriptor`);
  }
  if (!READABLE_VERSIONS.includes(d.version)) {
    throw new CofferError('UNSUPPORTED_VERSION', `vault format version ${String(d.version)} is not supported by this build (it reads versions ${READABLE_VERSIONS.join(' and ')})`);
  }
  return { desc: d, bytes };
}

/** What can be read without unlocking: name, id and the slots (for an unlock screen). Unauthenticated. */
export async function readVaultInfo(dir: string, storage: VaultStorage = new FsStorage(dir)): Promise<{ id: string; name: string; created: string; slots: { id: string; type: string; label: string; fingerprint: string }[] }> {
  const { desc } = await readDescriptor(storage);
  const slots: { id: string; type: string; label: string; fingerprint: string }[] = [];
  for (const o of await storage.list(SLOTS)) {
    const n = parseObjectName(o.name, '.slot', HEX12);
    if (!n || n.conflict) continue;
    try {
      const raw = await storage.get(`${SLOTS}/${o.name}`);
      const b = parseSignedObject<SlotBody>((raw ?? Buffer.alloc(0)).toString('utf8'), 'slot').body;
      slots.push({ id: n.id, type: b.type, label: b.label, fingerprint: b.fingerprint });
    } catch {
      /* shown as a problem once unlocked */
    }
  }
  return { id: desc.id, name: desc.name, created: desc.created, slots };
}
