/**
 * The state of one open vault, shared by the modules that work on it (open.ts, records.ts, tree.ts,
 * add.ts, get.ts, membership.ts, rotation.ts, verify.ts…), with the small helpers they all use: the
 * writer's current epoch key, file keys (strict vaults), problems, intents. `Vault` (vault.ts) owns one
 * and is the only public way in; nothing here is exported from index.ts.
 */
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { decodeB64 } from '../format/base64';
import { encodeHeader } from '../format/header';
import { X25519Identity } from '../keys/x25519';
import type { ProviderUI, Stanza } from '../keys/types';
import { fileKeyGuardFor, isSealedFileKey, type FileKeyGuard } from '../keys/transit/strict';
import { hardwareIdentities } from './anchor';
import type { EpochKeys, SignedObject } from './crypto';
import { Ancestry } from './history';
import { nowIso, wrapKeyName, type EpochBody, type VaultDescriptor } from './layout';
import type { ObjectName } from './names';
import { RecordIndex } from './record-index';
import type { RecordNode } from './records';
import { slotKind, type SlotBody, type SlotIdentities, type UnlockCredentials } from './slots';
import { updateMemory } from './state';
import { TMP_FOLDER, tempName, type VaultStorage } from './storage';
import type { EntryInfo, RecordBody, VaultProblem } from './types';
import { DEFAULT_RETENTION, parseRetention, type Retention, type VersionStore } from './versions';

export interface EpochObj {
  readonly id: string;
  readonly obj: SignedObject<EpochBody>;
}

export interface SlotObj {
  readonly file: string;
  readonly name: ObjectName;
  readonly obj: SignedObject<SlotBody>;
  verified: boolean;
}

/** The live entries as a tree (tree.ts builds it from the records; any record write drops it). */
export interface Tree {
  readonly byPath: Map<string, { node: RecordNode; info: EntryInfo }>;
  readonly infoByFile: Map<string, EntryInfo>;
  readonly children: Map<string, EntryInfo[]>;
}

export function fileKeyOf(body: RecordBody): Uint8Array {
  const k = body.key ? decodeB64(body.key) : null;
  if (!k || k.length !== 32) throw new CofferError('VAULT_TAMPERED', `record of ${body.name} holds no valid file key`);
  return k;
}

/** @internal The state of an open vault (see the module comment). */
export class VaultCore {
  readonly id: string;
  readonly name: string;
  locked = false;
  readonly keyring = new Map<string, EpochKeys>();
  epochs = new Map<string, EpochObj>();
  slots: SlotObj[] = [];
  head = '';
  /** Heads to join with the current epoch (concurrent rotations on shared verified history). */
  joinable: string[] = [];
  /** Epochs whose objects count: the current one, the joinable ones and their verified ancestors. */
  trusted = new Set<string>();
  /** Verified chain links (child → parents) among opened epochs; history.ts works on these only. */
  links = new Map<string, string[]>();
  ancestry = new Ancestry(new Map());
  /** Revocation epochs in force (ids); their manifests are in `index.manifests`. */
  revocations: string[] = [];
  /** `revocations` joined: what records were last checked against (records.ts). */
  revocationsKey = '';
  /** Names in keys/ at the last load: an epoch is tried for a slot only where a wrap exists. */
  wrapNames = new Set<string>();
  openWarnings: string[] = [];
  hadState = true;
  /** The descriptor or the current epoch still says format 1: the next change migrates (see migrateNow). */
  needsMigration = false;
  /** The records and revocation manifests (records.ts). */
  readonly index: RecordIndex;
  tree: Tree | null = null;
  loadProblems: VaultProblem[] = [];
  /** Per slot file and content: the identities it gave, or the error it failed with (derived once). */
  readonly slotIdentityCache = new Map<string, { ids?: SlotIdentities; error?: CofferError }>();
  readonly slotSecrets = new Map<string, Uint8Array>();
  readonly openedBy = new Set<string>();
  /** Epoch → the slot whose wrap opened it this session (a Transit anchor needs no second decrypt then). */
  readonly unlockedVia = new Map<string, string>();
  /** Epochs the hardware keys given record (their freshness anchors), required in every history chosen. */
  hwAnchors: { id: string; source: string; hash: string }[] = [];
  /** What confirmed this open's freshness (anchors), for people; empty if nothing did. */
  freshness: string[] = [];
  memEntries: Record<string, number> = {};
  firstLoad = true;
  /** Slots this session revoked. */
  readonly revokedHere = new Set<string>();
  /** Folder stamps at the last `refresh`. */
  refreshStamp: string | null = null;
  /** Strict mode: seals/opens file keys (batched); opened keys live in keyCache only during an operation. */
  readonly keyGuard: FileKeyGuard | undefined;
  readonly keyCache = new Map<string, Uint8Array>();
  clock: () => number = Date.now;
  /** Previous versions and the trash (entries.ts makes it on first use). */
  versionsCache: VersionStore<RecordNode> | null = null;

