/**
 * A vault: a folder of small objects that sync clients can copy independently (docs/FORMAT.md,
 * "Vault layout"; layout.ts lists the objects). `Vault` is the public face of an open, unlocked
 * vault; each of its operations lives in the module named for it (docs/ARCHITECTURE.md, "The vault
 * code"): open.ts (load, heal, migrate, the writer lock), unlock.ts, records.ts (the index), tree.ts,
 * entries.ts (mkdir, mv, rm, properties), add.ts, get.ts, membership.ts, rotation.ts and
 * new-epoch.ts, freshness.ts, verify.ts; init.ts creates a vault. They share one `VaultCore` (core.ts).
 */
import type { Readable, Writable } from 'node:stream';
import { initSodium } from '../crypto/sodium';
import type { Argon2Params } from '../keys/passphrase';
import { nonInteractiveUI, type ProviderUI, type Recipient, type Stanza } from '../keys/types';
import type { TransitAnchor } from './anchor';
import { VaultCore } from './core';
import * as add from './add';
import * as entries from './entries';
import { versionStore } from './entries';
import { transitAnchorAt } from './freshness';
import * as get from './get';
import { readDescriptor, type VaultDescriptor } from './layout';
import * as membership from './membership';
import type { ExportRenameReason } from './names';
import * as open from './open';
import { compactNow, type RecordNode } from './records';
import * as rotation from './rotation';
import type { SlotBody, UnlockCredentials } from './slots';
import { FsStorage, type VaultStorage } from './storage';
import * as tree from './tree';
import type {
  AccessRequest, AddResult, EntryInfo, OpProgress, RotateResult, SlotInfo, StagedFile, VaultProblem, VerifyReport,
} from './types';
import * as verify from './verify';
import type { CollectResult, Retention, TrashInfo, VersionInfo, VersionStore } from './versions';
import './transit-slot';

export {
  DESCRIPTOR_KEY, VAULT_FORMAT, VAULT_LIMITS, VAULT_VERSION, readVaultInfo, splitVaultPath, type EpochBody, type VaultDescriptor,
} from './layout';
export { manifestText } from './records';
export { requestAccess } from './membership';
export type { OpProgress, StagedFile } from './types';

export interface OpenOptions {
  readonly credentials: UnlockCredentials;
  /** Client state folder (highest epoch seen per vault, entry versions). */
  readonly stateDir: string;
  readonly ui?: ProviderUI;
  readonly storage?: VaultStorage;
  /**
   * After copies were merged by a sync client: join concurrent epochs and wrap the current epoch for
   * members that lack it (default true; a read-only folder is left as is).
   */
  readonly heal?: boolean;
  /** The clock for version and trash times and their collection (ms since 1970; tests inject one). */
  readonly clock?: () => number;
}

export async function openVault(dir: string, opts: OpenOptions): Promise<Vault> {
  await initSodium();
  const storage = opts.storage ?? new FsStorage(dir);
  const { desc, bytes } = await readDescriptor(storage);
  const v = new Vault(storage, desc, bytes, opts.stateDir, opts.ui ?? nonInteractiveUI, opts.credentials);
  if (opts.clock) v.useClock(opts.clock);
  try {
    await v.load();
    if (opts.heal !== false) await v.healIfNeeded();
  } catch (e) {
    v.lock(); // keys opened before the refusal (a rollback, a tampered object) are wiped
    throw e;
  }
  return v;
}

/** An open, unlocked vault. Call `lock()` when done: it wipes every key. */
export class Vault {
  readonly id: string;
  readonly name: string;
  /** The state every module works on (core.ts); tests reach it as `vault['core']`. */
  private readonly core: VaultCore;

  constructor(
    readonly storage: VaultStorage,
    desc: VaultDescriptor,
    descBytes: Buffer,
    stateDir: string,
    ui: ProviderUI,
    credentials: UnlockCredentials,
  ) {
    this.core = new VaultCore(storage, desc, descBytes, stateDir, ui, credentials);
    this.id = this.core.id;
    this.name = this.core.name;
  }

  private get versionStore(): VersionStore<RecordNode> {
    return versionStore(this.core);
  }

  /** The strict-mode key guard id, if this vault is strict. */
  get strict(): string | undefined {
    return this.core.desc.strict;
  }

  get location(): string {
    return this.core.location;
  }

  /** The current (newest) epoch id. */
  get epoch(): string {
    return this.core.head;
  }

  /** Problems found while loading (bad records, unknown epochs, conflicts); `verify` reports more. */
  get problems(): readonly VaultProblem[] {
    return this.core.loadProblems;
  }

