/**
 * Versions and trash (docs/FORMAT.md §6.16). Blobs are immutable, so history is cheap: a replaced file
 * keeps its previous versions in its own record (`history`), and a deleted entry stays in its record,
 * marked `trashed`, until it is restored or collected. Both are kept for the vault's retention (the
 * current epoch's `retention`, default 30 days and 10 versions), then collected.
 *
 * Collection is in two steps, so that it is safe with sync clients: what leaves a record (an expired
 * version, an emptied trash entry) is first listed in that record's `released`; its blob is deleted only
 * by a later collection, once SYNC_GRACE_MS has passed, and only if no verified record names it then
 * (current content, a kept version or a trash entry: a copy restored on another machine meanwhile shows
 * up as a record or a conflict copy naming it) and no record file of the same entry failed to load (an
 * unverifiable copy might name it; collection waits rather than act on what it cannot check). Deletion
 * is only ever decided from verified records: a forged record cannot name a blob to delete.
 *
 * Vault (vault.ts) owns loading, locking and writing records; this module works through `VersionPort`.
 */
import { createWriteStream } from 'node:fs';
import { lstat, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { CofferError } from '../errors';
import { partialPath, sweepPartials } from './confine';
import { ID_RE, newId } from './names';
import type { VaultStorage } from './storage';
import type { EntryInfo, HistoryItem, RecordBody, ReleasedBlob, TrashMark } from './types';

export const DAY_MS = 86_400_000;

/** How long previous versions and trash entries are kept (a vault setting, in its current epoch). */
export interface Retention {
  /** Previous versions and trash entries older than this many days are collected (1–3650). */
  readonly days: number;
  /** At most this many previous versions per file are kept (0–100; 0 keeps none). */
  readonly versions: number;
}

export const DEFAULT_RETENTION: Retention = { days: 30, versions: 10 };
export const RETENTION_BOUNDS = { minDays: 1, maxDays: 3650, maxVersions: 100 } as const;

/**
 * A blob released by a record is deleted only this long after: a record naming it that another
 * machine wrote meanwhile (a restore there) has this long to arrive through the sync client.
 */
export const SYNC_GRACE_MS = DAY_MS;

/** Bounds on the record fields of this module (checked when reading a record). */
export const HISTORY_LIMITS = { items: 1000, released: 10_000, pathBytes: 65_536 } as const;

const MAX_TIME = 8.64e15;
// What names may not hold (validate.ts): a trash path is shown and printed like a name.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_PATH = /[\u0000-\u001f\u007f-\u009f\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= MAX_TIME;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A retention value from an epoch, or null when absent or out of bounds. */
export function parseRetention(x: unknown): Retention | null {
  if (!isObject(x)) return null;
  const { days, versions } = x;
  if (typeof days !== 'number' || !Number.isSafeInteger(days) || days < RETENTION_BOUNDS.minDays || days > RETENTION_BOUNDS.maxDays) return null;
  if (typeof versions !== 'number' || !Number.isSafeInteger(versions) || versions < 0 || versions > RETENTION_BOUNDS.maxVersions) return null;
  return { days, versions };
}

/** Checks a retention a person asked for; USAGE naming the bounds otherwise. */
export function checkRetention(r: Retention): Retention {
  const ok = parseRetention(r);
  if (!ok) {
    throw new CofferError('USAGE', `retention must be ${RETENTION_BOUNDS.minDays}–${RETENTION_BOUNDS.maxDays} days and 0–${RETENTION_BOUNDS.maxVersions} versions (got ${String(r.days)} days, ${String(r.versions)} versions)`);
  }
  return ok;
}

/** Why the history, trash and released fields of a record are invalid, or null (validate.ts calls this). */
export function historyProblem(b: Record<string, unknown>): string | null {
  if (b.history !== undefined) {
    if (b.type !== 'file' || !Array.isArray(b.history) || b.history.length > HISTORY_LIMITS.items) return 'the version history is malformed';
    for (const h of b.history as unknown[]) {
      if (!isObject(h)) return 'a previous version is malformed';
      if (typeof h.version !== 'number' || !Number.isSafeInteger(h.version) || h.version < 1) return 'a previous version has a bad version number';
      if (typeof h.size !== 'number' || !Number.isSafeInteger(h.size) || h.size < 0) return 'a previous version has a bad size';
      if (!isTime(h.mtime) || !isTime(h.replaced)) return 'a previous version has a bad time';
      if (typeof h.key !== 'string' || h.key === '' || h.key.length > 8192) return 'a previous version has a malformed key';
      if (typeof h.blob !== 'string' || !ID_RE.test(h.blob)) return 'a previous version has a malformed blob id';
    }
  }
  if (b.trashed !== undefined) {
    const t = b.trashed;
    if (!isObject(t) || !isTime(t.at) || typeof t.root !== 'string' || !ID_RE.test(t.root)
      || typeof t.path !== 'string' || Buffer.byteLength(t.path) > HISTORY_LIMITS.pathBytes || BAD_PATH.test(t.path) || (t.purged !== undefined && !isTime(t.purged))) {
      return 'the trash mark is malformed';
    }
  }
  if (b.released !== undefined) {
    if (!Array.isArray(b.released) || b.released.length > HISTORY_LIMITS.released) return 'the released blob list is malformed';
    for (const r of b.released as unknown[]) {
      if (!isObject(r) || typeof r.blob !== 'string' || !ID_RE.test(r.blob) || !isTime(r.at)) return 'a released blob is malformed';
    }
  }
  return null;
}

/** The blobs an entry's record keeps alive: its content (unless purged) and its previous versions. */
export function liveBlobs(b: RecordBody): string[] {
  if (b.trashed?.purged !== undefined) return [];
  const out: string[] = [];
  if (b.type === 'file' && b.blob) out.push(b.blob);
  for (const h of b.history ?? []) out.push(h.blob);
  return out;
}

/** Blobs named anywhere in a record, including released ones not yet collected (verify does not flag them). */
export function namedBlobs(b: RecordBody): string[] {
  return [...(b.type === 'file' && b.blob ? [b.blob] : []), ...(b.history ?? []).map((h) => h.blob), ...(b.released ?? []).map((r) => r.blob)];
}

/** Whether an entry is shown in the tree (not in the trash, not purged). */
export const isLive = (b: RecordBody): boolean => b.trashed === undefined;

function withFields(b: RecordBody, history: readonly HistoryItem[], released: readonly ReleasedBlob[]): RecordBody {
  const { history: _h, released: _r, ...rest } = b;
  return { ...rest, ...(history.length > 0 ? { history } : {}), ...(released.length > 0 ? { released } : {}) };
}

function addReleased(list: readonly ReleasedBlob[], blobs: readonly string[], at: number, keep: ReadonlySet<string>): ReleasedBlob[] {
  const out = [...list];
  const have = new Set(out.map((r) => r.blob));
  for (const blob of blobs) {
    if (keep.has(blob) || have.has(blob)) continue;
    have.add(blob);
    out.push({ blob, at });
  }
  // Far beyond anything collection leaves behind; the oldest are forgotten (verify reports their blobs).
  return out.slice(-HISTORY_LIMITS.released);
}

/** Applies retention to a record's history: versions beyond the count or older than the days go to `released`. */
export function applyRetention(b: RecordBody, now: number, r: Retention): RecordBody {
  const hist = b.history ?? [];
  const keep = hist.filter((h, i) => i < r.versions && now - h.replaced < r.days * DAY_MS);
  if (keep.length === hist.length) return b;
  const kept = withFields(b, keep, []);
  const dropped = hist.filter((h) => !keep.includes(h)).map((h) => h.blob);
  return withFields(b, keep, addReleased(b.released ?? [], dropped, now, new Set(liveBlobs(kept))));
}

/**
 * The record of `next` (the new current content of `cur`'s entry) with `cur`'s content as its newest
 * previous version, retention applied.
 */
export function withPrevious(cur: RecordBody, next: RecordBody, now: number, r: Retention): RecordBody {
  const prev: HistoryItem[] = cur.type === 'file' && cur.blob && cur.key
    ? [{ version: cur.version, size: cur.size, mtime: cur.mtime, key: cur.key, blob: cur.blob, replaced: now }]
    : [];
  return applyRetention(withFields(next, [...prev, ...(cur.history ?? [])], cur.released ?? []), now, r);
}

/** One version of a file, as `versions` lists it (current first). */
export interface VersionInfo {
  readonly version: number;
  readonly size: number;
  /** ISO 8601: the file's modification time in that version. */
  readonly mtime: string;
  /** ISO 8601: when it was replaced; null for the current version. */
  readonly replaced: string | null;
  readonly current: boolean;
  /** ISO 8601: when it will be collected at the latest (by age); null for the current version. */
  readonly expires: string | null;
}

/** One entry in the trash (a deleted file, or a deleted folder with everything that was in it). */
export interface TrashInfo {
  /** The entry id: what `restoreFromTrash` takes. */
  readonly id: string;
  readonly name: string;
  /** Where it was (vault path) when it was deleted. */
  readonly path: string;
  readonly type: 'file' | 'dir';
  /** Files in it (1 for a file) and their bytes. */
  readonly files: number;
  readonly size: number;
  /** ISO 8601. */
  readonly deleted: string;
  /** ISO 8601: when it will be collected. */
  readonly expires: string;
}

export interface CollectResult {
  /** Previous versions dropped by retention (their blobs released). */
  readonly versions: number;
  /** Trash entries (roots) purged (expired, or emptied). */
  readonly trash: number;
  /** Blobs deleted, and their bytes. */
  readonly blobs: number;
  readonly bytes: number;
  /** Released blobs kept for now: the sync grace has not passed, or a record of the entry could not be checked. */
  readonly pending: number;
}

export interface VersionNode {
  readonly file: string;
  readonly body: RecordBody;
  readonly conflict: unknown;
}

/** What this module needs of an open Vault (vault.ts builds it). */
export interface VersionPort<N extends VersionNode = VersionNode> {
  readonly name: string;
  readonly storage: VaultStorage;
  now(): number;
  retention(): Retention;
  ensureOpen(): void;
  /** Runs `fn` under the writer lock on a freshly re-read vault. */
  mutate<T>(fn: () => Promise<T>): Promise<T>;
  /** Every verified record, conflict copies included. */
  nodes(): readonly N[];
  /** A live entry by path (the tree hides trashed entries). */
  resolve(vpath: string): { node: N; info: EntryInfo } | null;
  /** The live entry `name` in folder `parent` ('' for the root), conflict copies excluded. */
  child(parent: string, name: string): N | undefined;
  infoOf(file: string): EntryInfo | undefined;
  writeRecord(body: RecordBody, file?: string): Promise<void>;
  deleteRecord(node: N): Promise<void>;
  saveVersions(v: Record<string, number>): Promise<void>;
  /** mkdir -p of live folders; returns the last folder's id. */
  ensureDirs(parts: string[], versions: Record<string, number>): Promise<string>;
  /** Entry ids with a record file (original or copy) that failed to load or verify. */
  unreadableIds(): Set<string>;
  /** Decrypts the content `body` names to `out` (its `size` checked). */
  decryptTo(body: RecordBody, out: Writable, signal?: AbortSignal): Promise<number>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function splitPath(vpath: string): string[] {
  return vpath.split('/').filter((p) => p !== '');
}

function restoredName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (restored${n > 1 ? ` ${n}` : ''})${ext}`;
}

/** Versions and trash of one open vault. */
export class VersionStore<N extends VersionNode> {
  constructor(private readonly v: VersionPort<N>) {}

  private liveFile(vpath: string): { node: N; info: EntryInfo } {
    const r = this.v.resolve(vpath);
    if (!r) {
      const inTrash = this.trashRootsByPath(vpath).length > 0;
      throw new CofferError('NOT_FOUND', inTrash
        ? `${vpath} is in the trash of vault ${this.v.name}; restore it first (coffer vault restore)`
        : `${vpath}: no such file in vault ${this.v.name}`);
    }
    if (r.node.body.type !== 'file') throw new CofferError('USAGE', `${vpath} is a folder; versions are kept per file`);
    if (r.node.conflict) throw new CofferError('USAGE', `${vpath} is a conflict copy; keep it (mv) first`);
    return r;
  }

  /** The versions of a file, current first. */
  versions(vpath: string): VersionInfo[] {
    this.v.ensureOpen();
    const b = this.liveFile(vpath).node.body;
    const days = this.v.retention().days;
    return [
      { version: b.version, size: b.size, mtime: iso(b.mtime), replaced: null, current: true, expires: null },
      ...(b.history ?? []).map((h) => ({ version: h.version, size: h.size, mtime: iso(h.mtime), replaced: iso(h.replaced), current: false, expires: iso(h.replaced + days * DAY_MS) })),
    ];
  }

  private item(b: RecordBody, vpath: string, version: number): HistoryItem {
    const h = (b.history ?? []).find((x) => x.version === version);
    if (!h) {
      if (version === b.version) throw new CofferError('USAGE', `version ${version} is the current version of ${vpath}`);
      throw new CofferError('NOT_FOUND', `${vpath} has no version ${version} (see: coffer vault versions)`);
    }
    return h;
  }

  /** A record body whose current content is `version` (for reading it out). */
  private bodyAt(vpath: string, version: number): RecordBody {
    const b = this.liveFile(vpath).node.body;
    if (version === b.version) return b;
    const h = this.item(b, vpath, version);
    return { ...b, size: h.size, mtime: h.mtime, key: h.key, blob: h.blob, version: h.version };
  }

  /** Streams the plaintext of one version to `out`. */
  async read(vpath: string, version: number, out: Writable, signal?: AbortSignal): Promise<number> {
    this.v.ensureOpen();
    return this.v.decryptTo(this.bodyAt(vpath, version), out, signal);
  }

  /** Writes one version to the new file `dest` (partial file, renamed into place on success). */
  async get(vpath: string, version: number, dest: string, opts: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<{ bytes: number }> {
    this.v.ensureOpen();
    const body = this.bodyAt(vpath, version);
    if (!opts.overwrite && (await lstat(dest).catch(() => null))) throw new CofferError('EXISTS', `${dest} already exists`);
    await sweepPartials(path.dirname(dest));
    const tmp = partialPath(dest);
    try {
      const bytes = await this.v.decryptTo(body, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }), opts.signal);
      await rename(tmp, dest);
      return { bytes };
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  /** Makes `version` the current content again; the content it replaces becomes a previous version. */
  async restoreVersion(vpath: string, version: number): Promise<EntryInfo> {
    return this.v.mutate(async () => {
      const { node } = this.liveFile(vpath);
      const b = node.body;
      const h = this.item(b, vpath, version);
      const next = withPrevious(b, { ...b, size: h.size, mtime: h.mtime, key: h.key, blob: h.blob, version: b.version + 1 }, this.v.now(), this.v.retention());
      await this.v.writeRecord(next, node.file);
      await this.v.saveVersions({ [next.id]: next.version });
      return this.v.infoOf(node.file) as EntryInfo;
    });
  }

  /**
   * Moves an entry (with everything in a folder) to the trash. Used by `Vault.rm`; inside a mutation.
   * A sync-conflict copy goes to the trash as an entry of its own (its copy file is removed).
   */
  async trashInMutation(target: { node: N; info: EntryInfo }, sub: readonly { node: N; info: EntryInfo }[]): Promise<{ files: number; folders: number; trashId: string }> {
    const now = this.v.now();
    const versions: Record<string, number> = {};
    let files = 0;
    let folders = 0;
    const count = (b: RecordBody): void => {
      if (b.type === 'file') files++;
      else folders++;
    };
    const root = target.node.conflict ? newId() : target.node.body.id;
    for (const { node, info } of [...sub, target]) {
      const p = Buffer.byteLength(info.path) <= HISTORY_LIMITS.pathBytes ? info.path : '';
      if (node.conflict) {
        // A sync-conflict copy goes to the trash as an entry of its own; its copy file is removed.
        const id = node === target.node ? root : newId();
        const body: RecordBody = { ...node.body, id, version: 1, trashed: { at: now, root, path: p } };
        await this.v.writeRecord(body);
        await this.v.deleteRecord(node);
        versions[id] = 1;
        count(body);
        continue;
      }
      const body: RecordBody = { ...node.body, version: node.body.version + 1, trashed: { at: now, root, path: p } };
      await this.v.writeRecord(body, node.file);
      versions[body.id] = body.version;
      count(body);
    }
    await this.v.saveVersions(versions);
    return { files, folders, trashId: root };
  }

  private roots(): N[] {
    return this.v.nodes().filter((n) => !n.conflict && n.body.trashed !== undefined && n.body.trashed.purged === undefined && n.body.trashed.root === n.body.id);
  }

  private members(root: string): N[] {
    return this.v.nodes().filter((n) => !n.conflict && n.body.trashed !== undefined && n.body.trashed.purged === undefined && n.body.trashed.root === root);
  }

  private trashRootsByPath(vpath: string): N[] {
    const want = splitPath(vpath).map((p) => p.normalize('NFC')).join('/');
    return this.roots().filter((n) => splitPath((n.body.trashed as TrashMark).path).map((p) => p.normalize('NFC')).join('/') === want)
      .sort((a, b) => (b.body.trashed as TrashMark).at - (a.body.trashed as TrashMark).at);
  }

  /** What is in the trash, newest first. */
  trash(): TrashInfo[] {
    this.v.ensureOpen();
    const days = this.v.retention().days;
    // Files and bytes per trash entry, in one pass over the records.
    const sums = new Map<string, { files: number; size: number }>();
    for (const m of this.v.nodes()) {
      const t = m.body.trashed;
      if (m.conflict || !t || t.purged !== undefined || m.body.type !== 'file') continue;
      const x = sums.get(t.root) ?? { files: 0, size: 0 };
      x.files++;
      x.size += m.body.size;
      sums.set(t.root, x);
    }
    return this.roots().map((n): TrashInfo => {
      const t = n.body.trashed as TrashMark;
      const inside = sums.get(n.body.id) ?? { files: 0, size: 0 };
      return {
        id: n.body.id, name: n.body.name, path: t.path || n.body.name, type: n.body.type, files: inside.files,
        size: inside.size, deleted: iso(t.at), expires: iso(t.at + days * DAY_MS),
      };
    }).sort((a, b) => b.deleted.localeCompare(a.deleted) || a.path.localeCompare(b.path));
  }

  /** The trash id of the most recently deleted entry that was at `vpath`, or null. */
  trashIdFor(vpath: string): string | null {
    this.v.ensureOpen();
    return this.trashRootsByPath(vpath)[0]?.body.id ?? null;
  }

  /**
   * Puts a trash entry back where it was (its folders are made again if they are gone); if that name is
   * taken meanwhile, as `NAME (restored).EXT`. Returns the restored entry.
   */
  async restoreFromTrash(id: string): Promise<EntryInfo> {
    return this.v.mutate(async () => {
      const root = this.roots().find((n) => n.body.id === id);
      if (!root) throw new CofferError('NOT_FOUND', `nothing with id ${id} is in the trash of vault ${this.v.name} (see: coffer vault trash)`);
      const t = root.body.trashed as TrashMark;
      const versions: Record<string, number> = {};
      const parts = splitPath(t.path);
      // Its folder as it is now: the one it was in if that is still there, else made again from its path.
      const parentNode = root.body.parent === '' ? null : this.v.nodes().find((n) => !n.conflict && n.body.id === root.body.parent && n.body.type === 'dir' && n.body.trashed === undefined);
      let parent: string;
      if (root.body.parent === '' || (parentNode && this.v.infoOf(parentNode.file))) parent = root.body.parent;
      else parent = parts.length > 1 ? await this.v.ensureDirs(parts.slice(0, -1), versions) : '';
      let name = root.body.name;
      for (let n = 1; this.v.child(parent, name) !== undefined; n++) name = restoredName(root.body.name, n);
      for (const m of this.members(id)) {
        const { trashed: _t, ...rest } = m.body;
        const body: RecordBody = m === root ? { ...rest, parent, name, version: m.body.version + 1 } : { ...rest, version: m.body.version + 1 };
        await this.v.writeRecord(body, m.file);
        versions[body.id] = body.version;
      }
      await this.v.saveVersions(versions);
      return this.v.infoOf(root.file) as EntryInfo;
    });
  }

  /** Removes trash entries for good (all, or those given): their blobs are released for collection. */
  private async purge(ids: ReadonlySet<string> | null, now: number, versions: Record<string, number>): Promise<number> {
    let n = 0;
    const byRoot = new Map<string, N[]>();
    for (const m of this.v.nodes()) {
      const t = m.body.trashed;
      if (m.conflict || !t || t.purged !== undefined) continue;
      const list = byRoot.get(t.root);
      if (list) list.push(m);
      else byRoot.set(t.root, [m]);
    }
    for (const root of this.roots()) {
      if (ids && !ids.has(root.body.id)) continue;
      for (const m of byRoot.get(root.body.id) ?? []) {
        const b = m.body;
        const t = b.trashed as TrashMark;
        const released = addReleased(b.released ?? [], liveBlobs(b), now, new Set());
        const { history: _h, released: _r, ...rest } = b;
        const body: RecordBody = { ...rest, version: b.version + 1, trashed: { ...t, purged: now }, ...(released.length > 0 ? { released } : {}) };
        await this.v.writeRecord(body, m.file);
        versions[body.id] = body.version;
      }
      n++;
    }
    return n;
  }

  /** Empties the trash (or removes the entries given), then collects what retention and the grace allow. */
  async emptyTrash(ids?: readonly string[]): Promise<CollectResult & { emptied: number }> {
    return this.v.mutate(async () => {
      const known = new Set(this.roots().map((n) => n.body.id));
      for (const id of ids ?? []) if (!known.has(id)) throw new CofferError('NOT_FOUND', `nothing with id ${id} is in the trash of vault ${this.v.name}`);
      const versions: Record<string, number> = {};
      const emptied = await this.purge(ids ? new Set(ids) : null, this.v.now(), versions);
      await this.v.saveVersions(versions);
      const r = await this.collectInMutation();
      return { ...r, emptied };
    });
  }

  /**
   * Applies retention and deletes released blobs whose grace has passed (under the writer lock). When
   * nothing is due it does not take the lock or write anything (so a read-only use, or a format 1 vault
   * that would migrate on its first change, is left as it is).
   */
  async collect(): Promise<CollectResult> {
    this.v.ensureOpen();
    if (!this.due()) {
      const pending = this.v.nodes().reduce((a, n) => a + (n.conflict ? 0 : (n.body.released ?? []).length), 0);
      return { versions: 0, trash: 0, blobs: 0, bytes: 0, pending };
    }
    return this.v.mutate(() => this.collectInMutation());
  }

  /** Whether collection has anything to do now (read from the records in memory). */
  private due(): boolean {
    const now = this.v.now();
    const r = this.v.retention();
    return this.v.nodes().some((n) => {
      if (n.conflict) return false;
      const b = n.body;
      if (b.trashed === undefined && applyRetention(b, now, r) !== b) return true;
      if (b.trashed !== undefined && b.trashed.purged === undefined && b.trashed.root === b.id && now - b.trashed.at >= r.days * DAY_MS) return true;
      if ((b.released ?? []).some((x) => now - x.at >= SYNC_GRACE_MS)) return true;
      return b.trashed?.purged !== undefined && now - b.trashed.purged >= SYNC_GRACE_MS;
    });
  }

  private async collectInMutation(): Promise<CollectResult> {
    const now = this.v.now();
    const r = this.v.retention();
    const versions: Record<string, number> = {};
    let dropped = 0;
    // 1. Retention: previous versions beyond the count or the age; trash entries past the age.
    for (const n of this.v.nodes()) {
      if (n.conflict || n.body.trashed !== undefined) continue;
      const next = applyRetention(n.body, now, r);
      if (next === n.body) continue;
      dropped += (n.body.history ?? []).length - (next.history ?? []).length;
      const body = { ...next, version: n.body.version + 1 };
      await this.v.writeRecord(body, n.file);
      versions[body.id] = body.version;
    }
    const expired = new Set(this.roots().filter((n) => now - (n.body.trashed as TrashMark).at >= r.days * DAY_MS).map((n) => n.body.id));
    const trash = expired.size > 0 ? await this.purge(expired, now, versions) : 0;
    // 2. Released blobs: deleted once the grace has passed and no verified record names them.
    const referenced = new Set(this.v.nodes().flatMap((n) => liveBlobs(n.body)));
    const unreadable = this.v.unreadableIds();
    let blobs = 0;
    let bytes = 0;
    let pending = 0;
    for (const n of this.v.nodes()) {
      if (n.conflict) continue;
      const b = n.body;
      const rel = b.released ?? [];
      const purgedAt = b.trashed?.purged;
      const tombstoneDue = purgedAt !== undefined && now - purgedAt >= SYNC_GRACE_MS;
      if (rel.length === 0 && !tombstoneDue) continue;
      if (unreadable.has(b.id)) {
        pending += rel.length;
        continue;
      }
      const left: ReleasedBlob[] = [];
      for (const x of rel) {
        if (referenced.has(x.blob)) continue; // another record names it now: that record owns it
        if (now - x.at < SYNC_GRACE_MS) {
          left.push(x);
          pending++;
          continue;
        }
        const key = `blobs/${x.blob}.blob`;
        bytes += (await this.v.storage.size(key)) ?? 0;
        await this.v.storage.delete(key);
        blobs++;
      }
      if (tombstoneDue && left.length === 0) {
        await this.v.deleteRecord(n);
        versions[b.id] = -b.version;
      } else if (left.length !== rel.length) {
        const { released: _r, ...rest } = b;
        const body: RecordBody = { ...rest, version: b.version + 1, ...(left.length > 0 ? { released: left } : {}) };
        await this.v.writeRecord(body, n.file);
        versions[body.id] = body.version;
      }
    }
    await this.v.saveVersions(versions);
    return { versions: dropped, trash, blobs, bytes, pending };
  }
}
