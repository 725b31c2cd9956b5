/**
 * What the app's vault service needs from main/core/vault, in the app's terms (vault paths start
 * with "/"). core-vault.ts implements it over the real core; keeping the seam narrow lets the
 * service (timers, jobs, temp files, events) be read and tested on its own.
 */
import type { Readable, Writable } from 'node:stream';
import type { Identity, ProviderUI, Recipient } from '../core/keys/types';
import type { StagedFile } from '../core/vault';
import type { AccessRequest, ConflictInfo, EntryInfo, FileVersion, Retention, SlotInfo, TrashEntry } from '../../preload/contract';

import type { JobControl as TransferProgress } from './jobs';

export type { TransferProgress };

export interface VaultPeek {
  readonly id: string;
  readonly name: string;
  /** Slots as the descriptor lists them (readable before unlocking; authenticated after). */
  readonly slots: SlotInfo[];
}

export interface UnlockInput {
  readonly identities: Identity[];
  readonly passphrase?: string;
  readonly recoveryKey?: string;
}

export interface CreateInput {
  readonly name: string;
  readonly passphrase: string | null;
  /** Recipient strings (coffer1…, hardware-key and Transit recipients). */
  readonly recipients: { recipient: string; label: string }[];
}

export interface OpenVault {
  readonly id: string;
  readonly name: string;
  /** Re-reads the vault folder (changes by other members and sync clients). */
  refresh(): Promise<void>;
  list(dir: string): Promise<EntryInfo[]>;
  conflicts(): Promise<ConflictInfo[]>;
  add(sources: string[], to: string, p: TransferProgress): Promise<void>;
  /** Writes one file out to `dest` (atomically; nothing at `dest` unless it completes). */
  get(path: string, dest: string, p: TransferProgress): Promise<void>;
  /**
   * Browser-shell downloads: streams one file's plaintext into `out` (an HTTP response), decrypting as
   * it goes; nothing is written to disk. Only authenticated chunks reach `out`; a tampered or truncated
   * blob fails part-way (the caller then breaks the response, so the browser marks the download failed).
   */
  readTo(path: string, out: Writable, p: TransferProgress): Promise<number>;
  mkdir(path: string): Promise<void>;
  move(from: string, to: string): Promise<void>;
  /** Moves to the trash; resolves with the trash id that restores it (issue 10 part 3). */
  remove(path: string, recursive: boolean): Promise<string | null | void>;
  resolveConflict(path: string, keep: 'both' | 'mine' | 'theirs'): Promise<void>;
  slots(): Promise<SlotInfo[]>;
  requests(): Promise<AccessRequest[]>;
  grant(recipient: string, label: string): Promise<SlotInfo>;
  revoke(slotId: string, reencrypt: boolean, p: TransferProgress | null): Promise<{ rotatedTo: number | null; reencryptedFiles: number }>;
  rotate(): Promise<{ epoch: number; records: number }>;
  dismissRequest(id: string): Promise<void>;
  /** The entry id and version number of a file (for save-back), or null when `path` is not a file. */
  fileVersion(path: string): Promise<{ id: string; version: number } | null>;
  /**
   * Save-back of an edited "Open" copy: encrypts `source` (staged, not yet part of the vault), then,
   * if `check()` still agrees, commits it as the next version of `path`, but only if that entry is
   * still entry `expect.id` at version `expect.version` (null: only if nothing is at `path`).
   * VAULT_CONFLICT when the entry changed meanwhile. Returns null when `check()` said no.
   */
  saveEdit(path: string, source: Readable, opts: { expect: { id: string; version: number } | null; mtime: number; check: () => Promise<boolean> }): Promise<{ id: string; version: number; path: string } | null>;
  /**
   * Browser-shell uploads: encrypts `source` as it arrives into a staged blob (constant memory; not yet
   * part of the vault, and nothing left behind if it fails or `signal` aborts).
   */
  stageUpload(source: Readable, signal: AbortSignal): Promise<StagedFile>;
  /** Commits a staged upload as `path` (a new file, or the next version of the file there); creates its folders. */
  commitUpload(staged: StagedFile, path: string): Promise<void>;
  /** Drops a staged upload that will not be committed. */
  discardUpload(staged: StagedFile): Promise<void>;
  /** Wipes the vault key and closes handles. */
  close(): void;
  /** "Mount as drive": serves this vault over WebDAV on 127.0.0.1 (main/core/webdav). */
  serveDrive?(opts: DriveServeOptions): Promise<DriveServer>;
  /** Issue 11 admin tasks: set (or add) the passphrase; nothing is re-encrypted. */
  passwd?(passphrase: string): Promise<SlotInfo>;
  /** Issue 11 admin tasks: authenticate everything; with `repair`, remove only proven leftovers. */
  verify?(repair: boolean): Promise<HealthReport>;
  /** Issue 10 part 3: versions and trash (docs/FORMAT.md §6.16). */
  versions?(path: string): Promise<{ versions: FileVersion[]; retention: Retention }>;
  restoreVersion?(path: string, version: number): Promise<{ path: string; version: number }>;
  /** Writes one version to `dest` (atomically; nothing at `dest` unless it completes). */
  getVersion?(path: string, version: number, dest: string, p: TransferProgress): Promise<void>;
  /** Streams one version's plaintext to `out` (the browser shell's download); resolves with its length. */
  readVersionTo?(path: string, version: number, out: Writable, p: TransferProgress): Promise<number>;
  trash?(): Promise<{ entries: TrashEntry[]; retention: Retention }>;
  restoreFromTrash?(id: string): Promise<{ path: string }>;
  emptyTrash?(ids?: string[]): Promise<{ emptied: number; blobs: number; pending: number }>;
  setRetention?(r: Retention): Promise<Retention>;
  /** Applies retention and frees what the sync grace allows; blobs deleted. */
  collect?(): Promise<{ blobs: number; bytes: number }>;
}

export interface DriveServeOptions {
  readonly user: string;
  readonly password: string;
  readonly readOnly: boolean;
  /** Each request through the drive (the vault is in use: no idle lock). */
  readonly onActivity: () => void;
  /** Internal server errors (never secrets or contents). */
  readonly onError: (message: string) => void;
}

/** A file clients have open through the drive (app path, "/a/b.txt"). */
export interface DriveOpenFile {
  readonly path: string;
  readonly kind: 'upload' | 'download' | 'lock';
}

export interface DriveServer {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  openFiles(): DriveOpenFile[];
  /** Stops: uploads still streaming in are abandoned (nothing half-written enters the vault). */
  close(): Promise<void>;
}

export interface HealthReport {
  ok: boolean;
  records: number;
  blobs: number;
  bytes: number;
  problems: { severity: 'error' | 'warning' | 'info'; path: string | null; message: string; repairable: boolean }[];
  repaired: string[];
}

export interface VaultCore {
  peek(dir: string): Promise<VaultPeek>;
  create(dir: string, input: CreateInput, ui: ProviderUI): Promise<{ vault: OpenVault; recoveryKey: string }>;
  unlock(dir: string, input: UnlockInput, ui: ProviderUI): Promise<OpenVault>;
  requestAccess(dir: string, recipient: string, name: string): Promise<void>;
  parseRecipient(text: string): Recipient;
}