  /**
   * Things the person opening the vault must be told, beyond problems with objects: above all, on the
   * first open on a computer (no state), that a rollback to an older copy cannot be ruled out.
   */
  get warnings(): readonly string[] {
    return this.core.openWarnings;
  }

  /** The vault format version of the folder (1 until its first change by this build). */
  get formatVersion(): number {
    return this.core.formatVersion;
  }

  /** Wipes every key held in memory; the object is unusable afterwards. */
  lock(): void {
    this.core.wipe();
  }

  /** @internal init hands over the passphrase slot's secret so `passwd` works right after init. */
  rememberSlotSecret(slot: string, secret: Uint8Array): void {
    this.core.rememberSlotSecret(slot, secret);
  }

  /** (Re)reads the vault from storage: epochs, slots, records; unlocks new epochs. Idempotent. */
  async load(): Promise<void> {
    return open.load(this.core);
  }

  /** The Transit freshness anchor in force at the current epoch (FORMAT.md §6.17), or null. */
  get transitAnchor(): TransitAnchor | null {
    this.core.ensureOpen();
    return transitAnchorAt(this.core, this.core.head)?.anchor ?? null;
  }

  /** What confirmed that the folder is the newest copy on this open (e.g. "Transit key transit/k"); empty if nothing did. */
  get freshnessAnchors(): readonly string[] {
    return this.core.freshness;
  }

  /** Lists a folder (or one file). `recursive` lists the whole subtree. */
  list(vpath = '', opts: { recursive?: boolean } = {}): EntryInfo[] {
    return tree.list(this.core, vpath, opts);
  }

  /** One entry, or null. */
  stat(vpath: string): EntryInfo | null {
    return tree.stat(this.core, vpath);
  }

  /** Runs heal() under the lock if needed; a folder we cannot write to is left alone (reported as a problem). */
  async healIfNeeded(): Promise<boolean> {
    return open.healIfNeeded(this.core);
  }

  /**
   * Rewrites existing key-slot wraps without changing any vault key: `transform` receives every wrap
   * of an epoch this vault has open (slot, epoch, stanzas) at once and returns replacement stanzas
   * (null keeps a wrap). The header MAC is recomputed with that epoch's key. `coffer vault rewrap`
   * uses it to move Vault Transit stanzas to the latest key version with a batched transit/rewrap.
   */
  async rewriteSlotWraps(transform: (wraps: readonly { slot: SlotBody; epoch: string; stanzas: readonly Stanza[] }[]) => Promise<(Stanza[] | null)[]>): Promise<number> {
    return membership.rewriteSlotWraps(this.core, transform);
  }

  /**
   * Strict vaults: rewrites every sealed file key through `transform` (e.g. a batched transit/rewrap
   * after the Transit key rotated), records re-sealed under the current epoch. Returns records changed.
   */
  async rewriteSealedKeys(transform: (sealed: readonly string[]) => Promise<string[]>): Promise<number> {
    return rotation.rewriteSealedKeys(this.core, transform);
  }

  /** Creates a folder (and any missing parents). EXISTS if something is already there. */
  async mkdir(vpath: string): Promise<EntryInfo> {
    return entries.mkdir(this.core, vpath);
  }

  /**
   * Adds files and folders (recursively) under `to`. Content streams through encryptPayload into
   * one new blob per file, up to one file per core at a time. A file whose name exists is replaced
   * by a new version. Cancelling or failing leaves only complete, committed entries.
   */
  async add(sources: readonly string[], to = '', opts: OpProgress & { concurrency?: number } = {}): Promise<AddResult> {
    return add.add(this.core, sources, to, opts);
  }

  /**
   * Decrypts a file or a whole folder to `dest` (a new file or folder). Nothing partial is left on
   * failure. Every path written is confined under `dest` (confine.ts): entry names come from records a
   * co-member may have forged, so none may climb out of `dest` or write through a link found there.
   */
  async get(vpath: string, dest: string, opts: OpProgress & { overwrite?: boolean; platform?: NodeJS.Platform } = {}): Promise<{ files: number; bytes: number; renamed: { path: string; written: string; reason: ExportRenameReason }[] }> {
    return get.get(this.core, vpath, dest, opts);
  }

  /** Streams one file's plaintext to `out` (for the app's preview/drag-out). */
  async readFile(vpath: string, out: Writable, opts: OpProgress = {}): Promise<number> {
    return get.readFile(this.core, vpath, out, opts);
  }

  /**
   * Re-reads the vault only if its folders changed since the last call (other processes, the CLI, a
   * sync client: they all replace objects by rename, which changes the folder's stamp). Returns
   * whether it re-read. Cheap when nothing changed: five `stat`s.
   */
  async refresh(): Promise<boolean> {
    return open.refresh(this.core);
  }