  constructor(
    readonly storage: VaultStorage,
    public desc: VaultDescriptor,
    public descBytes: Buffer,
    readonly stateDir: string,
    readonly ui: ProviderUI,
    public credentials: UnlockCredentials,
  ) {
    this.id = desc.id;
    this.name = desc.name;
    this.keyGuard = desc.strict ? fileKeyGuardFor(desc.strict) : undefined;
    this.index = new RecordIndex(storage, desc.id);
    // Hardware keys keep their PIN while the vault is unlocked, so the freshness anchor on the token
    // is read and written without asking again; forgotten on lock.
    for (const id of hardwareIdentities(credentials.identities)) id.holdPin();
  }

  get location(): string {
    return this.storage.location;
  }

  /** The vault format version of the folder (1 until its first change by this build). */
  get formatVersion(): number {
    return this.needsMigration ? 1 : this.desc.version;
  }

  /** Wipes every key held in memory; the vault is unusable afterwards. */
  wipe(): void {
    if (this.locked) return;
    this.locked = true;
    for (const k of this.keyring.values()) k.wipe();
    this.keyring.clear();
    for (const s of this.slotSecrets.values()) sodium().memzero(s);
    this.slotSecrets.clear();
    for (const { ids: c } of this.slotIdentityCache.values()) {
      if (!c) continue;
      for (const id of c.identities) if (id instanceof X25519Identity) id.destroy();
      if (c.secret) sodium().memzero(c.secret);
    }
    this.slotIdentityCache.clear();
    for (const k of this.keyCache.values()) sodium().memzero(k);
    this.keyCache.clear();
    this.index.clear();
    this.tree = null;
    for (const id of hardwareIdentities(this.credentials.identities)) id.forgetPin();
    this.credentials = {};
  }

  /** VAULT_LOCKED once `lock()` ran. */
  ensureOpen(): void {
    if (this.locked) throw new CofferError('VAULT_LOCKED', `vault ${this.name} is locked; unlock it again`);
  }

