/**
 * A vault: a folder of small objects that sync clients can copy independently (docs/FORMAT.md,
 * "Vault layout"). This module opens, unlocks and changes one.
 *
 *   coffer-vault.json        descriptor (plaintext: format, id, name, created)
 *   epochs/<E>.epoch         one per epoch, signed with VK_E; holds older epochs' keys (chain)
 *   slots/<S>.slot           one per key slot, signed with the key of the epoch named inside
 *   keys/<S>.<E>.key         VK_E wrapped for slot S (a coffer header whose MAC proves VK_E)
 *   records/<id>.rec         one encrypted record per file or folder
 *   blobs/<id>.blob          one immutable encrypted payload per file version
 *   requests/<R>.req         access requests (unauthenticated; approved by `grant`)
 *   tmp/                     temp files, intents, the writer lock (need not be synced)
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CofferError, isCofferError } from '../errors';
import { initSodium, sodium } from '../crypto/sodium';
import { decodeB64, encodeB64 } from '../format/base64';
import { encodeHeader, parseHeader, verifyHeaderMac } from '../format/header';
import { sealFileHandle, unwrapKey, wrapKey } from '../format/file';
import { decryptPayload, encryptPayload, openPayloadBuffer, PayloadSealer } from '../format/stream';
import { parseRecipient } from '../keys/recipients';
import { X25519Identity } from '../keys/x25519';
import type { Argon2Params } from '../keys/passphrase';
import { nonInteractiveUI, type ProviderUI, type Recipient, type Stanza } from '../keys/types';
import { defaultConcurrency, runConcurrent, runPool, throwIfAborted } from '../jobs/pool';
import { ProgressTracker, type ProgressListener } from '../jobs/progress';
import {
  EpochKeys, VAULT_KEY_BYTES, openChain, openRecord, parseSignedObject, recordEpoch, sealChain, sealRecord,
  signObject, verifyObject, type SignedObject,
} from './crypto';
import {
  EPOCH_ID_RE, EPOCH_PAT, HEX12, HEX32, SLOT_ID_RE, epochNumber, newEpochId, newId, newSlotId,
  parseObjectName, type ObjectName, exportNames, folderNameFor, normalizeName, type ExportRenameReason,
} from './names';
import { generateRecoveryKey, recoverySecretKey } from './recovery';
import {
  newPassphraseSlotKeys, slotKind, slotTypeForRecipient, wrapSlotSecret, type SlotBody, type SlotIdentities,
  type UnlockCredentials,
} from './slots';
import { readMemory, updateMemory } from './state';
import { Ancestry, chooseHistory } from './history';
import {
  anchorClient, checkTransitAnchor, epochFileHash, hardwareIdentities, keyRefOf, readHardwareAnchor, transitStanzaFor,
  validEpochAnchor, writeHardwareAnchor, type TransitAnchor,
} from './anchor';
import { parseTransitRecipientString } from '../keys/transit/slot';
import { fileKeyGuardFor, isSealedFileKey, type FileKeyGuard } from '../keys/transit/strict';
import './transit-slot';
import {
  FsStorage, TMP_FOLDER, errnoOf, ownTempKind, ownerOf, pidAlive, tempName, thisHost, type StagedObject, type VaultStorage,
} from './storage';
import { nameProblem, validateRecordBody } from './validate';
import {
  DEFAULT_RETENTION, VersionStore, checkRetention, isLive, liveBlobs, namedBlobs, parseRetention, withPrevious,
  type CollectResult, type Retention, type TrashInfo, type VersionInfo, type VersionPort,
} from './versions';
import { confinedPath, partialPath, sweepPartials } from './confine';
import { payloadSize } from '../format/sizes';
import {
  validProps, type AccessRequest, type AddResult, type EntryInfo, type RecordBody, type RotateResult, type SlotInfo,
  type VaultProblem, type VerifyReport,
} from './types';
import {
  BLOBS, DESCRIPTOR_KEY, EPOCHS, KEYS, RECORDS, REQUESTS, SLOTS, VAULT_FORMAT, VAULT_LIMITS, VAULT_VERSION, blobKey, checkName,
  conflictName, descriptorBytes, epochKey, manifestKey, nowIso, readDescriptor, recordKey, sha256hex, slotKey, splitVaultPath,
  wrapKeyName, type EpochBody, type VaultDescriptor,
} from './layout';

export {
  DESCRIPTOR_KEY, VAULT_FORMAT, VAULT_LIMITS, VAULT_VERSION, readVaultInfo, splitVaultPath, type EpochBody, type VaultDescriptor,
} from './layout';


interface EpochObj {
  readonly id: string;
  readonly obj: SignedObject<EpochBody>;
}

interface SlotObj {
  readonly file: string;
  readonly name: ObjectName;
  readonly obj: SignedObject<SlotBody>;
  verified: boolean;
}

interface Node {
  /** Record object name (unique per node). */
  readonly file: string;
  readonly tag: string;
  readonly body: RecordBody;
  readonly conflict: ObjectName['conflict'];
}

interface Tree {
  readonly byPath: Map<string, { node: Node; info: EntryInfo }>;
  readonly infoByFile: Map<string, EntryInfo>;
  readonly children: Map<string, EntryInfo[]>;
}

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