  /**
   * Encrypts `source` into a staged blob (constant memory; not yet part of the vault). Commit it with
   * `commitStaged` or drop it with `discardStaged`. A failing or aborted source leaves nothing behind.
   */
  async stageStream(source: Readable, opts: { signal?: AbortSignal } = {}): Promise<StagedFile> {
    return add.stageStream(this.core, source, opts);
  }

  /** Drops a staged file that will not be committed. */
  async discardStaged(f: StagedFile): Promise<void> {
    return add.discardStaged(this.core, f);
  }

  /**
   * Commits a staged file as `vpath`: a new entry, or the next version of the file already there
   * (its dead properties are kept). The blob is durable before the record that names it.
   */
  async commitStaged(f: StagedFile, vpath: string, opts: { mtime?: number; expect?: { readonly id: string; readonly version: number } | null } = {}): Promise<EntryInfo> {
    return add.commitStaged(this.core, f, vpath, opts);
  }

  /** stageStream + commitStaged: `source` becomes `vpath` only once it ended completely. */
  async addStream(vpath: string, source: Readable, opts: { signal?: AbortSignal; mtime?: number } = {}): Promise<EntryInfo> {
    return add.addStream(this.core, vpath, source, opts);
  }

  /**
   * Streams plaintext bytes [start, end] (inclusive) of a file to `out`. The payload is sequential
   * (secretstream), so everything before `start` is decrypted and dropped; decryption stops after `end`.
   */
  async readRange(vpath: string, out: Writable, start: number, end: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
    return get.readRange(this.core, vpath, out, start, end, opts);
  }

  /** The dead properties of an entry (`{}` for none or the root). */
  props(vpath: string): Readonly<Record<string, string>> {
    return tree.props(this.core, vpath);
  }

  /** props() of a path exactly as list() or stat() gave it (no normalising: a listing's hot path). */
  propsAt(treePath: string): Readonly<Record<string, string>> {
    return tree.propsAt(this.core, treePath);
  }

  /**
   * Sets and removes dead properties of an entry, all or nothing, as a new version of its record.
   * USAGE when the result exceeds PROPS_LIMITS.
   */
  async setProps(vpath: string, set: Readonly<Record<string, string>>, remove: readonly string[] = []): Promise<EntryInfo> {
    return entries.setProps(this.core, vpath, set, remove);
  }

  /** Renames or moves. If `to` is an existing folder, the entry moves into it. */
  async mv(from: string, to: string): Promise<EntryInfo> {
    return entries.mv(this.core, from, to);
  }

  /**
   * Moves a file, or a folder with `recursive`, to the trash (versions.ts): `restoreFromTrash` brings it
   * back until retention collects it. `permanent` skips the trash: its content is released for collection.
   */
  async rm(vpath: string, opts: { recursive?: boolean; permanent?: boolean } = {}): Promise<{ files: number; folders: number; trashId: string }> {
    return entries.rm(this.core, vpath, opts);
  }

  /** @internal openVault's `clock` option. */
  useClock(clock: () => number): void {
    this.core.clock = clock;
  }

  /** How long previous versions and trash entries are kept: the current epoch's setting, or the defaults. */
  get retention(): Retention {
    return this.core.retention;
  }

  /** Changes the retention: a new epoch carries it (authenticated like every vault setting). */
  async setRetention(r: Retention): Promise<Retention> {
    return rotation.setRetention(this.core, r);
  }

  /** The versions of a file, current first (previous versions are kept by retention). */
  versions(vpath: string): VersionInfo[] {
    return this.versionStore.versions(vpath);
  }

  /** Makes an earlier version of a file current again (the one it replaces is kept as a previous version). */
  restoreVersion(vpath: string, version: number): Promise<EntryInfo> {
    return this.versionStore.restoreVersion(vpath, version);
  }

  /** Streams one version's plaintext to `out`. */
  readVersion(vpath: string, version: number, out: Writable, opts: { signal?: AbortSignal } = {}): Promise<number> {
    return this.versionStore.read(vpath, version, out, opts.signal);
  }

