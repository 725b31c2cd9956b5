import type { ErrorCode } from '../errors';
import type { ConflictSource } from './names';
import type { ProgressListener } from '../jobs/progress';
import type { SlotType } from './slots';
import type { StagedObject } from './storage';

export type EntryType = 'file' | 'dir';

/** The plaintext of an entry record (inside the AEAD). */
export interface RecordBody {
  readonly v: 1;
  readonly id: string;
  readonly type: EntryType;
  /** Parent folder's entry id; '' for the vault root. */
  readonly parent: string;
  readonly name: string;
  /** Plaintext size in bytes (0 for folders). */
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly mtime: number;
  /** Incremented by every change to this entry. */
  readonly version: number;
  /** Files: the file key K (base64), which encrypts the blob's payload. */
  readonly key?: string;
  /** Files: the content blob's id. */
  readonly blob?: string;
  /**
   * Dead properties set through the WebDAV drive (PROPPATCH): `{namespace}name` → XML value.
   * Optional and bounded (see `PROPS_LIMITS`); kept across new versions and moves.
   */
  readonly props?: Readonly<Record<string, string>>;
  /** Files: previous versions, newest first (versions.ts; docs/FORMAT.md §6.16). */
  readonly history?: readonly HistoryItem[];
  /** Set while the entry is in the trash (and, with `purged`, after it was removed from there). */
  readonly trashed?: TrashMark;
  /** Blobs this entry no longer names, deleted by collection once the sync grace has passed. */
  readonly released?: readonly ReleasedBlob[];
  /**
   * Version clock (docs/FORMAT.md §6.18): writer id → how many changes of this entry that writer made.
   * A record replaces another only if its clock has seen all of the other's changes; absent in records
   * written before packs (then the higher version replaces).
   */
  readonly clock?: Readonly<Record<string, number>>;
  /** Set on a deletion record (a tombstone, ms since 1970): the entry was removed permanently. */
  readonly gone?: number;
}

/** One previous version of a file: what its record said while it was current. */
export interface HistoryItem {
  /** The entry's `version` while this content was current. */
  readonly version: number;
  readonly size: number;
  readonly mtime: number;
  readonly key: string;
  readonly blob: string;
  /** When it stopped being current (ms since 1970). */
  readonly replaced: number;
}

export interface TrashMark {
  /** When it was deleted (ms since 1970). */
  readonly at: number;
  /** The entry the person deleted: this one, or a folder it was in. */
  readonly root: string;
  /** Its vault path when it was deleted (where restore puts it back). */
  readonly path: string;
  /** Removed from the trash (emptied or expired) at this time: a tombstone until its blobs are collected. */
  readonly purged?: number;
}

export interface ReleasedBlob {
  readonly blob: string;
  /** When the record stopped naming it (ms since 1970). */
  readonly at: number;
}

/** Bounds of a record's `props` (checked when writing and when reading a record). */
export const PROPS_LIMITS = { count: 256, nameBytes: 1024, totalBytes: 64 * 1024 } as const;

/** Whether `p` is a valid `props` value: a plain object of at most PROPS_LIMITS strings. */
export function validProps(p: unknown): p is Record<string, string> {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const entries = Object.entries(p as Record<string, unknown>);
  if (entries.length > PROPS_LIMITS.count) return false;
  let total = 0;
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || k === '' || Buffer.byteLength(k) > PROPS_LIMITS.nameBytes) return false;
    total += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  return total <= PROPS_LIMITS.totalBytes;
}

/** One row of a listing. Stable JSON shape (see docs/FORMAT.md, "vault --json"). */
export interface EntryInfo {
  readonly id: string;
  /** Vault path, '/'-separated, no leading slash; '' is the root. */
  readonly path: string;
  readonly name: string;
  readonly type: EntryType;
  readonly size: number;
  /** ISO 8601. */
  readonly mtime: string;
  readonly version: number;
  /** Set for the extra versions kept when copies disagree (sync conflict copies, same-name entries, orphans). */
  readonly conflict: { readonly source: ConflictSource | 'duplicate-name' | 'orphan' | 'concurrent'; readonly file: string } | null;
}

export interface SlotInfo {
  readonly id: string;
  readonly type: SlotType;
  readonly label: string;
  readonly fingerprint: string;
  readonly created: string;
  /** active: wraps the current epoch; unconfirmed: granted concurrently with a revocation, needs `grant` again. */
  readonly status: 'active' | 'unconfirmed';
  /** Whether this slot opened the vault in this session. */
  readonly current: boolean;
}

export interface AccessRequest {
  readonly id: string;
  readonly name: string;
  readonly recipient: string;
  readonly fingerprint: string;
  readonly created: string;
}

export type ProblemSeverity = 'error' | 'warning' | 'info';

export interface VaultProblem {
  readonly severity: ProblemSeverity;
  /** FORK: an epoch, slot or record on a branch that is not part of the vault's history (history.ts). ANCHOR: a freshness anchor could not be read or updated (anchor.ts). */
  readonly code: ErrorCode | 'LEFTOVER' | 'CONFLICT' | 'STALE_EPOCH' | 'UNKNOWN_FILE' | 'FORK' | 'ANCHOR';
  /** The storage object concerned, e.g. `records/3f…a1.rec`. */
  readonly object: string;
  /** Vault path when known. */
  readonly path: string | null;
  readonly message: string;
  /** `verify --repair` removes it (only leftovers proven unreferenced). */
  readonly repairable: boolean;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly records: number;
  readonly blobs: number;
  readonly bytes: number;
  readonly problems: VaultProblem[];
  readonly repaired: string[];
}

export interface RotateResult {
  readonly epoch: string;
  readonly previous: string[];
  readonly records: number;
  readonly slots: number;
  readonly blobsReencrypted: number;
  readonly ms: number;
}

export interface AddResult {
  readonly files: number;
  readonly folders: number;
  readonly bytes: number;
  readonly replaced: number;
  readonly skipped: string[];
}

/** A file encrypted into staging by `Vault.stageStream`, not yet part of the vault. */
export interface StagedFile {
  readonly staged: StagedObject;
  /** The file key as it goes into the record (base64, or sealed in strict vaults). */
  readonly key: string;
  /** Plaintext bytes. */
  readonly size: number;
}

export interface OpProgress {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}