export interface InitOptions {
  readonly name?: string;
  /** Adds a passphrase slot. */
  readonly passphrase?: string;
  /** Argon2id cost for the passphrase slot (default: DEFAULT_ARGON2). Tests pass small values. */
  readonly kdf?: Argon2Params;
  /** Member recipients (`coffer1…`, or any registered provider's recipient string). */
  readonly recipients?: readonly { readonly recipient: string; readonly label?: string }[];
  readonly stateDir: string;
  readonly storage?: VaultStorage;
  /** Strict mode: key guard id that also seals every file key, e.g. "vault-transit:transit/kek". */
  readonly strict?: string;
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

/** `get` opens files up to this size in memory (payload well under the storage's 1 MiB cap for small objects). */
const SMALL_GET = 256 * 1024;

const MANIFEST_MAGIC = 'coffer-vault-manifest/v2';

/**
 * `epochs/<E>.manifest` of a revocation epoch E: the record files current when E was made, as the
 * SHA-256 of their exact bytes. Line 1 `coffer-vault-manifest/v2 E COUNT`, then COUNT lines of
 * lower-case hex, sorted, no duplicates. E's body holds the SHA-256 of these bytes (under E's MAC).
 */
export function manifestText(epoch: string, hashes: Iterable<string>): string {
  const list = [...new Set(hashes)].sort();
  return `${MANIFEST_MAGIC} ${epoch} ${list.length}\n${list.map((h) => `${h}\n`).join('')}`;
}

function parseManifest(text: string, epoch: string): Set<string> | null {
  const lines = text.split('\n');
  const head = /^coffer-vault-manifest\/v2 ([0-9]{8}-[0-9a-f]{8}) (0|[1-9][0-9]{0,8})$/.exec(lines[0] ?? '');
  if (!head || head[1] !== epoch || lines[lines.length - 1] !== '') return null;
  const list = lines.slice(1, -1);
  if (list.length !== Number(head[2])) return null;
  for (let i = 0; i < list.length; i++) {
    if (!/^[0-9a-f]{64}$/.test(list[i] as string) || (i > 0 && (list[i - 1] as string) >= (list[i] as string))) return null;
  }
  return new Set(list);
}

/** Files up to this size are I/O-bound to add; more of them are kept in flight than there are cores. */
const SMALL_FILE = 256 * 1024;


function fileKeyOf(body: RecordBody): Uint8Array {
  const k = body.key ? decodeB64(body.key) : null;
  if (!k || k.length !== 32) throw new CofferError('VAULT_TAMPERED', `record of ${body.name} holds no valid file key`);
  return k;
}

/** Writes to `out`, waiting for it to drain; rejects if it closes or fails first. */
function writeOrClose(out: Writable, data: Uint8Array): Promise<void> {
  if (out.destroyed) return Promise.reject(new CofferError('CANCELLED', 'the reader went away'));
  if (out.write(data)) return Promise.resolve();
  return new Promise((res, rej) => {
    const done = (e?: Error): void => {
      out.removeListener('drain', ok);
      out.removeListener('close', closed);
      out.removeListener('error', done);
      if (e) rej(e);
      else res();
    };
    const ok = (): void => done();
    const closed = (): void => done(new CofferError('CANCELLED', 'the reader went away'));
    out.once('drain', ok);
    out.once('close', closed);
    out.once('error', done);
  });
}


/** C0, DEL and C1 controls, the line and paragraph separators, and the bidi overrides and isolates. */
const REQUEST_NAME_FORBIDDEN = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** Drops an access request into the vault folder; no key needed. `members` lists it, `grant` approves it. */
export async function requestAccess(dir: string, recipient: string, name: string, storage: VaultStorage = new FsStorage(dir)): Promise<AccessRequest> {
  await initSodium();
  await readDescriptor(storage);
  const r = parseRecipient(recipient);
  const clean = name.trim();
  if (clean === '' || clean.length > 200) throw new CofferError('USAGE', 'give your name (1–200 characters) with --name');
  // Shown to members in `members` and the app: no line breaks, escape sequences or direction overrides.
  if (REQUEST_NAME_FORBIDDEN.test(clean)) {
    throw new CofferError('USAGE', 'your name may not hold control characters (line breaks, tabs, terminal escape sequences) or text-direction overrides; give it as plain text');
  }
  const req: AccessRequest = { id: newSlotId(), name: clean, recipient: recipient.trim(), fingerprint: r.fingerprint ?? '', created: nowIso() };
  await storage.put(`${REQUESTS}/${req.id}.req`, `${JSON.stringify({ v: 1, ...req })}\n`);
  return req;
}

/** Creates a vault in `dir` (absent or empty). The recovery key is returned once and stored nowhere. */
export async function initVault(dir: string, opts: InitOptions): Promise<{ vault: Vault; recoveryKey: string }> {
  await initSodium();
  const na = sodium();
  const storage = opts.storage ?? new FsStorage(dir);
  if (storage instanceof FsStorage) {
    const existing = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [] as string[];
      throw e;
    });
    if (existing.length > 0) throw new CofferError('EXISTS', `${dir} is not empty; a vault needs an empty or new folder`);
    await mkdir(dir, { recursive: true });
  }
  if (!opts.passphrase && (opts.recipients ?? []).length === 0) {
    throw new CofferError('USAGE', 'a vault needs a passphrase (-p) or at least one member recipient (-r)');
  }
  const members = (opts.recipients ?? []).map((m) => ({ r: parseRecipient(m.recipient), text: m.recipient.trim(), label: m.label }));
  const strict = opts.strict ? fileKeyGuardFor(opts.strict).id : undefined;
  const desc: VaultDescriptor = { format: VAULT_FORMAT, version: VAULT_VERSION, id: newId(), name: (opts.name ?? path.basename(path.resolve(dir))).trim() || 'vault', created: nowIso(), ...(strict ? { strict } : {}) };
  const descBytes = Buffer.from(`${JSON.stringify(desc, null, 2)}\n`, 'utf8');
  const eid = newEpochId(1);
  const vk = na.secureAlloc(VAULT_KEY_BYTES);
  vk.set(na.randomBytes(VAULT_KEY_BYTES));
  const keys = new EpochKeys(eid, vk, desc.id);
  const created = nowIso();
  const slots: SlotBody[] = [];
  const rec = generateRecoveryKey();
  const rsk = recoverySecretKey(rec.key);
  na.memzero(rec.key);
  const rid = new X25519Identity(rsk);
  na.memzero(rsk);
  const rRecipient = rid.recipient();
  rid.destroy();
  slots.push({ v: 1, vault: desc.id, slot: newSlotId(), type: 'recovery', label: 'recovery key', fingerprint: rRecipient.fingerprint, created, epoch: eid, recipient: rRecipient.toString() });
  let passSecret: { slot: string; key: Uint8Array } | null = null;
  if (opts.passphrase) {
    const p = newPassphraseSlotKeys(opts.passphrase, opts.kdf);
    const sid = newSlotId();
    slots.push({ v: 1, vault: desc.id, slot: sid, type: 'passphrase', label: 'passphrase', fingerprint: p.recipient.fingerprint, created, epoch: eid, recipient: p.recipient.toString(), secret: p.secret });
    passSecret = { slot: sid, key: p.secretKey };
  }
  for (const m of members) {
    slots.push({ v: 1, vault: desc.id, slot: newSlotId(), type: slotTypeForRecipient(m.r), label: m.label ?? `member ${m.r.fingerprint ?? ''}`.trim(), fingerprint: m.r.fingerprint ?? '', created, epoch: eid, recipient: m.text });
  }
  for (const s of slots) {
    const stanzas = await slotKind(s.type).recipient(s).wrap(vk);
    await storage.put(wrapKeyName(s.slot, eid), encodeHeader(stanzas, vk));
    await storage.put(slotKey(s.slot), signObject('slot', s, keys.mac));
  }
  const body: EpochBody = {
    v: 2, vault: desc.id, epoch: eid, n: 1, parents: [], created, descriptor: sha256hex(descBytes), chain: {},
    members: slots.map((s) => s.slot), revoked: [], revokedFingerprints: [],
    memberKeys: Object.fromEntries(slots.map((s) => [s.slot, sha256hex(Buffer.from(s.recipient, 'utf8'))])),
  };
  await storage.put(epochKey(eid), signObject('epoch', body, keys.mac));
  // The descriptor goes last: until it exists, the folder is not a vault.
  await storage.put(DESCRIPTOR_KEY, descBytes);
  await updateMemory(opts.stateDir, desc.id, { epochN: 1, epochId: eid });
  keys.wipe();
  const vault = await openVault(dir, {
    storage, stateDir: opts.stateDir,
    credentials: { recoveryKey: rec.text },
  });
  if (passSecret) {
    vault.rememberSlotSecret(passSecret.slot, passSecret.key);
  }
  return { vault, recoveryKey: rec.text };
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
  private locked = false;
  private readonly keyring = new Map<string, EpochKeys>();
  private epochs = new Map<string, EpochObj>();
  private slots: SlotObj[] = [];
  private head = '';
  /** Heads to join with the current epoch (concurrent rotations on shared verified history). */
  private joinable: string[] = [];
  /** Epochs whose objects count: the current one, the joinable ones and their verified ancestors. */
  private trusted = new Set<string>();
  /** Verified chain links (child → parents) among opened epochs; history.ts works on these only. */
  private links = new Map<string, string[]>();
  private ancestry = new Ancestry(new Map());
  /** Revocation epochs in force (ids), with the record hashes each one's manifest lists. */
  private revocations: string[] = [];
  private readonly manifests = new Map<string, Set<string> | null>();
  /** Names in keys/ at the last load: an epoch is tried for a slot only where a wrap exists. */
  private wrapNames = new Set<string>();
  private openWarnings: string[] = [];
  private hadState = true;
  /** The descriptor or the current epoch still says format 1: the next change migrates (see migrate). */
  private needsMigration = false;
  private readonly records = new Map<string, Node>();
  private tree: Tree | null = null;
  private loadProblems: VaultProblem[] = [];
  /** Per slot file and content: the identities it gave, or the error it failed with (derived once). */
  private readonly slotIdentityCache = new Map<string, { ids?: SlotIdentities; error?: CofferError }>();
  private readonly slotSecrets = new Map<string, Uint8Array>();
  private readonly openedBy = new Set<string>();
  /** Epoch → the slot whose wrap opened it this session (a Transit anchor needs no second decrypt then). */
  private readonly unlockedVia = new Map<string, string>();
  /** Epochs the hardware keys given record (their freshness anchors), required in every history chosen. */
  private hwAnchors: { id: string; source: string; hash: string }[] = [];
  private memEntries: Record<string, number> = {};
  /** Strict mode: seals/opens file keys (batched); opened keys live in keyCache only during an operation. */
  private readonly keyGuard: FileKeyGuard | undefined;
  private readonly keyCache = new Map<string, Uint8Array>();

  constructor(
    readonly storage: VaultStorage,
    private desc: VaultDescriptor,
    private descBytes: Buffer,
    private readonly stateDir: string,
    private readonly ui: ProviderUI,
    private credentials: UnlockCredentials,
  ) {
    this.id = desc.id;
    this.name = desc.name;
    this.keyGuard = desc.strict ? fileKeyGuardFor(desc.strict) : undefined;
    // Hardware keys keep their PIN while the vault is unlocked, so the freshness anchor on the token
    // is read and written without asking again; forgotten on lock.
    for (const id of hardwareIdentities(credentials.identities)) id.holdPin();
  }

  /** The strict-mode key guard id, if this vault is strict. */
  get strict(): string | undefined {
    return this.desc.strict;
  }

  get location(): string {
    return this.storage.location;
  }

  /** The current (newest) epoch id. */
  get epoch(): string {
    return this.head;
  }

  /** Problems found while loading (bad records, unknown epochs, conflicts); `verify` reports more. */
  get problems(): readonly VaultProblem[] {
    return this.loadProblems;
  }

  /**
   * Things the person opening the vault must be told, beyond problems with objects: above all, on the
   * first open on a computer (no state), that a rollback to an older copy cannot be ruled out.
   */
  get warnings(): readonly string[] {
    return this.openWarnings;
  }

  /** The vault format version of the folder (1 until its first change by this build). */
  get formatVersion(): number {
    return this.needsMigration ? 1 : this.desc.version;
  }

  private ensureOpen(): void {
    if (this.locked) throw new CofferError('VAULT_LOCKED', `vault ${this.name} is locked; unlock it again`);
  }

  /** Wipes every key held in memory; the object is unusable afterwards. */
  lock(): void {
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
    this.records.clear();
    this.tree = null;
    for (const id of hardwareIdentities(this.credentials.identities)) id.forgetPin();
    this.credentials = {};
  }

  /** K of a file record; in a strict vault the sealed key is opened by the key guard (or the batch cache). */
  private async fileKey(body: RecordBody): Promise<Uint8Array> {
    if (!this.keyGuard || !body.key || !isSealedFileKey(body.key)) return fileKeyOf(body);
    const cached = this.keyCache.get(body.key);
    if (cached) return Uint8Array.from(cached);
    const [r] = await this.keyGuard.open([body.key]);
    if (!r) throw new CofferError('INTERNAL', 'key guard returned nothing');
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Strict vaults: opens the sealed keys of `bodies` in batches for the duration of `fn`, then wipes them. */
  private async withFileKeys<T>(bodies: readonly RecordBody[], fn: () => Promise<T>, tolerant = false): Promise<T> {
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
  private sealedKeySource(total: number): () => Promise<{ k: Uint8Array; sealed: string }> {
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
  private async sealBodies<T extends { body: RecordBody }>(items: T[]): Promise<T[]> {
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

  /** @internal init hands over the passphrase slot's secret so `passwd` works right after init. */
  rememberSlotSecret(slot: string, secret: Uint8Array): void {
    this.slotSecrets.set(slot, secret);
    this.openedBy.add(slot);
  }

  /* ------------------------------------------------------------------ loading */

  private problem(p: Omit<VaultProblem, 'repairable' | 'path'> & { path?: string | null; repairable?: boolean }): void {
    this.loadProblems.push({ path: null, repairable: false, ...p });
  }

  private async loadEpochs(): Promise<void> {
    const out = new Map<string, EpochObj>();
    const listing = await this.storage.list(EPOCHS);
    const count = listing.filter((o) => o.name.endsWith('.epoch')).length;
    if (count > VAULT_LIMITS.epochFiles) {
      throw new CofferError('VAULT_INVALID', `${this.location}/${EPOCHS} holds ${count} epoch files, more than any vault makes (at most ${VAULT_LIMITS.epochFiles}): the folder was flooded; restore it from a good copy`);
    }
    for (const o of listing) {
      if (parseObjectName(o.name, '.manifest', EPOCH_PAT)?.conflict === null) continue; // read with its revocation
      const n = parseObjectName(o.name, '.epoch', EPOCH_PAT);
      if (!n) {
        this.problem({ severity: 'warning', code: 'UNKNOWN_FILE', object: `${EPOCHS}/${o.name}`, message: 'not an epoch file' });
        continue;
      }
      if (n.conflict) continue; // epochs are written once; a conflict copy adds nothing
      try {
        const raw = await this.storage.get(`${EPOCHS}/${o.name}`);
        const obj = parseSignedObject<EpochBody>((raw ?? Buffer.alloc(0)).toString('utf8'), `epoch ${n.id}`);
        const b = obj.body;
        const strings = (a: unknown): boolean => Array.isArray(a) && a.every((x) => typeof x === 'string');
        if ((b.v !== 1 && b.v !== 2) || b.vault !== this.id || b.epoch !== n.id || b.n !== epochNumber(n.id) || !Array.isArray(b.parents)
          || b.parents.some((p) => typeof p !== 'string' || !EPOCH_ID_RE.test(p) || epochNumber(p) >= b.n)
          || typeof b.chain !== 'object' || b.chain === null || Array.isArray(b.chain) || Object.values(b.chain).some((x) => typeof x !== 'string')
          || !strings(b.members) || !strings(b.revoked) || !strings(b.revokedFingerprints)
          || (b.memberKeys !== undefined && (typeof b.memberKeys !== 'object' || b.memberKeys === null || Array.isArray(b.memberKeys)))
          || (b.manifest !== undefined && (typeof b.manifest !== 'string' || !/^[0-9a-f]{64}$/.test(b.manifest)))
          || !validEpochAnchor(b.anchor)) {
          throw new CofferError('VAULT_TAMPERED', `epoch ${n.id} does not belong to this vault or is malformed`);
        }
        out.set(n.id, { id: n.id, obj });
      } catch (e) {
        this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: `${EPOCHS}/${o.name}`, message: (e as Error).message });
      }
    }
    this.epochs = out;
  }

  private async loadSlots(): Promise<void> {
    const out: SlotObj[] = [];
    const listing = await this.storage.list(SLOTS);
    if (listing.length > VAULT_LIMITS.slotFiles) {
      throw new CofferError('VAULT_INVALID', `${this.location}/${SLOTS} holds ${listing.length} files, more than any vault makes (at most ${VAULT_LIMITS.slotFiles}): the folder was flooded; restore it from a good copy`);
    }
    for (const o of listing) {
      const n = parseObjectName(o.name, '.slot', HEX12);
      const object = `${SLOTS}/${o.name}`;
      if (!n) {
        this.problem({ severity: 'warning', code: 'UNKNOWN_FILE', object, message: 'not a slot file' });
        continue;
      }
      try {
        const raw = await this.storage.get(object);
        const obj = parseSignedObject<SlotBody>((raw ?? Buffer.alloc(0)).toString('utf8'), `slot ${n.id}`);
        out.push({ file: o.name, name: n, obj, verified: false });
      } catch (e) {
        this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object, message: (e as Error).message });
      }
    }
    // Originals first, then conflict copies, each in name order: deterministic.
    out.sort((a, b) => Number(a.name.conflict !== null) - Number(b.name.conflict !== null) || a.file.localeCompare(b.file));
    this.slots = out;
  }

  /**
   * The identities a slot yields for the credentials given, derived at most once per slot content
   * for the life of this object (a failure too: a planted passphrase slot costs one Argon2id, never
   * one per epoch or per change).
   */
  private async identitiesFor(slot: SlotObj, errors: CofferError[]): Promise<SlotIdentities | null> {
    const key = `${slot.file}\0${slot.obj.text}`;
    let hit = this.slotIdentityCache.get(key);
    if (!hit) {
      try {
        hit = { ids: await slotKind(slot.obj.body.type).identities(slot.obj.body, this.credentials, this.ui) };
      } catch (e) {
        if (!isCofferError(e)) throw e;
        hit = { error: e };
      }
      this.slotIdentityCache.set(key, hit);
    }
    if (hit.error) {
      if (!errors.includes(hit.error)) errors.push(hit.error);
      return null;
    }
    return hit.ids ?? null;
  }

  private addKeys(keys: EpochKeys): void {
    const old = this.keyring.get(keys.epochId);
    if (old) {
      keys.wipe();
      return;
    }
    this.keyring.set(keys.epochId, keys);
  }

  /** Tries the slots that have a wrap of `epoch`; returns true when VK_epoch is in the keyring. */
  private async unlockEpoch(epoch: string, errors: CofferError[]): Promise<boolean> {
    if (this.keyring.has(epoch)) return true;
    const eobj = this.epochs.get(epoch);
    if (!eobj) return false;
    const na = sodium();
    // Every slot is tried with the keys that need no person first (member keys, recovery key,
    // passphrase); only then are tokens asked for a PIN, so a hardware key is never prompted when
    // another key given already opens the vault (slots are in random id order). A slot is derived
    // only where a wrap of this epoch exists for it.
    for (const interactive of [false, true]) {
      for (const slot of this.slots) {
        const b = slot.obj.body;
        if (b.slot !== slot.name.id || !this.wrapNames.has(`${b.slot}.${epoch}.key`)) continue;
        const ids = await this.identitiesFor(slot, errors);
        if (!ids) continue;
        const use = ids.identities.filter((id) => id.interactive === interactive);
        if (use.length === 0) continue;
        let wrap: Buffer | null;
        try {
          wrap = await this.storage.get(wrapKeyName(b.slot, epoch));
        } catch (e) {
          if (!isCofferError(e)) throw e;
          this.problem({ severity: 'error', code: e.code, object: wrapKeyName(b.slot, epoch), message: e.message });
          errors.push(e);
          continue;
        }
        if (!wrap) continue;
        let vk: Uint8Array;
        try {
          const header = parseHeader(wrap);
          vk = await unwrapKey(header.stanzas, use, this.ui, (k) => verifyHeaderMac(header, k));
        } catch (e) {
          if (isCofferError(e) && e.code !== 'NO_IDENTITY' && e.code !== 'HEADER_MAC') errors.push(e);
          continue;
        }
        const secure = na.secureAlloc(VAULT_KEY_BYTES);
        secure.set(vk);
        na.memzero(vk);
        const keys = new EpochKeys(epoch, secure, this.id);
        if (!verifyObject('epoch', eobj.obj, keys.mac)) {
          // A wrap planted with a key of someone's own making: report it, and keep trying the others.
          keys.wipe();
          this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: epochKey(epoch), message: `epoch ${epoch} failed authentication with the key in ${wrapKeyName(b.slot, epoch)} (altered or forged)` });
          continue;
        }
        this.addKeys(keys);
        this.openedBy.add(b.slot);
        this.unlockedVia.set(epoch, b.slot);
        if (ids.secret && b.type === 'passphrase' && !this.slotSecrets.has(b.slot)) {
          const s = na.secureAlloc(32);
          s.set(ids.secret);
          this.slotSecrets.set(b.slot, s);
        }
        return true;
      }
    }
    return false;
  }

  /**
   * Opens the epochs these keys reach: newest first, each epoch not already reached through a verified
   * chain is tried where a wrap of it exists (at most VAULT_LIMITS.epochTries per open), then every
   * opened epoch's chain is followed. Fills the keyring and the verified links.
   */
  private async openEpochs(errors: CofferError[]): Promise<void> {
    // Keys kept from an earlier load must still match the epoch files as they are now.
    for (const [id, keys] of [...this.keyring]) {
      const e = this.epochs.get(id);
      if (e && verifyObject('epoch', e.obj, keys.mac)) continue;
      keys.wipe();
      this.keyring.delete(id);
      if (e) this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: epochKey(id), message: `epoch ${id} failed authentication (altered or forged)` });
    }
    this.wrapNames = new Set((await this.storage.list(KEYS)).map((o) => o.name));
    this.links = new Map();
    const linked = new Set<string>();
    const order = [...this.epochs.values()].sort((a, b) => b.obj.body.n - a.obj.body.n || (a.id < b.id ? 1 : -1));
    const slotIds = [...new Set(this.slots.map((s) => s.name.id))];
    let tried = 0;
    let untried = 0;
    for (const e of order) {
      if (this.keyring.has(e.id)) {
        this.expandChains([e.id], linked);
        continue;
      }
      if (!slotIds.some((sid) => this.wrapNames.has(`${sid}.${e.id}.key`))) continue;
      if (tried >= VAULT_LIMITS.epochTries) {
        untried++;
        continue;
      }
      tried++;
      if (await this.unlockEpoch(e.id, errors)) this.expandChains([e.id], linked);
    }
    if (untried > 0) {
      this.problem({ severity: 'warning', code: 'VAULT_INVALID', object: EPOCHS, message: `${untried} more epochs with key wraps were not tried (at most ${VAULT_LIMITS.epochTries} per open): the folder may have been flooded with epoch files` });
    }
  }

  /** Follows `chain` from the given epochs: opens older epochs and records each verified link once. */
  private expandChains(start: string[], linked: Set<string>): void {
    const queue = [...start];
    while (queue.length > 0) {
      const eid = queue.shift() as string;
      if (linked.has(eid)) continue;
      linked.add(eid);
      const keys = this.keyring.get(eid);
      const e = this.epochs.get(eid);
      if (!keys || !e) continue;
      const parents: string[] = [];
      for (const [pid, sealed] of Object.entries(e.obj.body.chain)) {
        if (!e.obj.body.parents.includes(pid)) continue;
        const pe = this.epochs.get(pid);
        if (!pe) {
          this.problem({ severity: 'warning', code: 'VAULT_INVALID', object: epochKey(pid), message: `epoch ${pid} is missing (referenced by ${eid})` });
          continue;
        }
        try {
          const vk = openChain(keys, pid, sealed);
          const pk = new EpochKeys(pid, vk, this.id);
          if (!verifyObject('epoch', pe.obj, pk.mac)) {
            pk.wipe();
            throw new CofferError('VAULT_TAMPERED', `epoch ${pid} failed authentication (altered or forged)`);
          }
          const have = this.keyring.get(pid);
          if (have && !timingSafeEqual(have.vk, pk.vk)) {
            pk.wipe();
            throw new CofferError('VAULT_TAMPERED', `epoch ${eid} holds a different key for epoch ${pid}`);
          }
          this.addKeys(pk);
          parents.push(pid);
          queue.push(pid);
        } catch (e2) {
          this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: epochKey(pid), message: (e2 as Error).message });
        }
      }
      this.links.set(eid, parents);
    }
  }

  private bodyOf(id: string): EpochBody {
    return (this.epochs.get(id) as EpochObj).obj.body;
  }

  private verifySlots(): void {
    for (const s of this.slots) {
      const b = s.obj.body;
      const epoch = typeof b.epoch === 'string' ? b.epoch : '';
      const keys = this.trusted.has(epoch) ? this.keyring.get(epoch) : undefined;
      s.verified = !!keys && b.v === 1 && b.vault === this.id && b.slot === s.name.id && SLOT_ID_RE.test(b.slot) && verifyObject('slot', s.obj, keys.mac);
      if (s.verified) continue;
      if (!keys && this.keyring.has(epoch)) {
        this.problem({ severity: 'warning', code: 'FORK', object: `${SLOTS}/${s.file}`, message: `slot ${s.name.id} is signed under epoch ${epoch}, which is not part of this vault's history (a fork): it is not a member and gets no keys` });
      } else if (!keys && this.epochs.has(epoch)) {
        this.problem({ severity: 'warning', code: 'VAULT_INVALID', object: `${SLOTS}/${s.file}`, message: `slot ${s.name.id} is signed under epoch ${epoch}, which these keys cannot open` });
      } else {
        this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: `${SLOTS}/${s.file}`, message: `slot ${s.name.id} failed authentication (altered, forged or from another vault)` });
      }
    }
  }

  /** One verified slot object per slot id, with its membership status; revoked slots left out. */
  private memberSlots(): { slot: SlotObj; status: 'active' | 'unconfirmed' }[] {
    const out = new Map<string, { slot: SlotObj; status: 'active' | 'unconfirmed' }>();
    const revs = this.revocations.map((id) => this.bodyOf(id));
    const anc = this.ancestry;
    // A revocation applies to slots signed under epochs that do not descend from it (verified links);
    // a key granted again afterwards (signed under a descendant) is a deliberate new member.
    const revokedBy = (b: SlotBody): boolean => revs.some((r) => (r.revoked.includes(b.slot) || (b.fingerprint !== '' && r.revokedFingerprints.includes(b.fingerprint)))
      && !anc.descends(b.epoch, r.epoch));
    // A slot signed under an epoch that does not descend from a revocation counts only if that
    // revocation kept it (by id and, from format 2, by the hash of its recipient): otherwise it was
    // made concurrently with the revocation, or forged by someone holding an older key.
    const keptBy = (b: SlotBody, r: EpochBody): boolean => r.members.includes(b.slot)
      && (r.memberKeys === undefined || (Object.hasOwn(r.memberKeys, b.slot) && r.memberKeys[b.slot] === sha256hex(Buffer.from(String(b.recipient), 'utf8'))));
    for (const s of this.slots) {
      if (!s.verified) continue;
      const b = s.obj.body;
      if (out.has(b.slot) || revokedBy(b)) continue;
      const unconfirmed = revs.some((r) => !anc.descends(b.epoch, r.epoch) && !keptBy(b, r));
      out.set(b.slot, { slot: s, status: unconfirmed ? 'unconfirmed' : 'active' });
    }
    return [...out.values()];
  }

  /** Reads the manifests of the revocations in force (once each). */
  private async loadManifests(): Promise<void> {
    for (const r of this.revocations) {
      if (this.manifests.has(r)) continue;
      const want = this.bodyOf(r).manifest;
      if (want === undefined) {
        this.manifests.set(r, null); // format 1 revocation: it re-sealed every record and listed none
        continue;
      }
      // A manifest the storage refuses (too large, not a regular file) is as good as missing.
      const raw = await this.storage.get(manifestKey(r)).catch((e: unknown) => {
        if (isCofferError(e)) return null;
        throw e;
      });
      const set = raw && sha256hex(raw) === want ? parseManifest(raw.toString('latin1'), r) : null;
      if (!set) this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: manifestKey(r), message: `the record list of revocation ${r} is missing or altered: records from before it cannot be checked and are ignored` });
      this.manifests.set(r, set);
    }
  }

  /** Revocations in force that `epoch` does not descend from: records under it must be in their manifests. */
  private closedBy(epoch: string): string[] {
    return this.revocations.filter((r) => !this.ancestry.descends(epoch, r));
  }

  private recordsStamp: string | null = null;
  private recordProblems: VaultProblem[] = [];
  private revocationsKey = '';

  private async loadRecords(): Promise<void> {
    // Nothing added, replaced or removed since the last read (and the history is the same): keep it.
    const folder = await this.storage.stamp(RECORDS);
    const stamp = folder === null ? null : `${folder}|${[...this.trusted].sort().join()}|${this.revocationsKey}`;
    if (stamp !== null && stamp === this.recordsStamp) {
      this.loadProblems.push(...this.recordProblems);
      return;
    }
    const before = this.loadProblems.length;
    await this.readRecords();
    this.recordsStamp = stamp;
    this.recordProblems = this.loadProblems.slice(before);
  }

  private async readRecords(): Promise<void> {
    const names = await this.storage.listNames(RECORDS);
    const seen = new Set<string>();
    const todo: { file: string; name: ObjectName }[] = [];
    for (const file of names) {
      const n = parseObjectName(file, '.rec', HEX32);
      if (!n) {
        this.problem({ severity: 'warning', code: 'UNKNOWN_FILE', object: `${RECORDS}/${file}`, message: 'not a record file (left alone)' });
        continue;
      }
      seen.add(file);
      todo.push({ file, name: n });
    }
    for (const k of [...this.records.keys()]) if (!seen.has(k)) this.records.delete(k);
    const raws = await this.storage.getMany(todo.map((t) => `${RECORDS}/${t.file}`));
    const closed = new Map<string, string[]>();
    todo.forEach((t, i) => {
      const raw = raws[i];
      const object = `${RECORDS}/${t.file}`;
      if (!raw || isCofferError(raw)) {
        this.records.delete(t.file);
        if (raw) this.problem({ severity: 'error', code: raw.code, object, message: raw.message });
        return;
      }
      const text = raw.toString('latin1');
      const cached = this.records.get(t.file);
      // Unchanged bytes under an epoch of the same history, checked against the same revocations:
      // nothing to decrypt or check again. A revocation that arrived since (another writer's, synced
      // in) must be applied to records this session already holds, as a fresh open would.
      if (cached && cached.tag === text && this.trusted.has(this.recordEpochOf(cached))) {
        const ep = this.recordEpochOf(cached);
        let by = closed.get(ep);
        if (!by) {
          by = this.closedBy(ep);
          closed.set(ep, by);
        }
        if (by.length === 0 || this.recordCheckedUnder.get(t.file) === this.revocationsKey) return;
      }
      const epoch = recordEpoch(text);
      try {
        if (!epoch) throw new CofferError('VAULT_TAMPERED', 'record is malformed');
        const keys = this.trusted.has(epoch) ? this.keyring.get(epoch) : undefined;
        if (!keys) {
          this.records.delete(t.file);
          if (this.keyring.has(epoch)) {
            this.problem({ severity: 'error', code: 'FORK', object, message: `record is under epoch ${epoch}, which is not part of this vault's history (a fork made with a key from before a revocation): ignored` });
          } else {
            this.problem({ severity: this.epochs.has(epoch) ? 'warning' : 'error', code: this.epochs.has(epoch) ? 'VAULT_INVALID' : 'VAULT_TAMPERED', object, message: this.epochs.has(epoch) ? `record is under epoch ${epoch}, which these keys cannot open` : `record claims epoch ${epoch}, which this vault does not have (from another vault, or its epoch has not synced yet)` });
          }
          return;
        }
        let by = closed.get(epoch);
        if (!by) {
          by = this.closedBy(epoch);
          closed.set(epoch, by);
        }
        if (by.length > 0) {
          const h = sha256hex(raw);
          const r = by.find((x) => !this.manifests.get(x)?.has(h));
          if (r !== undefined) {
            throw new CofferError('VAULT_TAMPERED', `record is sealed under epoch ${epoch}, which revocation ${r} closed, and is not among the records that revocation kept: it was written with a key from before the revocation (by a removed member, or on a computer that had not seen it yet); ignored`);
          }
        }
        // The one place a record is decoded: every field is validated (names above all) before use.
        const body = validateRecordBody(JSON.parse(openRecord(keys, t.name.id, text).toString('utf8')) as unknown, t.name.id);
        if (!t.name.conflict) {
          const seenV = this.memEntries[t.name.id];
          if (seenV !== undefined && (Math.abs(seenV) > body.version || (seenV < 0 && -seenV >= body.version))) {
            throw new CofferError('VAULT_TAMPERED', seenV < 0
              ? `record of deleted entry "${body.name}" reappeared with an old version (v${body.version}): it was replayed`
              : `record of "${body.name}" is older (v${body.version}) than the version this computer already saw (v${seenV}): it was replayed or rolled back`);
          }
        }
        this.records.set(t.file, { file: t.file, tag: text, body, conflict: t.name.conflict });
        this.recordEpochs.set(t.file, epoch);
        this.recordCheckedUnder.set(t.file, this.revocationsKey);
      } catch (e) {
        this.records.delete(t.file);
        const msg = e instanceof SyntaxError ? 'record content is malformed' : (e as Error).message;
        this.problem({ severity: 'error', code: 'VAULT_TAMPERED', object, message: msg });
      }
    });
  }

  private readonly recordEpochs = new Map<string, string>();
  /** Record file → the revocations in force (revocationsKey) when it was last checked against their manifests. */
  private readonly recordCheckedUnder = new Map<string, string>();
  private recordEpochOf(n: Node): string {
    return this.recordEpochs.get(n.file) ?? '';
  }

  private firstLoad = true;
  /** Slots this session revoked. */
  private readonly revokedHere = new Set<string>();

  /** (Re)reads the vault from storage: epochs, slots, records; unlocks new epochs. Idempotent. */
  async load(): Promise<void> {
    this.ensureOpen();
    this.loadProblems = [];
    this.tree = null;
    await this.loadEpochs();
    if (this.epochs.size === 0) throw new CofferError('VAULT_INVALID', `${this.location} has no valid epoch: it is damaged or incomplete`);
    const mem = await readMemory(this.stateDir, this.id);
    this.memEntries = mem.entries;
    if (this.firstLoad) this.hadState = mem.epochN >= 0;
    await this.loadSlots();
    const errors: CofferError[] = [];
    await this.openEpochs(errors);
    if (this.keyring.size === 0) {
      const tampered = this.loadProblems.find((p) => p.object.startsWith(`${EPOCHS}/`) && p.code === 'VAULT_TAMPERED' && /failed authentication/.test(p.message));
      if (tampered) throw new CofferError('VAULT_TAMPERED', `vault ${this.name}: ${tampered.message}`);
      const first = errors.find((e) => e.code === 'WRONG_PASSPHRASE') ?? errors[0];
      if (first?.code === 'TRANSIT_VERSION_TOO_OLD') {
        throw new CofferError(first.code, `${first.message} If vault ${this.name} is anchored to this key (coffer vault anchor), this folder is an older copy: restore the newest one, or wait for it to finish syncing.`);
      }
      if (first) throw first;
      throw new CofferError('NO_IDENTITY', this.credentialsGiven()
        ? `none of the keys given opens vault ${this.name} (its slots: ${[...new Set(this.slots.map((s) => s.obj.body.type))].join(', ')}; a member who was removed no longer has a key file for it)`
        : `vault ${this.name} is locked: give a passphrase (-p), an identity (-i) or the recovery key`);
    }
    // A reload answers as a fresh open with the same keys would: if every key file of the slots that
    // opened this session is gone (the slot was revoked, or its files deleted), the keys no longer open it.
    // (Slots this session revoked itself do not count: removing one's own way in is deliberate.)
    const mine = [...this.openedBy].filter((sid) => !this.revokedHere.has(sid));
    if (!this.firstLoad && mine.length > 0 && !mine.some((sid) => [...this.keyring.keys()].some((e) => this.wrapNames.has(`${sid}.${e}.key`)))) {
      throw new CofferError('NO_IDENTITY', `vault ${this.name}: the keys this session was opened with are no longer among its members (their key files were removed: revoked, or deleted)`);
    }
    const opened = new Map([...this.keyring.keys()].map((id) => [id, { n: this.bodyOf(id).n, revokes: this.bodyOf(id).revoked.length > 0 }]));
    this.ancestry = new Ancestry(this.links);
    if (this.firstLoad) await this.readHardwareAnchors();
    const choice = chooseHistory({
      opened, links: this.links, seenRevocations: mem.revocations, remembered: mem.epochId, present: new Set(this.epochs.keys()), vaultName: this.name,
      anchors: this.hwAnchors,
    }, this.ancestry);
    for (const a of this.hwAnchors) {
      const e = this.epochs.get(a.id);
      if (e && epochFileHash(`${e.obj.text}\nmac: ${encodeB64(e.obj.mac)}\n`) !== a.hash) {
        throw new CofferError('VAULT_TAMPERED', `vault ${this.name}: epoch ${a.id} is not the one ${a.source} records (its file differs): the folder was altered. Restore the newest copy, or ask the vault's owner`);
      }
    }
    const current = choice.current;
    const maxN = Math.max(...[...choice.trusted].map((e) => this.bodyOf(e).n));
    if (mem.epochN > maxN) {
      throw new CofferError('VAULT_ROLLBACK', `vault ${this.name} was rolled back: this computer has seen epoch ${mem.epochN}, but the folder's newest is ${maxN}. Restore the newer copy; if the rollback is intended, remove ${path.join(this.stateDir, 'vaults', `${this.id}.json`)}`);
    }
    this.head = current;
    this.joinable = choice.joinable;
    this.trusted = choice.trusted;
    this.revocations = choice.revocations;
    this.revocationsKey = choice.revocations.join();
    for (const f of choice.forks) {
      this.problem({ severity: 'warning', code: 'FORK', object: epochKey(f.id), message: `epoch ${f.id} opens with your keys but is not joined: ${f.reason}. Its slots get no keys and its records are ignored` });
    }
    const curN = this.bodyOf(current).n;
    for (const e of this.epochs.values()) {
      if (!this.keyring.has(e.id) && e.obj.body.n > curN) {
        this.problem({ severity: 'warning', code: 'CONFLICT', object: epochKey(e.id), message: `epoch ${e.id} cannot be opened with these keys (you may have been removed, its key files may not have synced yet, or it was planted); the vault is shown as of epoch ${current}` });
      }
    }
    const headBody = this.bodyOf(current);
    let interrupted = false;
    if (headBody.descriptor !== sha256hex(this.descBytes)) {
      // A migration to format 2 writes the descriptor first; if it stopped there, the epoch still
      // names the same descriptor in its format 1 form, and the next change finishes the migration.
      interrupted = this.desc.version === 2 && headBody.descriptor === sha256hex(descriptorBytes({ ...this.desc, version: 1 }));
      if (!interrupted) throw new CofferError('VAULT_TAMPERED', `${DESCRIPTOR_KEY} was altered or swapped (it does not match epoch ${current})`);
    }
    this.needsMigration = interrupted || this.desc.version === 1;
    this.verifySlots();
    if (this.firstLoad) await this.confirmTransitAnchor(current);
    await this.loadManifests();
    await this.loadRecords();
    const versions: Record<string, number> = {};
    for (const n of this.records.values()) if (!n.conflict) versions[n.body.id] = Math.max(versions[n.body.id] ?? 0, n.body.version);
    const saved = await updateMemory(this.stateDir, this.id, { epochN: headBody.n, epochId: current, entries: versions, revocations: choice.revocations });
    this.memEntries = saved.entries;
    if (this.firstLoad && !this.hadState && this.freshness.length === 0) {
      this.openWarnings.push(`this computer has not opened vault ${this.name} before, so it cannot tell whether the folder was rolled back to an older copy (for example one from before a member was removed). If that matters, confirm with another member that epoch ${current} is the newest`);
    }
    this.firstLoad = false;
  }

  /** What confirmed this open's freshness (anchors), for people; empty if nothing did. */
  private freshness: string[] = [];

  /** The Transit freshness anchor in force at the current epoch (FORMAT.md §6.17), or null. */
  get transitAnchor(): TransitAnchor | null {
    this.ensureOpen();
    return this.transitAnchorAt(this.head)?.anchor ?? null;
  }

  /** What confirmed that the folder is the newest copy on this open (e.g. "Transit key transit/k"); empty if nothing did. */
  get freshnessAnchors(): readonly string[] {
    return this.freshness;
  }

  /**
   * The Transit anchor in force at `epoch`: the newest anchored epoch on its verified history (an
   * anchor is permanent, so descendants of an anchored epoch are held to it even if they omit it).
   */
  private transitAnchorAt(epoch: string): { epoch: string; anchor: TransitAnchor } | null {
    let best: { epoch: string; anchor: TransitAnchor; n: number } | null = null;
    for (const e of this.ancestry.of(epoch)) {
      const b = this.epochs.get(e)?.obj.body;
      const t = b?.anchor?.transit;
      if (b && t && (!best || b.n > best.n)) best = { epoch: e, anchor: t, n: b.n };
    }
    return best ? { epoch: best.epoch, anchor: best.anchor } : null;
  }

  /** On open: hardware keys given may hold this vault's freshness anchor (read once, then required on every load). */
  private async readHardwareAnchors(): Promise<void> {
    for (const id of hardwareIdentities(this.credentials.identities)) {
      // A token is never prompted only for this where this computer's state already guards against
      // rollback and another key opened the vault; on a first open the anchor is worth one PIN.
      if (this.hadState && !id.hasPin) continue;
      const r = await readHardwareAnchor(id, this.id, this.ui);
      if (r.error) {
        const msg = `could not read the freshness anchor of vault ${this.name} on ${r.token} (${r.error.message})`;
        if (!this.hadState) this.openWarnings.push(`${msg}: this computer cannot use it to rule out a rollback`);
        else this.problem({ severity: 'info', code: 'ANCHOR', object: DESCRIPTOR_KEY, message: msg });
        continue;
      }
      if (!r.anchor) continue;
      this.hwAnchors.push({ id: r.anchor.epoch, source: `hardware key ${r.token}`, hash: r.anchor.hash });
      this.freshness.push(`hardware key ${r.token}`);
    }
  }

  /** On open: the Transit anchor, if the history has one (anchor.ts). */
  private async confirmTransitAnchor(current: string): Promise<void> {
    const found = this.transitAnchorAt(current);
    if (!found) return;
    const a = found.anchor;
    const slot = this.slots.find((s) => s.verified && s.obj.body.slot === a.slot && s.obj.body.type === 'vault-transit');
    const recipient = slot?.obj.body.recipient ?? `vault-transit:${a.key}`;
    const vk = this.headKeysOf(current).vk;
    let stanzas: Stanza[] | null = null;
    try {
      const raw = await this.storage.get(wrapKeyName(a.slot, current));
      if (raw) {
        const h = parseHeader(raw);
        verifyHeaderMac(h, vk);
        stanzas = [...h.stanzas];
      }
    } catch (e) {
      if (!isCofferError(e)) throw e;
      stanzas = null;
    }
    let res;
    try {
      res = await checkTransitAnchor({
        vaultName: this.name, epoch: current, anchor: a, recipient, stanzas, epochKey: vk, proved: this.unlockedVia.get(current) === a.slot, ui: this.ui,
      });
    } catch (e) {
      // A key that no longer exists cannot confirm anything; where state protects, say so and go on.
      if (this.hadState && isCofferError(e) && e.code === 'VAULT_ROLLBACK' && /no longer exists/.test(e.message)) {
        this.openWarnings.push(e.message);
        return;
      }
      throw e;
    }
    if (res.status === 'unreachable') {
      const msg = `vault ${this.name} is anchored to Vault Transit key ${a.key}, but Vault could not be asked (${res.reason})`;
      if (!this.hadState) this.openWarnings.push(`${msg}: this computer has not opened it before, so it cannot rule out a rollback to an older copy (for example one from before a member was removed). Configure Vault and open it again, or confirm with another member that epoch ${current} is the newest`);
      else this.problem({ severity: 'info', code: 'ANCHOR', object: DESCRIPTOR_KEY, message: msg });
      return;
    }
    this.freshness.push(`Vault Transit key ${a.key}`);
    // An anchored change that stopped before raising min_decryption_version: finish it.
    const own = this.bodyOf(current).anchor?.transit;
    if (own && own.slot === a.slot && own.version > res.minDecryption) {
      try {
        await anchorClient(recipient).setMinDecryptionVersion(keyRefOf(own), own.version);
      } catch (e) {
        if (!isCofferError(e)) throw e;
        this.problem({ severity: 'warning', code: 'ANCHOR', object: epochKey(current), message: `could not raise min_decryption_version of Transit key ${a.key} to ${own.version} (${e.message}); the next change retries` });
      }
    }
  }

  private headKeysOf(epoch: string): EpochKeys {
    const k = this.keyring.get(epoch);
    if (!k) throw new CofferError('INTERNAL', `no key for epoch ${epoch}`);
    return k;
  }

  private credentialsGiven(): boolean {
    const c = this.credentials;
    return (c.identities?.length ?? 0) > 0 || c.passphrase !== undefined || c.recoveryKey !== undefined;
  }

  /* ------------------------------------------------------------------ tree */

  private getTree(): Tree {
    if (this.tree) return this.tree;
    // A conflict copy identical in content to its original (e.g. both copies rewrapped the same
    // record during concurrent rotations) holds nothing new: it is not shown; verify --repair removes it.
    const primaryBody = new Map<string, string>();
    // Entries in the trash are not in the tree (versions.ts lists them).
    const live = [...this.records.values()].filter((n) => isLive(n.body));
    for (const n of live) if (!n.conflict) primaryBody.set(n.body.id, JSON.stringify(n.body));
    const nodes = live.filter((n) => !n.conflict || primaryBody.get(n.body.id) !== JSON.stringify(n.body));
    const dirIds = new Set(nodes.filter((n) => !n.conflict && n.body.type === 'dir').map((n) => n.body.id));
    const primaryIds = new Set(nodes.filter((n) => !n.conflict).map((n) => n.body.id));
    const byParent = new Map<string, Node[]>();
    const orphan = new Set<string>();
    for (const n of nodes) {
      let parent = n.body.parent;
      // A conflict copy of an entry whose original is missing stands in for it.
      if (parent !== '' && !dirIds.has(parent)) {
        orphan.add(n.file);
        parent = '';
      }
      const list = byParent.get(parent) ?? [];
      list.push(n);
      byParent.set(parent, list);
    }
    const byPath = new Map<string, { node: Node; info: EntryInfo }>();
    const infoByFile = new Map<string, EntryInfo>();
    const children = new Map<string, EntryInfo[]>();
    const visit = (parentId: string, parentPath: string, depth: number): void => {
      if (depth > 256) return;
      const list = byParent.get(parentId) ?? [];
      const groups = new Map<string, Node[]>();
      for (const n of list) {
        const key = n.body.name.normalize('NFC');
        const g = groups.get(key) ?? [];
        g.push(n);
        groups.set(key, g);
      }
      const infos: EntryInfo[] = [];
      for (const [name, g] of groups) {
        g.sort((a, b) => Number(a.conflict !== null || orphan.has(a.file)) - Number(b.conflict !== null || orphan.has(b.file))
          || a.body.id.localeCompare(b.body.id) || a.file.localeCompare(b.file));
        g.forEach((n, i) => {
          const shown = i === 0 ? name : conflictName(name, i);
          const p = parentPath === '' ? shown : `${parentPath}/${shown}`;
          const source = n.conflict ? n.conflict.source : orphan.has(n.file) ? 'orphan' : i > 0 ? 'duplicate-name' : null;
          const info: EntryInfo = {
            id: n.body.id, path: p, name: shown, type: n.body.type, size: n.body.size, mtime: new Date(n.body.mtime).toISOString(),
            version: n.body.version, conflict: source ? { source, file: `${RECORDS}/${n.file}` } : null,
          };
          byPath.set(p, { node: n, info });
          infoByFile.set(n.file, info);
          infos.push(info);
          if (n.body.type === 'dir' && !n.conflict && primaryIds.has(n.body.id)) visit(n.body.id, p, depth + 1);
        });
      }
      infos.sort((a, b) => a.name.localeCompare(b.name));
      children.set(parentPath, infos);
    };
    visit('', '', 0);
    // Entries whose parents form a cycle (two copies moved folders into each other) are unreachable
    // from the root: show the first of each cycle at the top level rather than lose them.
    let unreached = nodes.filter((n) => !infoByFile.has(n.file));
    for (let guard = 0; unreached.length > 0 && guard < 64; guard++) {
      unreached.sort((x, y) => x.body.id.localeCompare(y.body.id) || x.file.localeCompare(y.file));
      const first = unreached[0] as Node;
      orphan.add(first.file);
      const rootList = byParent.get('') ?? [];
      rootList.push(first);
      byParent.set('', rootList);
      for (const l of byParent.values()) {
        const i = l.indexOf(first);
        if (i >= 0 && l !== rootList) l.splice(i, 1);
      }
      byPath.clear();
      infoByFile.clear();
      children.clear();
      visit('', '', 0);
      unreached = nodes.filter((n) => !infoByFile.has(n.file));
    }
    this.tree = { byPath, infoByFile, children };
    return this.tree;
  }

  private resolve(vpath: string): { node: Node; info: EntryInfo } | null {
    const parts = splitVaultPath(vpath);
    if (parts.length === 0) return null;
    return this.getTree().byPath.get(parts.join('/')) ?? null;
  }

  private mustResolve(vpath: string): { node: Node; info: EntryInfo } {
    const r = this.resolve(vpath);
    if (!r) throw new CofferError('NOT_FOUND', `${vpath}: no such file or folder in vault ${this.name}`);
    return r;
  }

  /** The entry id of a folder path ('' for the root); NOT_FOUND / USAGE if not a folder. */
  private dirId(vpath: string): string {
    if (splitVaultPath(vpath).length === 0) return '';
    const r = this.mustResolve(vpath);
    if (r.node.body.type !== 'dir' || r.node.conflict) throw new CofferError('USAGE', `${vpath} is not a folder`);
    return r.node.body.id;
  }

  /** Lists a folder (or one file). `recursive` lists the whole subtree. */
  list(vpath = '', opts: { recursive?: boolean } = {}): EntryInfo[] {
    this.ensureOpen();
    const parts = splitVaultPath(vpath);
    const tree = this.getTree();
    const key = parts.join('/');
    if (key !== '') {
      const r = this.mustResolve(key);
      if (r.node.body.type === 'file' || r.node.conflict) return [r.info];
    }
    if (!opts.recursive) return [...(tree.children.get(key) ?? [])];
    const out: EntryInfo[] = [];
    const walk = (p: string): void => {
      for (const c of tree.children.get(p) ?? []) {
        out.push(c);
        // Sync-conflict copies of folders have no children of their own; orphans and same-name folders do.
        if (c.type === 'dir' && (!c.conflict || c.conflict.source === 'orphan' || c.conflict.source === 'duplicate-name')) walk(c.path);
      }
    };
    walk(key);
    return out;
  }

  /** One entry, or null. */
  stat(vpath: string): EntryInfo | null {
    this.ensureOpen();
    return this.resolve(vpath)?.info ?? null;
  }

  /* ------------------------------------------------------------------ writing */

  private headKeys(): EpochKeys {
    return this.keyring.get(this.head) as EpochKeys;
  }

  private async writeRecord(body: RecordBody, file = `${body.id}.rec`): Promise<void> {
    const text = sealRecord(this.headKeys(), body.id, Buffer.from(JSON.stringify(body), 'utf8'));
    await this.storage.put(`${RECORDS}/${file}`, text);
    this.records.set(file, { file, tag: text, body, conflict: null });
    this.recordEpochs.set(file, this.head);
    this.tree = null;
  }

  /** Seals and writes many records at once (durable together), under the current epoch. */
  private async writeRecords(bodies: readonly RecordBody[]): Promise<void> {
    const keys = this.headKeys();
    for (let i = 0; i < bodies.length; i += 1024) {
      const part = bodies.slice(i, i + 1024);
      const texts = part.map((b) => sealRecord(keys, b.id, Buffer.from(JSON.stringify(b), 'utf8')));
      await this.storage.putMany(part.map((b, j) => ({ key: recordKey(b.id), data: texts[j] as string })));
      for (const [j, b] of part.entries()) {
        const file = `${b.id}.rec`;
        this.records.set(file, { file, tag: texts[j] as string, body: b, conflict: null });
        this.recordEpochs.set(file, this.head);
      }
    }
    this.tree = null;
  }

  private async deleteRecord(n: Node): Promise<void> {
    await this.storage.delete(`${RECORDS}/${n.file}`);
    this.records.delete(n.file);
    this.tree = null;
  }

  private async saveVersions(entries: Record<string, number>): Promise<void> {
    if (Object.keys(entries).length === 0) return;
    const saved = await updateMemory(this.stateDir, this.id, { entries });
    this.memEntries = saved.entries;
  }

  /**
   * Runs a change under the writer lock, on a freshly re-read vault, after healing forks
   * (concurrent epochs) and missing key wraps.
   */
  private async mutate<T>(fn: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    const release = await this.storage.lock();
    try {
      await this.load();
      if (this.needsMigration) await this.migrateNow();
      await this.heal();
      return await fn();
    } finally {
      await release();
    }
  }

  /** Merges concurrent epochs into one and wraps the current epoch for members that lack it. */
  private async heal(): Promise<void> {
    if (this.joinable.length > 0) {
      await this.newEpoch({ revoke: [], anchor: 'carry' });
      return;
    }
    const present = new Set((await this.storage.list(KEYS)).map((o) => o.name));
    for (const { slot, status } of this.memberSlots()) {
      if (status !== 'active') continue;
      const name = `${slot.obj.body.slot}.${this.head}.key`;
      if (present.has(name)) continue;
      await this.writeWrap(slot.obj.body, this.head, this.headKeys().vk);
    }
  }

  /** Whether heal() has anything to do: concurrent epochs, or active members without a wrap of the current one. */
  private async needsHeal(): Promise<boolean> {
    if (this.joinable.length > 0) return true;
    const present = new Set((await this.storage.list(KEYS)).map((o) => o.name));
    return this.memberSlots().some((m) => m.status === 'active' && !present.has(`${m.slot.obj.body.slot}.${this.head}.key`));
  }

  /** Runs heal() under the lock if needed; a folder we cannot write to is left alone (reported as a problem). */
  async healIfNeeded(): Promise<boolean> {
    this.ensureOpen();
    if (!(await this.needsHeal())) return false;
    try {
      await this.mutate(() => Promise.resolve());
      return true;
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || (isCofferError(e) && e.code === 'VAULT_BUSY')) {
        this.problem({ severity: 'warning', code: 'CONFLICT', object: EPOCHS, message: 'concurrent changes could not be joined (folder not writable or busy); they will be on the next change' });
        return false;
      }
      throw e;
    }
  }

  /**
   * Rewrites existing key-slot wraps without changing any vault key: `transform` receives every wrap
   * of an epoch this vault has open (slot, epoch, stanzas) at once and returns replacement stanzas
   * (null keeps a wrap). The header MAC is recomputed with that epoch's key. `coffer vault rewrap`
   * uses it to move Vault Transit stanzas to the latest key version with a batched transit/rewrap.
   */
  async rewriteSlotWraps(transform: (wraps: readonly { slot: SlotBody; epoch: string; stanzas: readonly Stanza[] }[]) => Promise<(Stanza[] | null)[]>): Promise<number> {
    this.ensureOpen();
    return this.mutate(async () => {
      const wraps: { slot: SlotBody; epoch: string; stanzas: readonly Stanza[]; key: string; vk: Uint8Array }[] = [];
      for (const slot of this.slots) {
        const b = slot.obj.body;
        if (b.slot !== slot.name.id) continue;
        for (const [epoch, keys] of this.keyring) {
          if (!this.trusted.has(epoch)) continue;
          const key = wrapKeyName(b.slot, epoch);
          let header;
          try {
            const bytes = await this.storage.get(key);
            if (!bytes) continue;
            header = parseHeader(bytes);
            verifyHeaderMac(header, keys.vk);
          } catch {
            continue; // not made with this epoch's key: left for verify to report
          }
          wraps.push({ slot: b, epoch, stanzas: header.stanzas, key, vk: keys.vk });
        }
      }
      if (wraps.length === 0) return 0;
      const next = await transform(wraps.map(({ slot, epoch, stanzas }) => ({ slot, epoch, stanzas })));
      let n = 0;
      for (const [i, w] of wraps.entries()) {
        const st = next[i];
        if (!st) continue;
        await this.storage.put(w.key, encodeHeader(st, w.vk));
        n++;
      }
      return n;
    });
  }

  /**
   * Strict vaults: rewrites every sealed file key through `transform` (e.g. a batched transit/rewrap
   * after the Transit key rotated), records re-sealed under the current epoch. Returns records changed.
   */
  async rewriteSealedKeys(transform: (sealed: readonly string[]) => Promise<string[]>): Promise<number> {
    this.ensureOpen();
    if (!this.keyGuard) return 0;
    return this.mutate(async () => {
      // Previous versions' keys too (versions.ts), so that old versions stay readable after the rewrap.
      const sealedOf = (b: RecordBody): string[] => [b.key as string, ...(b.history ?? []).map((h) => h.key)].filter((k) => isSealedFileKey(k));
      const targets = [...this.records.values()].filter((r) => r.body.type === 'file' && !!r.body.key && sealedOf(r.body).length > 0);
      if (targets.length === 0) return 0;
      const all = targets.flatMap((r) => sealedOf(r.body));
      const out = await transform(all);
      const map = new Map(all.map((k, i) => [k, out[i] || k]));
      const versions: Record<string, number> = {};
      let n = 0;
      for (const r of targets) {
        const key = map.get(r.body.key as string) ?? (r.body.key as string);
        const history = r.body.history?.map((h) => ({ ...h, key: map.get(h.key) ?? h.key }));
        if (key === r.body.key && (history ?? []).every((h, j) => h.key === r.body.history?.[j]?.key)) continue;
        const b: RecordBody = { ...r.body, key, version: r.body.version + 1, ...(history ? { history } : {}) };
        await this.storage.put(`${RECORDS}/${r.file}`, sealRecord(this.headKeys(), b.id, Buffer.from(JSON.stringify(b), 'utf8')));
        this.records.set(r.file, { ...r, body: b });
        this.recordEpochs.set(r.file, this.head);
        if (!r.conflict) versions[b.id] = b.version;
        n++;
      }
      await this.saveVersions(versions);
      this.tree = null;
      return n;
    });
  }

  private async writeWrap(slot: SlotBody, epoch: string, vk: Uint8Array): Promise<Stanza[]> {
    const stanzas = await slotKind(slot.type).recipient(slot).wrap(vk);
    await this.storage.put(wrapKeyName(slot.slot, epoch), encodeHeader(stanzas, vk));
    return stanzas;
  }

  private async writeIntent(op: string, objects: string[]): Promise<string> {
    const key = `${TMP_FOLDER}/${tempName().replace(/\.tmp$/, '.intent')}`;
    await this.storage.put(key, JSON.stringify({ v: 1, op, created: nowIso(), objects }));
    return key;
  }

  /** Creates a folder (and any missing parents). EXISTS if something is already there. */
  async mkdir(vpath: string): Promise<EntryInfo> {
    return this.mutate(async () => {
      const parts = splitVaultPath(vpath);
      if (parts.length === 0) throw new CofferError('EXISTS', 'the vault root already exists');
      if (this.resolve(vpath)) throw new CofferError('EXISTS', `${vpath} already exists in vault ${this.name}`);
      const versions: Record<string, number> = {};
      await this.ensureDirs(parts, versions);
      await this.saveVersions(versions);
      return this.getTree().byPath.get(parts.join('/'))?.info as EntryInfo;
    });
  }

  /** mkdir -p inside a mutation; returns the folder's id. */
  /** Original (non-conflict) entries by parent id and NFC name; the lowest id wins among same-name entries. */
  private childIndex(): Map<string, Node> {
    const idx = new Map<string, Node>();
    const nodes = [...this.records.values()].filter((n) => !n.conflict && isLive(n.body)).sort((a, b) => a.body.id.localeCompare(b.body.id));
    for (const n of nodes) {
      const k = `${n.body.parent}\0${n.body.name.normalize('NFC')}`;
      if (!idx.has(k)) idx.set(k, n);
    }
    return idx;
  }

  private async ensureDirs(parts: string[], versions: Record<string, number>, idx: Map<string, Node> = this.childIndex()): Promise<string> {
    let parent = '';
    let p = '';
    for (const name of parts) {
      checkName(name);
      p = p === '' ? name : `${p}/${name}`;
      const k = `${parent}\0${name.normalize('NFC')}`;
      const r = idx.get(k);
      if (r) {
        if (r.body.type !== 'dir') throw new CofferError('EXISTS', `${p} exists and is not a folder`);
        parent = r.body.id;
        continue;
      }
      const body: RecordBody = { v: 1, id: newId(), type: 'dir', parent, name, size: 0, mtime: Date.now(), version: 1 };
      await this.writeRecord(body);
      idx.set(k, this.records.get(`${body.id}.rec`) as Node);
      versions[body.id] = 1;
      parent = body.id;
    }
    return parent;
  }

  /**
   * Adds files and folders (recursively) under `to`. Content streams through encryptPayload into
   * one new blob per file, up to one file per core at a time. A file whose name exists is replaced
   * by a new version. Cancelling or failing leaves only complete, committed entries.
   */
  async add(sources: readonly string[], to = '', opts: OpProgress & { concurrency?: number } = {}): Promise<AddResult> {
    this.ensureOpen();
    const signal = opts.signal;
    const progress = new ProgressTracker(opts.onProgress);
    // 1. Scan the sources (no lock needed).
    interface FilePlan { abs: string; rel: string[]; size: number; mtime: number }
    const files: FilePlan[] = [];
    const folders: string[][] = [];
    const skipped: string[] = [];
    const scan = async (abs: string, rel: string[]): Promise<void> => {
      throwIfAborted(signal);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) {
        skipped.push(abs);
        return;
      }
      if (st.isDirectory()) {
        folders.push(rel);
        const names = (await readdir(abs)).sort();
        for (const n of names) {
          // A name that could not be read back (a control character, a backslash…) is skipped and reported.
          if (nameProblem(n) !== null) skipped.push(path.join(abs, n));
          else await scan(path.join(abs, n), [...rel, normalizeName(n)]);
        }
      } else if (st.isFile()) {
        files.push({ abs, rel, size: st.size, mtime: st.mtimeMs });
      } else {
        skipped.push(abs);
      }
    };
    for (const s of sources) {
      const st = await stat(s).catch(() => null);
      if (!st) throw new CofferError('NOT_FOUND', `${s}: no such file or folder`);
      await scan(path.resolve(s), [normalizeName(path.basename(path.resolve(s)))]);
    }
    progress.setTotals(files.length, files.reduce((a, f) => a + f.size, 0));
    const toParts = splitVaultPath(to);
    // Temp files that an add killed on this host left (SIGKILL, a crash) go first: they may fill the disk.
    await this.storage.sweepTemp?.();

    // 2. Create the folders and decide which entries are replaced (under the lock).
    const dirOf = new Map<string, string>();
    const plans: { f: FilePlan; parent: string; name: string; blob: string; replaces: Node | null }[] = [];
    await this.mutate(async () => {
      const versions: Record<string, number> = {};
      const idx = this.childIndex();
      const base = await this.ensureDirs(toParts, versions, idx);
      dirOf.set('', base);
      for (const rel of folders) {
        const id = await this.ensureDirs([...toParts, ...rel], versions, idx);
        dirOf.set(rel.join('/'), id);
      }
      await this.saveVersions(versions);
      for (const f of files) {
        const name = f.rel[f.rel.length - 1] as string;
        checkName(name);
        const parent = dirOf.get(f.rel.slice(0, -1).join('/')) ?? base;
        const existing = idx.get(`${parent}\0${name.normalize('NFC')}`);
        if (existing && existing.body.type !== 'file') {
          throw new CofferError('EXISTS', `${[...toParts, ...f.rel].join('/')} exists and is not a file`);
        }
        plans.push({ f, parent, name, blob: newId(), replaces: existing ?? null });
      }
    });

    // 3. Encrypt blobs in parallel into staging; commit blobs, then records, in batches (records under the lock).
    const intent = await this.writeIntent('add', plans.map((p) => blobKey(p.blob)));
    const staged = new Map<string, StagedObject>();
    const committedBlobs = new Set<string>();
    const recorded = new Set<string>();
    let pending: { body: RecordBody; replaces: Node | null }[] = [];
    let bytes = 0;
    let replaced = 0;
    let flushing: Promise<void> = Promise.resolve();
    const flush = async (): Promise<void> => {
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      // Blobs first: durable and visible before any record refers to them (the intent covers a crash here).
      await this.storage.commit(batch.map((b) => ({ staged: staged.get(b.body.blob as string) as StagedObject, key: blobKey(b.body.blob as string) })));
      for (const b of batch) {
        staged.delete(b.body.blob as string);
        committedBlobs.add(b.body.blob as string);
      }
      const release = await this.storage.lock();
      try {
        const epochsNow = (await this.storage.list(EPOCHS)).map((o) => o.name).sort().join();
        if (epochsNow !== [...this.epochs.keys()].map((e) => `${e}.epoch`).sort().join()) {
          await this.load();
          await this.heal();
        } else {
          // Re-read the records (unchanged ones are not decrypted again) to see other writers' entries.
          this.loadProblems = this.loadProblems.filter((x) => !x.object.startsWith(`${RECORDS}/`));
          await this.loadRecords();
          this.tree = null;
        }
        const versions: Record<string, number> = {};
        const bodies: RecordBody[] = [];
        const current = new Map<string, RecordBody>();
        for (const n of this.records.values()) {
          if (!n.conflict && n.body.type === 'file' && isLive(n.body)) current.set(`${n.body.parent}/${n.body.name.normalize('NFC')}`, n.body);
        }
        for (const { body } of batch) {
          // The new content does not depend on the old, so it becomes the next version of whatever entry
          // holds that name now (another writer may have created or replaced it meanwhile): serial, and
          // nothing is overwritten unseen (the old version's blob goes only once its record is replaced).
          const slot = `${body.parent}/${body.name.normalize('NFC')}`;
          const cur = current.get(slot);
          let b = body;
          if (cur) {
            // The old content stays as a previous version (versions.ts), collected by retention.
            b = withPrevious(cur, { ...body, id: cur.id, version: cur.version + 1 }, this.now(), this.retention);
            replaced++;
          }
          current.set(slot, b);
          bodies.push(b);
        }
        await this.writeRecords(bodies);
        for (const b of bodies) {
          versions[b.id] = b.version;
          recorded.add(b.blob as string);
        }
        await this.saveVersions(versions);
      } finally {
        await release();
      }
    };
    let lastFlush = Date.now();
    // Strict vaults: file keys come pre-sealed by the key guard, in batches.
    const nextKey = this.keyGuard ? this.sealedKeySource(plans.length) : null;
    // Encryption runs on this one thread; what overlaps is I/O. Large files are CPU-bound: one pipeline per
    // core. Small files are I/O-bound (open, read, write, flush): more of them are kept in flight.
    const cores = opts.concurrency ?? defaultConcurrency();
    const ordered = [...plans.filter((p) => p.f.size <= SMALL_FILE), ...plans.filter((p) => p.f.size > SMALL_FILE)];
    const smallCount = plans.filter((p) => p.f.size <= SMALL_FILE).length;
    try {
      const one = async (p: (typeof plans)[number]): Promise<void> => {
        const na = sodium();
        let k: Uint8Array;
        let sealedKey: string | null = null;
        if (nextKey) {
          const n = await nextKey();
          k = n.k;
          sealedKey = n.sealed;
        } else {
          k = na.randomBytes(32); // wiped below; sodium_malloc per file would cost an mmap each
        }
        let done = 0;
        progress.setCurrent([...toParts, ...p.f.rel].join('/'));
        const onBytes = (n: number): void => {
          progress.addBytes(n - done);
          done = n;
        };
        const large = p.f.size > SMALL_FILE && this.storage.stageWith !== undefined;
        // Both derive their payload key now, so the file key can be wiped before any I/O.
        const sealer = large ? new PayloadSealer(k) : null;
        const enc = large ? null : encryptPayload(k, onBytes);
        const key = sealedKey ?? encodeB64(k);
        na.memzero(k);
        let st: StagedObject;
        if (sealer && this.storage.stageWith) {
          // Large files: positional I/O with reused buffers (flat memory, no stream machinery).
          st = await this.storage.stageWith(async (dst) => {
            const src = await open(p.f.abs, 'r');
            try {
              return await sealFileHandle(sealer, src, dst, 0, { signal, onProgress: onBytes });
            } finally {
              await src.close();
            }
          });
        } else if (!enc) {
          throw new CofferError('INTERNAL', 'no encryptor');
        } else if (p.f.size <= SMALL_FILE) {
          // Small files: read, seal and stage in one piece (no stream machinery per file).
          throwIfAborted(signal);
          const plain = readFileSync(p.f.abs);
          const out: Buffer[] = [];
          enc.on('data', (c: Buffer) => out.push(c));
          const ended = new Promise<void>((res, rej) => {
            enc.once('end', res);
            enc.once('error', rej);
          });
          enc.end(plain);
          await ended;
          sodium().memzero(plain);
          st = await this.storage.stageBytes(Buffer.concat(out));
        } else {
          st = await this.storage.stage(createReadStream(p.f.abs, { highWaterMark: 1 << 20 }).pipe(enc), signal);
        }
        staged.set(p.blob, st);
        bytes += done;
        const body: RecordBody = {
          v: 1, id: newId(), type: 'file', parent: p.parent, name: p.name, size: done, mtime: Math.round(p.f.mtime), version: 1, key, blob: p.blob,
        };
        pending.push({ body, replaces: p.replaces });
        progress.fileDone();
        if (pending.length >= 2048 || (pending.length > 0 && Date.now() - lastFlush > 5000)) {
          lastFlush = Date.now();
          // Commit this batch while the next one is encrypted; wait only for the batch before it.
          const previous = flushing;
          flushing = previous.then(flush);
          await previous;
        }
      };
      await runConcurrent(ordered.slice(0, smallCount), opts.concurrency ?? 4 * cores, one, signal);
      await runPool(ordered.slice(smallCount), cores, one, signal);
      flushing = flushing.then(flush);
      await flushing;
    } catch (e) {
      // Only complete, committed entries remain: drop staged blobs and blobs that never got a record.
      await flushing.catch(() => undefined);
      for (const st of staged.values()) await this.storage.discard(st);
      for (const b of committedBlobs) if (!recorded.has(b)) await this.storage.delete(blobKey(b)).catch(() => undefined);
      await this.storage.delete(intent).catch(() => undefined);
      throw signal?.aborted ? new CofferError('CANCELLED', 'cancelled') : e;
    }
    await this.storage.delete(intent);
    progress.finish();
    return { files: plans.length, folders: folders.length, bytes, replaced, skipped };
  }

  /**
   * Decrypts a file or a whole folder to `dest` (a new file or folder). Nothing partial is left on
   * failure. Every path written is confined under `dest` (confine.ts): entry names come from records a
   * co-member may have forged, so none may climb out of `dest` or write through a link found there.
   */
  async get(vpath: string, dest: string, opts: OpProgress & { overwrite?: boolean; platform?: NodeJS.Platform } = {}): Promise<{ files: number; bytes: number; renamed: { path: string; written: string; reason: ExportRenameReason }[] }> {
    this.ensureOpen();
    // The root is a folder like any other: `get DIR / -o OUT` writes the whole vault.
    const isRoot = splitVaultPath(vpath).length === 0;
    const r = isRoot
      ? { node: { body: { type: 'dir' } } as Node, info: { path: '', name: folderNameFor(this.name) } as EntryInfo }
      : this.mustResolve(vpath);
    const renamed: { path: string; written: string; reason: ExportRenameReason }[] = [];
    const progress = new ProgressTracker(opts.onProgress);
    let files = 0;
    let bytes = 0;
    const swept = new Set<string>();
    const getFile = async (n: Node, out: string): Promise<void> => {
      throwIfAborted(opts.signal);
      if (!opts.overwrite && (await lstat(out).catch(() => null))) throw new CofferError('EXISTS', `${out} already exists`);
      // Partial files that a killed `get` left in this folder go first (this host, dead processes only).
      const folder = path.dirname(out);
      if (!swept.has(folder)) {
        swept.add(folder);
        await sweepPartials(folder);
      }
      const tmp = partialPath(out);
      try {
        // Small files: one read of the blob, one open in memory, one write, without the stream machinery
        // (about a third of the CPU time per file). Anything unexpected takes the stream path and its errors.
        const pt = n.body.size <= SMALL_GET ? await this.readSmallBlob(n.body) : null;
        if (pt) {
          await writeFile(tmp, pt, { flag: 'wx', mode: 0o600 });
          progress.addBytes(pt.length);
        } else {
          await this.decryptBlobTo(n.body, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }), (d) => progress.addBytes(d), opts.signal);
        }
        await rename(tmp, out);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      files++;
      bytes += n.body.size;
      progress.fileDone();
    };
    const platform = opts.platform ?? process.platform;
    const topName = (): string => {
      const [x] = exportNames([r.info.name], platform);
      if (x && x.reason) renamed.push({ path: r.info.path || '/', written: x.written, reason: x.reason });
      return x ? x.written : r.info.name;
    };
    if (r.node.body.type === 'file') {
      progress.setTotals(1, r.node.body.size);
      const st = await stat(dest).catch(() => null);
      await getFile(r.node, st?.isDirectory() ? await confinedPath(dest, [topName()]) : dest);
    } else {
      const all = this.list(r.info.path, { recursive: true });
      progress.setTotals(all.filter((e) => e.type === 'file').length, all.reduce((a, e) => a + e.size, 0));
      const st = await stat(dest).catch(() => null);
      let root = dest;
      if (st?.isDirectory()) root = await confinedPath(dest, [topName()], { dir: true });
      else await mkdir(dest, { recursive: true });
      // Names another platform cannot hold (case-only twins, CON, a:b) are written visibly changed.
      const relOf = new Map<string, string[]>([[r.info.path, []]]);
      const byParent = new Map<string, EntryInfo[]>();
      for (const e of all) {
        const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
        byParent.set(parent, [...(byParent.get(parent) ?? []), e]);
      }
      const written = new Map<string, string>();
      for (const list of byParent.values()) {
        exportNames(list.map((e) => e.name), platform).forEach((x, i) => {
          const e = list[i] as EntryInfo;
          written.set(e.path, x.written);
          if (x.reason) renamed.push({ path: e.path, written: x.written, reason: x.reason });
        });
      }
      const fileJobs: { node: Node; out: string }[] = [];
      for (const e of all) {
        const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
        const rel = [...(relOf.get(parent) ?? []), written.get(e.path) ?? e.name];
        relOf.set(e.path, rel);
        // Confined under the destination: no name may climb out of it or write through a link in it.
        if (e.type === 'dir') await confinedPath(root, rel, { dir: true });
        else fileJobs.push({ node: (this.getTree().byPath.get(e.path) as { node: Node }).node, out: await confinedPath(root, rel, { mkdirs: true }) });
      }
      await this.withFileKeys(fileJobs.map((j) => j.node.body), () => runPool(fileJobs, defaultConcurrency(), (j) => getFile(j.node, j.out), opts.signal));
    }
    progress.finish();
    return { files, bytes, renamed };
  }

  /**
   * A small file's plaintext, read and opened in memory; null when the blob is not exactly the size its
   * record implies (missing, planted, truncated…), so that the caller takes the stream path and reports
   * exactly what it reports. Errors while opening are the stream path's too (PAYLOAD_TAMPERED…).
   */
  private async readSmallBlob(body: RecordBody): Promise<Buffer | null> {
    const key = blobKey(body.blob as string);
    const expected = payloadSize(body.size);
    if ((await this.storage.size(key)) !== expected) return null;
    const blob = await this.storage.get(key);
    if (!blob || blob.length !== expected) return null; // replaced meanwhile
    const k = await this.fileKey(body);
    let pt: Buffer;
    try {
      pt = openPayloadBuffer(k, blob);
    } finally {
      sodium().memzero(k);
    }
    if (pt.length !== body.size) throw new CofferError('VAULT_TAMPERED', `the content of ${body.name} has ${pt.length} bytes but its record says ${body.size}`);
    return pt;
  }

  private async decryptBlobTo(body: RecordBody, out: Writable, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<number> {
    const k = await this.fileKey(body);
    let last = 0;
    const src = this.storage.getStream(blobKey(body.blob as string), payloadSize(body.size));
    try {
      await pipeline(src, decryptPayload(k, (n) => {
        onBytes?.(n - last);
        last = n;
      }), out, signal ? { signal } : {});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CofferError('VAULT_INVALID', `the content of ${body.name} is missing (blob ${body.blob}); it may not have synced yet`);
      }
      throw e;
    } finally {
      sodium().memzero(k);
    }
    if (last !== body.size) throw new CofferError('VAULT_TAMPERED', `the content of ${body.name} has ${last} bytes but its record says ${body.size}`);
    return last;
  }

  /** Streams one file's plaintext to `out` (for the app's preview/drag-out). */
  async readFile(vpath: string, out: Writable, opts: OpProgress = {}): Promise<number> {
    this.ensureOpen();
    const r = this.mustResolve(vpath);
    if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder`);
    return this.decryptBlobTo(r.node.body, out, undefined, opts.signal);
  }

  /* ------------------------------------------------------------------ single-stream access (the WebDAV drive) */

  private refreshStamp: string | null = null;

  /**
   * Re-reads the vault only if its folders changed since the last call (other processes, the CLI, a
   * sync client: they all replace objects by rename, which changes the folder's stamp). Returns
   * whether it re-read. Cheap when nothing changed: five `stat`s.
   */
  async refresh(): Promise<boolean> {
    this.ensureOpen();
    const stamps = await Promise.all(['', RECORDS, EPOCHS, SLOTS, KEYS].map((f) => this.storage.stamp(f)));
    const s = stamps.map((x) => x ?? '-').join('|'); // '-': the folder does not exist (yet)
    if (s === this.refreshStamp) return false;
    await this.load();
    this.refreshStamp = s; // taken before load: a change during the load is seen by the next call
    return true;
  }

  /**
   * Encrypts `source` into a staged blob (constant memory; not yet part of the vault). Commit it with
   * `commitStaged` or drop it with `discardStaged`. A failing or aborted source leaves nothing behind.
   */
  async stageStream(source: Readable, opts: { signal?: AbortSignal } = {}): Promise<StagedFile> {
    this.ensureOpen();
    const na = sodium();
    let k: Uint8Array;
    let key: string;
    if (this.keyGuard) {
      const n = await this.sealedKeySource(1)();
      k = n.k;
      key = n.sealed;
    } else {
      k = na.randomBytes(32);
      key = encodeB64(k);
    }
    let size = 0;
    const enc = encryptPayload(k, (n) => {
      size = n;
    });
    na.memzero(k);
    // The staging pipeline reports enc's errors; this keeps a re-emitted one (a client that hung up) from
    // ever becoming an uncaught exception in the process.
    enc.on('error', () => undefined);
    const onError = (e: Error): void => {
      enc.destroy(e);
    };
    source.once('error', onError);
    source.once('aborted', () => onError(new CofferError('CANCELLED', 'the upload was interrupted')));
    source.pipe(enc);
    try {
      const staged = await this.storage.stage(enc, opts.signal);
      return { staged, key, size };
    } finally {
      source.removeListener('error', onError);
      source.on('error', () => undefined); // a late error from a source we are done with is not uncaught
      source.unpipe(enc);
    }
  }

  /** Drops a staged file that will not be committed. */
  async discardStaged(f: StagedFile): Promise<void> {
    await this.storage.discard(f.staged);
  }

  /**
   * Commits a staged file as `vpath`: a new entry, or the next version of the file already there
   * (its dead properties are kept). The blob is durable before the record that names it.
   */
  async commitStaged(f: StagedFile, vpath: string, opts: { mtime?: number; expect?: { readonly id: string; readonly version: number } | null } = {}): Promise<EntryInfo> {
    const parts = splitVaultPath(vpath);
    const name = parts[parts.length - 1];
    if (name === undefined) throw new CofferError('USAGE', 'the vault root is a folder');
    checkName(name);
    const blob = newId();
    try {
      return await this.mutate(async () => {
        const parent = this.dirId(parts.slice(0, -1).join('/'));
        const cur = this.childIndex().get(`${parent}\0${name.normalize('NFC')}`);
        if (cur && cur.body.type !== 'file') throw new CofferError('EXISTS', `${vpath} exists and is not a file`);
        // Compare-and-set under the writer lock: the caller edited version `expect` of entry `expect.id`
        // (null: the caller expects no entry at `vpath`); anything else means someone changed it meanwhile.
        if (opts.expect !== undefined && (opts.expect === null ? cur !== undefined : cur?.body.id !== opts.expect.id || cur.body.version !== opts.expect.version)) {
          throw new CofferError('VAULT_CONFLICT', `${vpath} changed in the vault since it was opened (now ${cur ? `version ${cur.body.version}` : 'gone'})`);
        }
        await this.storage.commit([{ staged: f.staged, key: blobKey(blob) }]);
        const fresh: RecordBody = {
          v: 1, id: cur ? cur.body.id : newId(), type: 'file', parent, name: cur ? cur.body.name : name, size: f.size,
          mtime: Math.round(opts.mtime ?? Date.now()), version: cur ? cur.body.version + 1 : 1, key: f.key, blob,
          ...(cur?.body.props ? { props: cur.body.props } : {}),
        };
        // The content replaced stays as a previous version (versions.ts): a bad save can be undone.
        const body = cur ? withPrevious(cur.body, fresh, this.now(), this.retention) : fresh;
        try {
          await this.writeRecord(body);
        } catch (e) {
          await this.storage.delete(blobKey(blob)).catch(() => undefined);
          throw e;
        }
        await this.saveVersions({ [body.id]: body.version });
        return this.getTree().infoByFile.get(`${body.id}.rec`) as EntryInfo;
      });
    } catch (e) {
      await this.storage.discard(f.staged);
      throw e;
    }
  }

  /** stageStream + commitStaged: `source` becomes `vpath` only once it ended completely. */
  async addStream(vpath: string, source: Readable, opts: { signal?: AbortSignal; mtime?: number } = {}): Promise<EntryInfo> {
    const f = await this.stageStream(source, opts);
    return this.commitStaged(f, vpath, opts);
  }

  /**
   * Streams plaintext bytes [start, end] (inclusive) of a file to `out`. The payload is sequential
   * (secretstream), so everything before `start` is decrypted and dropped; decryption stops after `end`.
   */
  async readRange(vpath: string, out: Writable, start: number, end: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.ensureOpen();
    const r = this.mustResolve(vpath);
    if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder`);
    const body = r.node.body;
    if (start === 0 && end >= body.size - 1) return this.decryptBlobTo(body, out, undefined, opts.signal);
    const k = await this.fileKey(body);
    const src = this.storage.getStream(blobKey(body.blob as string), payloadSize(body.size));
    const dec = decryptPayload(k);
    src.once('error', (e) => dec.destroy(e));
    src.pipe(dec);
    let pos = 0;
    let sent = 0;
    try {
      for await (const chunk of dec as AsyncIterable<Buffer>) {
        throwIfAborted(opts.signal);
        const from = Math.max(0, start - pos);
        const to = Math.min(chunk.length, end + 1 - pos);
        pos += chunk.length;
        if (to > from) {
          sent += to - from;
          await writeOrClose(out, chunk.subarray(from, to));
        }
        if (pos > end) break; // the rest is not needed: stop decrypting
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CofferError('VAULT_INVALID', `the content of ${body.name} is missing (blob ${body.blob}); it may not have synced yet`);
      }
      throw e;
    } finally {
      src.unpipe(dec);
      src.destroy();
      dec.destroy();
      sodium().memzero(k);
    }
    await new Promise<void>((res, rej) => {
      out.once('error', rej);
      out.end(() => res());
    });
    return sent;
  }

  /** The dead properties of an entry (`{}` for none or the root). */
  props(vpath: string): Readonly<Record<string, string>> {
    this.ensureOpen();
    return this.resolve(vpath)?.node.body.props ?? {};
  }

  /** props() of a path exactly as list() or stat() gave it (no normalising: a listing's hot path). */
  propsAt(treePath: string): Readonly<Record<string, string>> {
    this.ensureOpen();
    return this.getTree().byPath.get(treePath)?.node.body.props ?? {};
  }

  /**
   * Sets and removes dead properties of an entry, all or nothing, as a new version of its record.
   * USAGE when the result exceeds PROPS_LIMITS.
   */
  async setProps(vpath: string, set: Readonly<Record<string, string>>, remove: readonly string[] = []): Promise<EntryInfo> {
    return this.mutate(async () => {
      const r = this.mustResolve(vpath);
      if (r.node.conflict) throw new CofferError('USAGE', `${vpath} is a conflict copy; keep it (mv) before setting properties`);
      const next: Record<string, string> = { ...(r.node.body.props ?? {}) };
      for (const k of remove) delete next[k];
      Object.assign(next, set);
      if (!validProps(next)) throw new CofferError('USAGE', `the properties of ${vpath} would exceed the limits (256 properties, 64 KiB)`);
      const { props: _old, ...rest } = r.node.body;
      const body: RecordBody = { ...rest, version: r.node.body.version + 1, ...(Object.keys(next).length > 0 ? { props: next } : {}) };
      await this.writeRecord(body, r.node.file);
      await this.saveVersions({ [body.id]: body.version });
      return this.getTree().infoByFile.get(r.node.file) as EntryInfo;
    });
  }

  /** Renames or moves. If `to` is an existing folder, the entry moves into it. */
  async mv(from: string, to: string): Promise<EntryInfo> {
    return this.mutate(async () => {
      const src = this.mustResolve(from);
      const toParts = splitVaultPath(to);
      let parentId: string;
      let name: string;
      const target = this.resolve(to);
      if (toParts.length === 0 || (target && target.node.body.type === 'dir' && !target.node.conflict)) {
        parentId = toParts.length === 0 ? '' : (target as { node: Node }).node.body.id;
        name = normalizeName(src.node.body.name);
        const dest = [...toParts, src.info.name].join('/');
        if (this.resolve(dest) && dest !== src.info.path) throw new CofferError('EXISTS', `${dest} already exists`);
      } else {
        if (target && target.info.path !== src.info.path) throw new CofferError('EXISTS', `${to} already exists`);
        parentId = this.dirId(toParts.slice(0, -1).join('/'));
        name = toParts[toParts.length - 1] as string;
      }
      checkName(name);
      if (src.node.body.type === 'dir') {
        for (let p: string = parentId; p !== '';) {
          if (p === src.node.body.id) throw new CofferError('USAGE', `cannot move ${from} into itself`);
          const pn = [...this.records.values()].find((n) => !n.conflict && n.body.id === p);
          p = pn ? pn.body.parent : '';
        }
      }
      const versions: Record<string, number> = {};
      if (src.node.conflict || src.info.conflict) {
        // Keeping a conflict version: it becomes an entry of its own, then its copy file goes.
        const body: RecordBody = { ...src.node.body, id: newId(), parent: parentId, name, version: 1 };
        await this.writeRecord(body);
        versions[body.id] = 1;
        if (src.node.conflict) await this.deleteRecord(src.node);
        else if (src.node.body.type === 'file') {
          // a same-name duplicate or orphan: move the original record itself
          await this.deleteRecord(src.node);
          versions[src.node.body.id] = -(src.node.body.version + 1);
        }
      } else {
        const body: RecordBody = { ...src.node.body, parent: parentId, name, version: src.node.body.version + 1 };
        await this.writeRecord(body);
        versions[body.id] = body.version;
      }
      await this.saveVersions(versions);
      const dest = this.getTree();
      for (const v of dest.byPath.values()) if (v.node.body.parent === parentId && v.node.body.name === name) return v.info;
      return src.info;
    });
  }

  /**
   * Moves a file, or a folder with `recursive`, to the trash (versions.ts): `restoreFromTrash` brings it
   * back until retention collects it. `permanent` skips the trash: its content is released for collection.
   */
  async rm(vpath: string, opts: { recursive?: boolean; permanent?: boolean } = {}): Promise<{ files: number; folders: number; trashId: string }> {
    const r = await this.mutate(async () => {
      const target = this.mustResolve(vpath);
      const sub: { node: Node; info: EntryInfo }[] = [];
      if (target.node.body.type === 'dir' && !target.node.conflict) {
        const list = this.list(target.info.path, { recursive: true });
        if (list.length > 0 && !opts.recursive) throw new CofferError('USAGE', `${vpath} is a folder and not empty; use -r to remove it and everything in it`);
        const tree = this.getTree();
        for (const e of list.reverse()) sub.push(tree.byPath.get(e.path) as { node: Node; info: EntryInfo });
      }
      return this.versionStore.trashInMutation(target, sub);
    });
    if (opts.permanent) await this.versionStore.emptyTrash([r.trashId]);
    return r;
  }

  /* ------------------------------------------------------------------ versions and trash (versions.ts) */

  private clock: () => number = Date.now;
  private now(): number {
    return this.clock();
  }

  /** @internal openVault's `clock` option. */
  useClock(clock: () => number): void {
    this.clock = clock;
  }

  /** How long previous versions and trash entries are kept: the current epoch's setting, or the defaults. */
  get retention(): Retention {
    this.ensureOpen();
    return parseRetention(this.bodyOf(this.head).retention) ?? DEFAULT_RETENTION;
  }

  /** Changes the retention: a new epoch carries it (authenticated like every vault setting). */
  async setRetention(r: Retention): Promise<Retention> {
    const want = checkRetention(r);
    await this.mutate(() => this.newEpoch({ revoke: [], retention: want }));
    return this.retention;
  }

  private versionsCache: VersionStore<Node> | null = null;
  private get versionStore(): VersionStore<Node> {
    if (this.versionsCache) return this.versionsCache;
    const port: VersionPort<Node> = {
      name: this.name,
      storage: this.storage,
      now: () => this.now(),
      retention: () => this.retention,
      ensureOpen: () => this.ensureOpen(),
      mutate: (fn) => this.mutate(fn),
      nodes: () => [...this.records.values()],
      resolve: (vpath) => this.resolve(vpath),
      child: (parent, name) => this.childIndex().get(`${parent}\0${name.normalize('NFC')}`),
      infoOf: (file) => this.getTree().infoByFile.get(file),
      writeRecord: (body, file) => this.writeRecord(body, file),
      deleteRecord: (n) => this.deleteRecord(n),
      saveVersions: (v) => this.saveVersions(v),
      ensureDirs: (parts, versions) => this.ensureDirs(parts, versions),
      unreadableIds: () => {
        const ids = new Set<string>();
        for (const p of this.loadProblems) {
          if (!p.object.startsWith(`${RECORDS}/`)) continue;
          const n = parseObjectName(p.object.slice(RECORDS.length + 1), '.rec', HEX32);
          if (n) ids.add(n.id);
        }
        return ids;
      },
      decryptTo: (body, out, signal) => this.withFileKeys([body], () => this.decryptBlobTo(body, out, undefined, signal)),
    };
    this.versionsCache = new VersionStore(port);
    return this.versionsCache;
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

  /* ------------------------------------------------------------------ epochs and members */

  /**
   * Makes a new epoch: a fresh VK wrapped for every remaining member, older keys chained, then (if
   * asked) every record re-encrypted under it. Order: wraps, then the epoch (the commit point), then
   * slots and records; a crash before the commit leaves only leftovers, after it a readable vault.
   */
  private async newEpoch(opts: { revoke: string[]; retention?: Retention; anchor?: 'advance' | 'carry'; anchorSlot?: string }): Promise<RotateResult> {
    const t0 = Date.now();
    const na = sodium();
    // Parents: the current epoch and the heads to join; never a fork (history.ts).
    const parents = [this.head, ...this.joinable];
    const members = this.memberSlots().filter((m) => m.status === 'active' && !opts.revoke.includes(m.slot.obj.body.slot));
    if (members.length === 0) throw new CofferError('USAGE', 'this would leave the vault with no way in; add another slot first');
    // The Transit freshness anchor (anchor.ts): permanent once set, so every new epoch carries it; a
    // rotation or revocation ("advance") first rotates the Transit key, and raises min_decryption_version
    // to the new version once the epoch is committed.
    const inherited = parents.map((p) => this.transitAnchorAt(p)).filter((x) => x !== null)
      .sort((a, b) => this.bodyOf(b.epoch).n - this.bodyOf(a.epoch).n)[0]?.anchor;
    const anchorSlotId = opts.anchorSlot ?? inherited?.slot;
    let anchorPlan: { slot: string; recipient: string; ref: { mount: string; key: string }; version: number; client: ReturnType<typeof anchorClient> | null } | null = null;
    if (anchorSlotId !== undefined) {
      const m = members.find((x) => x.slot.obj.body.slot === anchorSlotId && x.slot.obj.body.type === 'vault-transit');
      if (!m) {
        throw new CofferError('VAULT_INVALID', `vault ${this.name} is anchored to Vault Transit slot ${anchorSlotId}, which is no longer an active member, so no new epoch can be anchored; grant that Transit key again (coffer vault grant DIR --transit-key NAME) or ask the vault's owner`);
      }
      const recipient = m.slot.obj.body.recipient;
      anchorPlan = { slot: anchorSlotId, recipient, ref: parseTransitRecipientString(recipient).ref, version: 0, client: null };
      if (opts.anchor === 'advance') {
        const name = `${anchorPlan.ref.mount}/${anchorPlan.ref.key}`;
        try {
          anchorPlan.client = anchorClient(recipient);
          await anchorPlan.client.rotateKey(anchorPlan.ref);
        } catch (e) {
          if (!isCofferError(e)) throw e;
          throw new CofferError(e.code, `vault ${this.name} is anchored to Vault Transit key ${name}: this change must rotate that key (transit/keys/${anchorPlan.ref.key}/rotate) and could not: ${e.message} Nothing was changed.`);
        }
      }
    }
    const revokedFps = this.memberSlots().filter((m) => opts.revoke.includes(m.slot.obj.body.slot)).map((m) => m.slot.obj.body.fingerprint).filter((f) => f !== '');
    // Numbered after the trusted history only: a planted epoch with a huge number changes nothing.
    const n = Math.max(...[...this.trusted].map((e) => this.bodyOf(e).n)) + 1;
    const eid = newEpochId(n);
    const vk = na.secureAlloc(VAULT_KEY_BYTES);
    vk.set(na.randomBytes(VAULT_KEY_BYTES));
    const keys = new EpochKeys(eid, vk, this.id);
    const revoking = opts.revoke.length > 0;
    let epochText = '';
    // A vault setting carried from epoch to epoch (versions.ts); changed only by setRetention.
    const retention = opts.retention ?? parseRetention(this.bodyOf(this.head).retention) ?? undefined;
    const intent = await this.writeIntent('epoch', [epochKey(eid), ...(revoking ? [manifestKey(eid)] : []), ...members.map((m) => wrapKeyName(m.slot.obj.body.slot, eid))]);
    let kept: Set<string> | null = null;
    try {
      let manifest: string | undefined;
      if (revoking) {
        // The records known now: after this revocation, records under the epochs it closes count
        // only if listed here (a removed member still holds those epochs' keys).
        const text = manifestText(eid, [...this.records.values()].map((r) => sha256hex(Buffer.from(r.tag, 'latin1'))));
        await this.storage.put(manifestKey(eid), text);
        manifest = sha256hex(Buffer.from(text, 'latin1'));
        kept = parseManifest(text, eid);
      }
      for (const m of members) {
        const stanzas = await this.writeWrap(m.slot.obj.body, eid, vk);
        if (anchorPlan && m.slot.obj.body.slot === anchorPlan.slot) {
          const found = transitStanzaFor(stanzas, anchorPlan.ref);
          if (!found) throw new CofferError('INTERNAL', `the Transit wrap for slot ${anchorPlan.slot} has no stanza for ${anchorPlan.ref.mount}/${anchorPlan.ref.key}`);
          anchorPlan.version = found.version;
        }
      }
      const chain: Record<string, string> = {};
      for (const p of parents) chain[p] = sealChain(keys, p, (this.keyring.get(p) as EpochKeys).vk);
      const body: EpochBody = {
        v: 2, vault: this.id, epoch: eid, n, parents, created: nowIso(), descriptor: sha256hex(this.descBytes), chain,
        members: members.map((m) => m.slot.obj.body.slot), revoked: [...opts.revoke], revokedFingerprints: revokedFps,
        memberKeys: Object.fromEntries(members.map((m) => [m.slot.obj.body.slot, sha256hex(Buffer.from(m.slot.obj.body.recipient, 'utf8'))])),
        ...(manifest ? { manifest } : {}),
        ...(anchorPlan ? { anchor: { transit: { slot: anchorPlan.slot, key: `${anchorPlan.ref.mount}/${anchorPlan.ref.key}`, version: anchorPlan.version } } } : {}),
        ...(retention ? { retention } : {}),
      };
      const signed = signObject('epoch', body, keys.mac);
      epochText = signed;
      await this.storage.put(epochKey(eid), signed);
      this.epochs.set(eid, { id: eid, obj: parseSignedObject<EpochBody>(signed, 'epoch') });
      this.keyring.set(eid, keys);
      this.links.set(eid, parents);
      this.ancestry = new Ancestry(this.links);
      this.trusted.add(eid);
      this.joinable = [];
      this.head = eid;
      if (revoking) {
        this.revocations = [...this.revocations, eid].sort();
        this.revocationsKey = this.revocations.join();
        this.manifests.set(eid, kept);
      }
      await updateMemory(this.stateDir, this.id, { epochN: n, epochId: eid, revocations: revoking ? [eid] : [] });
    } catch (e) {
      await this.storage.delete(intent).catch(() => undefined);
      throw e;
    }
    // Committed. The anchors follow: Transit's min_decryption_version, then the hardware keys present.
    await this.advanceAnchors(eid, n, epochText, anchorPlan, opts.anchor === 'advance' ? 'update' : 'quiet');
    // Re-sign remaining slots under the new epoch; drop the revoked ones and their wraps.
    for (const m of members) {
      const b: SlotBody = { ...m.slot.obj.body, epoch: eid };
      const text = signObject('slot', b, keys.mac);
      await this.storage.put(slotKey(b.slot), text);
    }
    for (const sid of opts.revoke) {
      for (const s of this.slots.filter((x) => x.name.id === sid)) await this.storage.delete(`${SLOTS}/${s.file}`);
      for (const o of await this.storage.list(KEYS)) if (o.name.startsWith(`${sid}.`)) await this.storage.delete(`${KEYS}/${o.name}`);
    }
    await this.loadSlots();
    this.verifySlots();
    // Records are not re-sealed: the new epoch's chain reaches the keys they are under, and after a
    // revocation its manifest vouches for them (docs/FORMAT.md §6.8). Cost: the wraps, not the entries.
    const records = this.records.size;
    await this.storage.delete(intent);
    return { epoch: eid, previous: parents, records, slots: members.length, blobsReencrypted: 0, ms: Date.now() - t0 };
  }

  /**
   * After a committed epoch: raises the Transit anchor, and updates the hardware anchors that exist on
   * the tokens given (`hw`: 'create' also creates one; 'update' may ask for a PIN, as a rotation or
   * revocation is an explicit act with the token given; 'quiet' only where the PIN is held, so an
   * automatic join never prompts). Failures are warnings: the epoch is already made.
   */
  private async advanceAnchors(eid: string, n: number, epochText: string, plan: { recipient: string; ref: { mount: string; key: string }; version: number; client: ReturnType<typeof anchorClient> | null } | null, hw: 'create' | 'update' | 'quiet'): Promise<void> {
    const hwCreate = hw === 'create';
    if (plan?.client) {
      try {
        await plan.client.setMinDecryptionVersion(plan.ref, plan.version);
      } catch (e) {
        if (!isCofferError(e)) throw e;
        this.openWarnings.push(`epoch ${eid} is made, but min_decryption_version of Vault Transit key ${plan.ref.mount}/${plan.ref.key} could not be raised to ${plan.version} (${e.message}); until it is, older copies of the folder are not refused. The next open with Vault reachable, or the next change, retries`);
      }
    }
    for (const id of hardwareIdentities(this.credentials.identities)) {
      if (hw === 'quiet' && !id.hasPin) continue;
      try {
        const wrote = await writeHardwareAnchor(id, { v: 1, vault: this.id, epoch: eid, n, hash: epochFileHash(epochText) }, this.ui, !hwCreate);
        if (wrote && hwCreate) this.freshness.push(`hardware key ${id.tokenName}`);
      } catch (e) {
        if (!isCofferError(e)) throw e;
        this.openWarnings.push(`epoch ${eid} is made, but the freshness anchor on ${id.tokenName} could not be updated (${e.message}); run coffer vault anchor DIR --hwkey with the token present`);
        if (hwCreate) throw e;
      }
    }
  }

  /**
   * Anchors the vault's freshness to its Vault Transit slot (`slotId`, or the only one): a new epoch
   * (rotating the Transit key, then raising min_decryption_version to the new version), and every later
   * rotation and revocation does the same. The Transit key must be dedicated to this vault: raising
   * min_decryption_version makes anything else it wrapped under older versions undecryptable.
   * Permanent: the anchor cannot be removed (a forged epoch could otherwise remove it).
   */
  async anchorTransit(slotId?: string): Promise<RotateResult & { anchor: TransitAnchor }> {
    return this.mutate(async () => {
      const transit = this.memberSlots().filter((m) => m.status === 'active' && m.slot.obj.body.type === 'vault-transit' && (slotId === undefined || m.slot.obj.body.slot === slotId));
      if (transit.length === 0) throw new CofferError('USAGE', slotId ? `vault ${this.name} has no active Vault Transit slot ${slotId} (see: coffer vault members)` : `vault ${this.name} has no Vault Transit slot to anchor to; add one first (coffer vault grant DIR --transit-key NAME --anchor)`);
      if (transit.length > 1) throw new CofferError('USAGE', `vault ${this.name} has ${transit.length} Vault Transit slots; say which one anchors it (--slot ${transit.map((t) => t.slot.obj.body.slot).join(' or --slot ')})`);
      const slot = (transit[0] as { slot: SlotObj }).slot.obj.body;
      const current = this.transitAnchorAt(this.head)?.anchor;
      if (current && current.slot !== slot.slot) throw new CofferError('EXISTS', `vault ${this.name} is already anchored to Vault Transit key ${current.key} (slot ${current.slot}); an anchor is permanent`);
      const ref = parseTransitRecipientString(slot.recipient).ref;
      if (this.desc.strict) {
        const g = parseTransitRecipientString(this.desc.strict).ref;
        if (g.mount === ref.mount && g.key === ref.key) {
          throw new CofferError('USAGE', `Transit key ${ref.mount}/${ref.key} also seals this strict vault's file keys; anchoring raises its min_decryption_version, which would make older sealed keys unreadable. Anchor to a separate key dedicated to this vault`);
        }
      }
      const r = await this.newEpoch({ revoke: [], anchor: 'advance', anchorSlot: slot.slot });
      const a = this.bodyOf(r.epoch).anchor?.transit as TransitAnchor;
      this.freshness.push(`Vault Transit key ${a.key}`);
      return { ...r, anchor: a };
    });
  }

  /**
   * Writes this vault's freshness anchor (the current epoch) to every hardware key given to unlock it;
   * later rotations and revocations made with the token present update it. Returns the tokens written.
   */
  async anchorHardware(): Promise<string[]> {
    return this.mutate(async () => {
      const ids = hardwareIdentities(this.credentials.identities);
      if (ids.length === 0) throw new CofferError('USAGE', `give the hardware key to anchor vault ${this.name} to with -i STUB (its identity stub) and have the token present`);
      const e = this.epochs.get(this.head) as EpochObj;
      await this.advanceAnchors(this.head, e.obj.body.n, `${e.obj.text}\nmac: ${encodeB64(e.obj.mac)}\n`, null, 'create');
      return ids.map((i) => i.tokenName);
    });
  }

  /**
   * Moves a format 1 vault to format 2 (docs/FORMAT.md §6.14): the descriptor first (so builds that
   * read only format 1 stop touching the folder), then a new epoch bound to it. Runs on the first
   * change; `migrate()` asks for it explicitly.
   */
  private async migrateNow(): Promise<void> {
    if (this.desc.version !== VAULT_VERSION) {
      const desc: VaultDescriptor = { ...this.desc, version: VAULT_VERSION };
      const bytes = descriptorBytes(desc);
      await this.storage.put(DESCRIPTOR_KEY, bytes);
      this.desc = desc;
      this.descBytes = bytes;
    }
    await this.newEpoch({ revoke: [], anchor: 'carry' });
    this.needsMigration = false;
  }

  /** Migrates a format 1 vault to format 2 now; false if it already was format 2. */
  async migrate(): Promise<boolean> {
    this.ensureOpen();
    const was = this.formatVersion;
    await this.mutate(() => Promise.resolve());
    return was !== VAULT_VERSION;
  }

  /**
   * A new epoch: a new vault key wrapped for every member, the older keys chained; records and content
   * untouched (records under older epochs are reached through the chain), so the cost does not grow
   * with the number of entries. `records` in the result counts the records the new epoch carries over.
   */
  async rotate(opts: OpProgress = {}): Promise<RotateResult> {
    throwIfAborted(opts.signal);
    return this.mutate(() => this.newEpoch({ revoke: [], anchor: 'advance' }));
  }

  /** Members (key slots) and pending access requests. */
  async members(): Promise<{ slots: SlotInfo[]; requests: AccessRequest[] }> {
    this.ensureOpen();
    const slots = this.memberSlots().map(({ slot, status }): SlotInfo => {
      const b = slot.obj.body;
      return { id: b.slot, type: b.type, label: b.label, fingerprint: b.fingerprint, created: b.created, status, current: this.openedBy.has(b.slot) };
    });
    slots.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
    return { slots, requests: await this.requests() };
  }

  private async requests(): Promise<AccessRequest[]> {
    const out: AccessRequest[] = [];
    for (const o of await this.storage.list(REQUESTS)) {
      const n = parseObjectName(o.name, '.req', HEX12);
      if (!n) continue;
      try {
        const r = JSON.parse(((await this.storage.get(`${REQUESTS}/${o.name}`)) ?? Buffer.alloc(0)).toString('utf8')) as AccessRequest;
        const rec = parseRecipient(r.recipient);
        out.push({ id: n.id, name: String(r.name).slice(0, 200), recipient: r.recipient, fingerprint: rec.fingerprint ?? '', created: String(r.created) });
      } catch {
        /* malformed requests are ignored */
      }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  /**
   * Adds a member: `recipient` is a recipient string or the id of a pending access request.
   * No content is re-encrypted: the current VK is wrapped for them (older epochs are reachable through the chain).
   */
  async grant(recipient: string, opts: { label?: string } = {}): Promise<SlotInfo> {
    return this.mutate(async () => {
      const reqs = await this.requests();
      const req = reqs.find((r) => r.id === recipient.trim() || r.recipient === recipient.trim());
      const text = req ? req.recipient : recipient.trim();
      const r: Recipient = parseRecipient(text);
      const type = slotTypeForRecipient(r);
      const existing = this.memberSlots().find((m) => m.slot.obj.body.recipient === text);
      const label = opts.label ?? req?.name ?? existing?.slot.obj.body.label ?? `member ${r.fingerprint ?? ''}`.trim();
      const body: SlotBody = {
        v: 1, vault: this.id, slot: existing?.slot.obj.body.slot ?? newSlotId(), type, label, fingerprint: r.fingerprint ?? '',
        created: existing?.slot.obj.body.created ?? nowIso(), epoch: this.head, recipient: text,
      };
      if (existing && existing.status === 'active') throw new CofferError('EXISTS', `${text.slice(0, 24)}… is already a member (slot ${body.slot})`);
      await this.writeWrap(body, this.head, this.headKeys().vk);
      await this.storage.put(slotKey(body.slot), signObject('slot', body, this.headKeys().mac));
      for (const q of reqs.filter((x) => x.recipient === text)) await this.storage.delete(`${REQUESTS}/${q.id}.req`);
      await this.loadSlots();
      this.verifySlots();
      return { id: body.slot, type, label, fingerprint: body.fingerprint, created: body.created, status: 'active', current: false };
    });
  }

  /**
   * Removes a slot, then rotates (new epoch without it, listing the records it keeps). With `reencrypt`,
   * every file's content is also re-encrypted under a new file key, because the removed member may
   * have kept file keys of files they opened before; without it those old versions stay readable to them.
   */
  async revoke(slotId: string, opts: OpProgress & { reencrypt?: boolean } = {}): Promise<RotateResult> {
    return this.mutate(async () => {
      const m = this.memberSlots().find((s) => s.slot.obj.body.slot === slotId);
      if (!m) throw new CofferError('NOT_FOUND', `vault ${this.name} has no slot ${slotId} (see: coffer vault members)`);
      const anchored = this.transitAnchorAt(this.head)?.anchor;
      if (anchored?.slot === slotId) {
        throw new CofferError('USAGE', `slot ${slotId} (Vault Transit key ${anchored.key}) anchors the freshness of vault ${this.name} and cannot be revoked: an anchor is permanent. To stop using that key, move the files to a new vault`);
      }
      this.revokedHere.add(slotId);
      const r = await this.newEpoch({ revoke: [slotId], anchor: 'advance' });
      if (!opts.reencrypt) return r;
      const n = await this.reencryptAll(opts);
      return { ...r, records: n.records, blobsReencrypted: n.blobs, ms: r.ms + n.ms };
    });
  }

  /** Re-encrypts every file's content under a new file key and rewrites every record (inside a mutation). */
  private async reencryptAll(opts: OpProgress): Promise<{ records: number; blobs: number; ms: number }> {
    const t0 = Date.now();
    const all = [...this.records.values()];
    const progress = new ProgressTracker(opts.onProgress);
    progress.setTotals(all.length, all.reduce((a, r) => a + r.body.size, 0));
    // Every blob a record keeps alive: current content and previous versions (versions.ts), each with the
    // key and size that open it. Released blobs (awaiting collection) are deleted below, not re-encrypted.
    const sources = new Map<string, RecordBody>();
    for (const r of all) {
      const b = r.body;
      if (b.type !== 'file') continue;
      if (liveBlobs(b).includes(b.blob as string)) sources.set(b.blob as string, b);
      for (const h of b.history ?? []) if (!sources.has(h.blob)) sources.set(h.blob, { ...b, key: h.key, size: h.size, blob: h.blob });
    }
    const newBlobs = new Map<string, string>();
    for (const blob of sources.keys()) newBlobs.set(blob, newId());
    const intent = await this.writeIntent('reencrypt', [...newBlobs.values()].map(blobKey));
    const keyFor = new Map<string, string>();
    const stagedNew: { staged: StagedObject; key: string }[] = [];
    let blobs = 0;
    await this.withFileKeys([...sources.values()], () => runPool([...newBlobs.entries()], defaultConcurrency(), async ([oldB, newB]) => {
      const owner = { body: sources.get(oldB) as RecordBody };
      const na = sodium();
      const k = na.secureAlloc(32);
      k.set(na.randomBytes(32));
      const oldK = await this.fileKey(owner.body);
      let last = 0;
      const src = this.storage.getStream(blobKey(oldB), payloadSize(owner.body.size)).pipe(decryptPayload(oldK, (n) => {
        progress.addBytes(n - last);
        last = n;
      }));
      stagedNew.push({ staged: await this.storage.stage(src.pipe(encryptPayload(k)), opts.signal), key: blobKey(newB) });
      if (stagedNew.length >= 512) await this.storage.commit(stagedNew.splice(0));
      keyFor.set(oldB, encodeB64(k));
      na.memzero(k);
      na.memzero(oldK);
      blobs++;
    }, opts.signal).catch(async (e: unknown) => {
      for (const x of stagedNew.splice(0)) await this.storage.discard(x.staged);
      throw e;
    }));
    await this.storage.commit(stagedNew.splice(0));
    if (this.keyGuard) {
      // Strict vaults: the new file keys are sealed in one batch before any record names them.
      const olds = [...keyFor.keys()];
      const sealed = await this.sealBodies(olds.map((b) => ({ body: { v: 1, id: b, type: 'file', parent: '', name: b, size: 0, mtime: 0, version: 1, key: keyFor.get(b) as string, blob: b } as RecordBody })));
      sealed.forEach((x, i) => keyFor.set(olds[i] as string, x.body.key as string));
    }
    const versions: Record<string, number> = {};
    const releasedOld = new Set<string>();
    let records = 0;
    for (let i = 0; i < all.length; i += 1024) {
      const part = all.slice(i, i + 1024).map((r) => {
        let b = r.body;
        if (b.type === 'file' && b.blob && newBlobs.has(b.blob)) b = { ...b, blob: newBlobs.get(b.blob) as string, key: keyFor.get(b.blob) as string, version: b.version + 1 };
        else b = { ...b, version: b.version + 1 };
        if (b.history) b = { ...b, history: b.history.map((h) => ({ ...h, blob: newBlobs.get(h.blob) as string, key: keyFor.get(h.blob) as string })) };
        if (b.released) {
          for (const x of b.released) releasedOld.add(x.blob);
          const { released: _r, ...rest } = b;
          b = rest;
        }
        return { r, b, text: sealRecord(this.headKeys(), b.id, Buffer.from(JSON.stringify(b), 'utf8')) };
      });
      await this.storage.putMany(part.map((x) => ({ key: `${RECORDS}/${x.r.file}`, data: x.text })));
      for (const { r, b, text } of part) {
        this.records.set(r.file, { ...r, tag: text, body: b });
        this.recordEpochs.set(r.file, this.head);
        if (!r.conflict) versions[b.id] = b.version;
        records++;
        progress.fileDone();
      }
    }
    for (const oldB of new Set([...newBlobs.keys(), ...releasedOld])) await this.storage.delete(blobKey(oldB));
    await this.storage.delete(intent);
    await this.saveVersions(versions);
    this.tree = null;
    progress.finish();
    return { records, blobs, ms: Date.now() - t0 };
  }

  /**
   * Changes the passphrase of the passphrase slot that opened the vault (or `slotId`); if the vault
   * was opened another way and has no such slot, adds a passphrase slot. Content is not touched.
   */
  async passwd(newPassphrase: string, opts: { kdf?: Argon2Params; slotId?: string } = {}): Promise<SlotInfo> {
    return this.mutate(async () => {
      const passSlots = this.memberSlots().filter((m) => m.slot.obj.body.type === 'passphrase' && m.status === 'active');
      const target = opts.slotId
        ? passSlots.find((m) => m.slot.obj.body.slot === opts.slotId)
        : passSlots.find((m) => this.slotSecrets.has(m.slot.obj.body.slot));
      if (opts.slotId && !target) throw new CofferError('NOT_FOUND', `no passphrase slot ${opts.slotId}`);
      let body: SlotBody;
      if (target) {
        const sk = this.slotSecrets.get(target.slot.obj.body.slot);
        if (!sk) throw new CofferError('WRONG_PASSPHRASE', `unlock with slot ${target.slot.obj.body.slot}'s current passphrase to change it`);
        body = { ...target.slot.obj.body, epoch: this.head, secret: wrapSlotSecret(sk, newPassphrase, opts.kdf) };
      } else {
        const p = newPassphraseSlotKeys(newPassphrase, opts.kdf);
        body = { v: 1, vault: this.id, slot: newSlotId(), type: 'passphrase', label: 'passphrase', fingerprint: p.recipient.fingerprint, created: nowIso(), epoch: this.head, recipient: p.recipient.toString(), secret: p.secret };
        await this.writeWrap(body, this.head, this.headKeys().vk);
        this.slotSecrets.set(body.slot, p.secretKey);
      }
      await this.storage.put(slotKey(body.slot), signObject('slot', body, this.headKeys().mac));
      await this.loadSlots();
      this.verifySlots();
      return { id: body.slot, type: body.type, label: body.label, fingerprint: body.fingerprint, created: body.created, status: 'active', current: true };
    });
  }

  /**
   * One file out of the vault as a standalone coffer file for `recipients`: a new header wrapping the
   * file's K, followed by the blob's payload bytes copied unchanged (not re-encrypted).
   */
  async export(vpath: string, recipients: readonly Recipient[], out: string | Writable, opts: { overwrite?: boolean } = {}): Promise<{ bytes: number }> {
    this.ensureOpen();
    const r = this.mustResolve(vpath);
    if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder; export takes one file`);
    const k = await this.fileKey(r.node.body);
    let header: Buffer;
    try {
      header = encodeHeader(await wrapKey(k, recipients), k);
    } finally {
      sodium().memzero(k);
    }
    const copy = async (w: Writable): Promise<number> => {
      let n = header.length;
      const src = this.storage.getStream(blobKey(r.node.body.blob as string), payloadSize(r.node.body.size));
      async function* gen(): AsyncGenerator<Buffer> {
        yield header;
        for await (const c of src as AsyncIterable<Buffer>) {
          n += c.length;
          yield c;
        }
      }
      await pipeline(gen, w);
      return n;
    };
    if (typeof out !== 'string') return { bytes: await copy(out) };
    if (!opts.overwrite && (await lstat(out).catch(() => null))) throw new CofferError('EXISTS', `${out} already exists`);
    await sweepPartials(path.dirname(out));
    const tmp = partialPath(out);
    try {
      const bytes = await copy(createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      await rename(tmp, out);
      return { bytes };
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  /* ------------------------------------------------------------------ verify */

  /**
   * Authenticates every record and every blob (full decryption), and reports problems by path.
   * With `repair`, removes only leftovers proven unreferenced: temp files and intents of dead
   * processes on this host, blobs and key wraps that such an intent created and nothing references.
   */
  async verify(opts: OpProgress & { repair?: boolean } = {}): Promise<VerifyReport> {
    this.ensureOpen();
    // Repair first removes this host's temp files of dead processes, before taking the lock (whose
    // file needs space when a killed writer filled the disk), and reports them.
    const swept = opts.repair ? ((await this.storage.sweepTemp?.()) ?? []) : [];
    const release = await this.storage.lock();
    try {
      await this.load();
      const problems: VaultProblem[] = [...this.loadProblems];
      const repaired: string[] = [...swept];
      const tree = this.getTree();
      const pathOf = (n: Node): string | null => tree.infoByFile.get(n.file)?.path ?? null;
      // Records: conflicts, orphans. (Records under older epochs of the history are normal: rotation does
      // not re-seal them.)
      for (const n of this.records.values()) {
        const info = tree.infoByFile.get(n.file);
        if (info?.conflict) {
          problems.push({ severity: 'warning', code: 'CONFLICT', object: `${RECORDS}/${n.file}`, path: info.path, message: info.conflict.source === 'orphan' ? `its folder is gone (removed on another copy?); shown at the top level` : `a second version (${info.conflict.source}) is kept beside the original; keep it with mv or remove it with rm`, repairable: false });
        }
      }
      for (const n of this.records.values()) {
        if (n.conflict && isLive(n.body) && !tree.infoByFile.has(n.file)) {
          problems.push({ severity: 'info', code: 'CONFLICT', object: `${RECORDS}/${n.file}`, path: null, message: 'conflict copy identical to its original', repairable: true });
        }
      }
      // Blobs: every referenced blob decrypts completely.
      // Previous versions and trash entries too (versions.ts); purged entries keep nothing alive.
      const files: { n: Node; body: RecordBody; label: string }[] = [];
      for (const n of this.records.values()) {
        const b = n.body;
        if (b.type !== 'file') continue;
        const where = pathOf(n) ?? (b.trashed ? `${b.trashed.path || b.name} (in the trash)` : null);
        if (liveBlobs(b).includes(b.blob as string)) files.push({ n, body: b, label: where ?? '' });
        for (const h of b.history ?? []) files.push({ n, body: { ...b, key: h.key, size: h.size, blob: h.blob }, label: `${where ?? b.name} (version ${h.version})` });
      }
      const progress = new ProgressTracker(opts.onProgress);
      progress.setTotals(files.length, files.reduce((a, f) => a + f.body.size, 0));
      let bytes = 0;
      // Strict vaults: file keys are opened in batches first, not one Vault request per file.
      await this.withFileKeys(files.map((f) => f.body), () => runPool(files, defaultConcurrency(), async (f) => {
        try {
          const sink = new Writable({ write: (_c, _e, cb) => cb() });
          const got = await this.decryptBlobTo(f.body, sink, (d) => progress.addBytes(d), opts.signal);
          bytes += got;
        } catch (e) {
          if (isCofferError(e) && e.code === 'CANCELLED') throw e;
          const info = isCofferError(e) ? e : new CofferError('IO', (e as Error).message);
          problems.push({ severity: 'error', code: info.code, object: blobKey(f.body.blob as string), path: f.label || null, message: info.message, repairable: false });
        }
        progress.fileDone();
      }, opts.signal), true);
      // Leftovers.
      const deadIntents: { key: string; objects: Set<string> }[] = [];
      for (const o of await this.storage.list(TMP_FOLDER)) {
        if (o.name === 'lock') continue;
        const key = `${TMP_FOLDER}/${o.name}`;
        // Only coffer's own leftovers are ever removed: regular files named by its scheme
        // (HOST~PID~RANDOM.tmp|.intent) whose process is gone. Anything else is reported and left alone.
        const kind = o.regular === false ? null : ownTempKind(o.name);
        if (kind === null) {
          problems.push({ severity: 'warning', code: 'UNKNOWN_FILE', object: key, path: null, message: o.regular === false ? 'a link or special file, not coffer\'s (left alone)' : 'not a coffer temp file (left alone)', repairable: false });
          continue;
        }
        const owner = ownerOf(o.name);
        const dead = owner ? owner.host === thisHost() && !pidAlive(owner.pid) : false;
        const old = owner !== null && owner.host !== thisHost() && Date.now() - o.mtimeMs > 7 * 24 * 3600 * 1000;
        if (kind === 'intent' && dead) {
          let objects: string[] = [];
          try {
            objects = (JSON.parse(((await this.storage.get(key)) ?? Buffer.alloc(0)).toString('utf8')) as { objects: string[] }).objects ?? [];
          } catch {
            objects = [];
          }
          deadIntents.push({ key, objects: new Set(objects) });
        }
        if (dead || old) problems.push({ severity: 'error', code: 'LEFTOVER', object: key, path: null, message: o.name.endsWith('.intent') ? 'record of an interrupted operation' : 'temporary file of an interrupted operation', repairable: true });
      }
      const proven = (obj: string): boolean => deadIntents.some((d) => d.objects.has(obj));
      // Released blobs (awaiting collection after the sync grace) are named too: not leftovers.
      const referenced = new Set([...this.records.values()].flatMap((n) => namedBlobs(n.body)).map((b) => `${b}.blob`));
      let blobCount = 0;
      for (const o of await this.storage.list(BLOBS)) {
        const n = parseObjectName(o.name, '.blob', HEX32);
        const key = `${BLOBS}/${o.name}`;
        if (!n || n.conflict) {
          problems.push({ severity: 'warning', code: 'UNKNOWN_FILE', object: key, path: null, message: 'not a blob name (left alone)', repairable: false });
          continue;
        }
        blobCount++;
        if (referenced.has(o.name)) continue;
        const p = proven(key);
        problems.push({ severity: p ? 'error' : 'warning', code: 'LEFTOVER', object: key, path: null, message: p ? 'content of an interrupted add; no entry refers to it' : 'no entry refers to this blob (maybe its record has not synced yet); left alone', repairable: p && o.regular !== false });
      }
      const epochIds = new Set(this.epochs.keys());
      const slotIds = new Set(this.slots.map((s) => s.name.id));
      for (const o of await this.storage.list(KEYS)) {
        const m = /^([0-9a-f]{12})\.([0-9]{8}-[0-9a-f]{8})\.key$/.exec(o.name);
        const key = `${KEYS}/${o.name}`;
        if (o.regular === false) {
          problems.push({ severity: 'error', code: 'VAULT_TAMPERED', object: key, path: null, message: 'a link or special file where a key wrap should be (never read; remove it)', repairable: false });
          continue;
        }
        if (!m) continue;
        if (epochIds.has(m[2] as string) && slotIds.has(m[1] as string)) continue;
        const p = proven(key) || proven(epochKey(m[2] as string));
        problems.push({ severity: p ? 'error' : 'warning', code: 'LEFTOVER', object: key, path: null, message: p ? 'key wrap of an interrupted rotation' : 'key wrap for an unknown slot or epoch (maybe not synced yet); left alone', repairable: p && !epochIds.has(m[2] as string) });
      }
      let report = problems;
      if (opts.repair) {
        for (const p of problems.filter((x) => x.repairable)) {
          await this.storage.delete(p.object);
          repaired.push(p.object);
        }
        report = problems.filter((x) => !x.repairable);
      }
      progress.finish();
      const ok = !report.some((p) => p.severity === 'error');
      return { ok, records: this.records.size, blobs: blobCount, bytes, problems: report, repaired };
    } finally {
      await release();
    }
  }
}