  /** Writes one version of a file to the new file `dest`. */
  getVersion(vpath: string, version: number, dest: string, opts: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<{ bytes: number }> {
    return this.versionStore.get(vpath, version, dest, opts);
  }

  /** What is in the trash, newest first. */
  trash(): TrashInfo[] {
    return this.versionStore.trash();
  }

  /** The trash id of the entry most recently deleted at `vpath`, or null. */
  trashIdFor(vpath: string): string | null {
    return this.versionStore.trashIdFor(vpath);
  }

  /** Puts a trash entry back where it was (as `NAME (restored)` if the name is taken). */
  restoreFromTrash(id: string): Promise<EntryInfo> {
    return this.versionStore.restoreFromTrash(id);
  }

  /** Empties the trash (or removes the entries given) and collects what the sync grace allows. */
  emptyTrash(ids?: readonly string[]): Promise<CollectResult & { emptied: number }> {
    return this.versionStore.emptyTrash(ids);
  }

  /** Applies retention to versions and trash, and deletes released content whose grace has passed. */
  collect(): Promise<CollectResult> {
    return this.versionStore.collect();
  }

  /**
   * Anchors the vault's freshness to its Vault Transit slot (`slotId`, or the only one): a new epoch
   * (rotating the Transit key, then raising min_decryption_version to the new version), and every later
   * rotation and revocation does the same. The Transit key must be dedicated to this vault: raising
   * min_decryption_version makes anything else it wrapped under older versions undecryptable.
   * Permanent: the anchor cannot be removed (a forged epoch could otherwise remove it).
   */
  async anchorTransit(slotId?: string): Promise<RotateResult & { anchor: TransitAnchor }> {
    return rotation.anchorTransit(this.core, slotId);
  }

  /**
   * Writes this vault's freshness anchor (the current epoch) to every hardware key given to unlock it;
   * later rotations and revocations made with the token present update it. Returns the tokens written.
   */
  async anchorHardware(): Promise<string[]> {
    return rotation.anchorHardware(this.core);
  }

  /** Migrates a format 1 vault to format 2 now; false if it already was format 2. */
  async migrate(): Promise<boolean> {
    return rotation.migrate(this.core);
  }

  /**
   * A new epoch: a new vault key wrapped for every member, the older keys chained; records and content
   * untouched (records under older epochs are reached through the chain), so the cost does not grow
   * with the number of entries. `records` in the result counts the records the new epoch carries over.
   */
  async rotate(opts: OpProgress = {}): Promise<RotateResult> {
    return rotation.rotate(this.core, opts);
  }

  /**
   * Writes a checkpoint now (FORMAT.md §6.18): every record into a few packs, replacing the packs and loose
   * records that piled up. Changes do this on their own when needed; `coffer vault compact` asks for it.
   */
  async compact(): Promise<{ packs: number; records: number; removed: number }> {
    return open.mutate(this.core, () => compactNow(this.core));
  }

  /** Members (key slots) and pending access requests. */
  async members(): Promise<{ slots: SlotInfo[]; requests: AccessRequest[] }> {
    return membership.members(this.core);
  }

  /**
   * Adds a member: `recipient` is a recipient string or the id of a pending access request.
   * No content is re-encrypted: the current VK is wrapped for them (older epochs are reachable through the chain).
   */
  async grant(recipient: string, opts: { label?: string } = {}): Promise<SlotInfo> {
    return membership.grant(this.core, recipient, opts);
  }

  /**
   * Removes a slot, then rotates (new epoch without it, listing the records it keeps). With `reencrypt`,
   * every file's content is also re-encrypted under a new file key, because the removed member may
   * have kept file keys of files they opened before; without it those old versions stay readable to them.
   */
  async revoke(slotId: string, opts: OpProgress & { reencrypt?: boolean } = {}): Promise<RotateResult> {
    return rotation.revoke(this.core, slotId, opts);
  }

  /**
   * Changes the passphrase of the passphrase slot that opened the vault (or `slotId`); if the vault
   * was opened another way and has no such slot, adds a passphrase slot. Content is not touched.
   */
  async passwd(newPassphrase: string, opts: { kdf?: Argon2Params; slotId?: string } = {}): Promise<SlotInfo> {
    return membership.passwd(this.core, newPassphrase, opts);
  }

  /**
   * One file out of the vault as a standalone coffer file for `recipients`: a new header wrapping the
   * file's K, followed by the blob's payload bytes copied unchanged (not re-encrypted).
   */
  async export(vpath: string, recipients: readonly Recipient[], out: string | Writable, opts: { overwrite?: boolean } = {}): Promise<{ bytes: number }> {
    return get.exportFile(this.core, vpath, recipients, out, opts);
  }

  /**
   * Authenticates every record and every blob (full decryption), and reports problems by path.
   * With `repair`, removes only leftovers proven unreferenced: temp files and intents of dead
   * processes on this host, blobs and key wraps that such an intent created and nothing references.
   */
  async verify(opts: OpProgress & { repair?: boolean } = {}): Promise<VerifyReport> {
    return verify.verify(this.core, opts);
  }
}