  /** K of a file record; in a strict vault the sealed key is opened by the key guard (or the batch cache). */
  async fileKey(body: RecordBody): Promise<Uint8Array> {
    if (!this.keyGuard || !body.key || !isSealedFileKey(body.key)) return fileKeyOf(body);
    const cached = this.keyCache.get(body.key);
    if (cached) return Uint8Array.from(cached);
    const [r] = await this.keyGuard.open([body.key]);
    if (!r) throw new CofferError('INTERNAL', 'key guard returned nothing');
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Strict vaults: opens the sealed keys of `bodies` in batches for the duration of `fn`, then wipes them. */
  async withFileKeys<T>(bodies: readonly RecordBody[], fn: () => Promise<T>, tolerant = false): Promise<T> {
    if (!this.keyGuard) return fn();
    const sealed = [...new Set(bodies.map((b) => b.key).filter((k): k is string => !!k && isSealedFileKey(k) && !this.keyCache.has(k)))];
    const res = await this.keyGuard.open(sealed);
    try {
      res.forEach((r, i) => {
        if (r.ok) this.keyCache.set(sealed[i] as string, r.value);
        else if (!tolerant) throw r.error; // tolerant (verify): that file's own open reports it
      });
      return await fn();
    } finally {
      for (const k of sealed) {
        const v = this.keyCache.get(k);
        if (v) sodium().memzero(v);
        this.keyCache.delete(k);
      }
    }
  }

  /** Strict vaults: fresh file keys with their sealed form, sealed 500 at a time (one request each). */
  sealedKeySource(total: number): () => Promise<{ k: Uint8Array; sealed: string }> {
    const guard = this.keyGuard as FileKeyGuard;
    const queue: { k: Uint8Array; sealed: string }[] = [];
    let refill: Promise<void> | null = null;
    let left = total;
    const fill = async (): Promise<void> => {
      const na = sodium();
      const n = Math.max(1, Math.min(500, left));
      const keys = Array.from({ length: n }, () => {
        const k = na.secureAlloc(32);
        k.set(na.randomBytes(32));
        return k;
      });
      let sealed: string[];
      try {
        sealed = await guard.seal(keys);
      } catch (e) {
        for (const k of keys) na.memzero(k);
        throw e;
      }
      left -= n;
      queue.push(...keys.map((k, i) => ({ k, sealed: sealed[i] as string })));
    };
    return async () => {
      for (;;) {
        const next = queue.shift();
        if (next) return next;
        refill ??= fill().finally(() => {
          refill = null;
        });
        await refill;
      }
    };
  }

  /** Strict vaults: replaces the plain file keys of `items` by sealed ones, in one batch. */
  async sealBodies<T extends { body: RecordBody }>(items: T[]): Promise<T[]> {
    if (!this.keyGuard) return items;
    const idx = items.flatMap((x, i) => (x.body.type === 'file' && x.body.key && !isSealedFileKey(x.body.key) ? [i] : []));
    const keys = idx.map((i) => fileKeyOf((items[i] as T).body));
    try {
      const sealed = await this.keyGuard.seal(keys);
      const out = [...items];
      idx.forEach((i, j) => {
        const it = items[i] as T;
        out[i] = { ...it, body: { ...it.body, key: sealed[j] as string } };
      });
      return out;
    } finally {
      for (const k of keys) sodium().memzero(k);
    }
  }

  /** init hands over the passphrase slot's secret so `passwd` works right after init. */
  rememberSlotSecret(slot: string, secret: Uint8Array): void {
    this.slotSecrets.set(slot, secret);
    this.openedBy.add(slot);
  }

  /** Records a problem found while loading (shown by `Vault.problems`, reported by verify). */
  problem(p: Omit<VaultProblem, 'repairable' | 'path'> & { path?: string | null; repairable?: boolean }): void {
    this.loadProblems.push({ path: null, repairable: false, ...p });
  }

  /** The body of an epoch known to be loaded. */
  bodyOf(id: string): EpochBody {
    return (this.epochs.get(id) as EpochObj).obj.body;
  }

  /** The keys of an opened epoch; INTERNAL if it is not open. */
  headKeysOf(epoch: string): EpochKeys {
    const k = this.keyring.get(epoch);
    if (!k) throw new CofferError('INTERNAL', `no key for epoch ${epoch}`);
    return k;
  }

  /** Whether any key at all was given to unlock with. */
  credentialsGiven(): boolean {
    const c = this.credentials;
    return (c.identities?.length ?? 0) > 0 || c.passphrase !== undefined || c.recoveryKey !== undefined;
  }

  /** The current epoch's keys: everything written is sealed or signed with these. */
  headKeys(): EpochKeys {
    return this.keyring.get(this.head) as EpochKeys;
  }

  /** Remembers entry versions in this computer's state (state.ts), so a replayed older record is refused. */
  async saveVersions(entries: Record<string, number>): Promise<void> {
    if (Object.keys(entries).length === 0) return;
    const saved = await updateMemory(this.stateDir, this.id, { entries });
    this.memEntries = saved.entries;
  }

  /** Wraps `vk` for a slot and writes keys/<S>.<E>.key; returns the stanzas. */
  async writeWrap(slot: SlotBody, epoch: string, vk: Uint8Array): Promise<Stanza[]> {
    const stanzas = await slotKind(slot.type).recipient(slot).wrap(vk);
    await this.storage.put(wrapKeyName(slot.slot, epoch), encodeHeader(stanzas, vk));
    return stanzas;
  }

  /** Writes an intent naming the objects an operation is about to create (verify --repair proves leftovers by it). */
  async writeIntent(op: string, objects: string[]): Promise<string> {
    const key = `${TMP_FOLDER}/${tempName().replace(/\.tmp$/, '.intent')}`;
    await this.storage.put(key, JSON.stringify({ v: 1, op, created: nowIso(), objects }));
    return key;
  }

  /** The clock for version and trash times (openVault's `clock` option). */
  now(): number {
    return this.clock();
  }

  /** How long previous versions and trash entries are kept: the current epoch's setting, or the defaults. */
  get retention(): Retention {
    this.ensureOpen();
    return parseRetention(this.bodyOf(this.head).retention) ?? DEFAULT_RETENTION;
  }
}
