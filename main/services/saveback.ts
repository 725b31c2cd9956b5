/**
 * Save-back: a file opened from a vault ("Open") is a private, writable copy, and what the person
 * saves into it goes back into the vault as a new version of its entry.
 *
 * - Each opened copy lives in its own folder ROOT/VAULT/ID/NAME (tempfiles.ts) beside a small
 *   manifest ROOT/VAULT/ID.open.json: vault id, entry id, the version opened, and size/mtime/SHA-256
 *   of the content opened and of the content last saved. No key material and no file contents.
 * - The copy's FOLDER is watched (editors often write a temp file and rename it over the original,
 *   which a watch on the file itself would lose), with a slow poll as a fallback. A change is saved
 *   once the file's size and mtime have been stable for `debounceMs`, or at once when a new file
 *   (a new inode: an atomic rename) has landed.
 * - The save is a compare-and-set: it commits only if the entry is still the version this copy was
 *   opened (or last saved) as. If another member or device changed it meanwhile, the edit is kept
 *   beside it as "NAME (edited on HOST, conflict).EXT" and later saves of this copy go there: both
 *   versions are kept, neither overwritten.
 * - Lock, idle lock and quit first save pending edits (`flush`). Copies they cannot save (vault
 *   folder gone, disk full) are NOT wiped: they are "held" until the person chooses Save or Discard,
 *   and the window is told (event:unsavedEdits) and the activity log says which files.
 * - After a crash, `recover` reads the manifests a dead run left and offers copies edited since
 *   they were last saved; the startup sweep spares exactly those (`hasUnsavedEdits`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp, watch, type FSWatcher, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { CofferError, toErrorInfo } from '../core/errors';
import type { EventChannel, EventOf, UnsavedEdit } from '../../preload/contract';
import type { ActivityLog } from './activity';
import { writeFileAtomic } from './fsutil';
import type { PrivateTemp } from './tempfiles';
import { isDiskFull } from './vaults';
import type { OpenVault } from './vault-port';

const MANIFEST_EXT = '.open.json';
const MANIFEST_MAX = 64 * 1024;

interface ContentState {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** The manifest of one opened copy (ROOT/VAULT/ID.open.json). */
export interface Manifest {
  v: 1;
  vaultId: string;
  vaultName: string;
  /** Vault path the copy saves to ("/a/b.txt"); a conflict copy's path after a conflict. */
  path: string;
  entryId: string;
  /** The copy's file name in its folder (it keeps the name it was opened with). */
  name: string;
  /** The version opened, then the version last saved by this copy. */
  version: number;
  openedAt: number;
  opened: ContentState;
  saved: ContentState;
  /** Set when lock or quit could not save the copy: it waits for the person's decision. */
  held: boolean;
}

type CopyState = 'clean' | 'changed' | 'saving' | 'failed';

interface Copy {
  id: string;
  dir: string;
  file: string;
  manifestFile: string;
  m: Manifest;
  state: CopyState;
  /** Waits for an explicit Save / Discard (after a failed lock or quit, or a crash). */
  held: boolean;
  reason: string | null;
  changedAt: number | null;
  lastSeen: { size: number; mtimeMs: number; ino: number } | null;
  /** When `lastSeen` was first observed (stable since). */
  seenAt: number;
  savedIno: number;
  watcher: FSWatcher | null;
  timer: NodeJS.Timeout | null;
  busy: Promise<void> | null;
}

export interface SaveBackDeps {
  temp: PrivateTemp;
  activity: ActivityLog;
  emit: <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;
  /** The unlocked vault with this id, or null when it is locked. */
  vault: (vaultId: string) => OpenVault | null;
  /** The person is working in this vault (resets its idle timer). */
  touch: (vaultId: string) => void;
  /** Name of this computer in conflict copies (default os.hostname()). */
  hostName?: string;
  /** How long size and mtime must stay unchanged before a save (default 1 s). */
  debounceMs?: number;
  /** Fallback poll of every watched copy (default 3 s). */
  pollMs?: number;
  now?: () => number;
}

export class SaveBack {
  private readonly copies = new Map<string, Copy>();
  private readonly now: () => number;
  private readonly debounceMs: number;
  private readonly host: string;
  private poll: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly d: SaveBackDeps) {
    this.now = d.now ?? Date.now;
    this.debounceMs = d.debounceMs ?? 1000;
    this.host = (d.hostName ?? os.hostname()).replace(/[^\p{L}\p{N} ._-]/gu, '').slice(0, 40) || 'this computer';
    this.poll = setInterval(() => {
      for (const c of this.copies.values()) if (c.watcher) this.schedule(c, 0);
    }, d.pollMs ?? 3000);
    this.poll.unref?.();
  }

  /* ------------------------------------------------ opening */

  /**
   * Starts tracking a copy just decrypted to `file` (in its own folder from PrivateTemp.pathFor),
   * opened from version `entry.version` of entry `entry.id`.
   */
  async track(vaultId: string, vaultName: string, vpath: string, file: string, entry: { id: string; version: number }): Promise<void> {
    const st = await fsp.stat(file);
    const content: ContentState = { size: st.size, mtimeMs: st.mtimeMs, sha256: await hashFile(file) };
    const dir = path.dirname(file);
    const m: Manifest = { v: 1, vaultId, vaultName, path: vpath, entryId: entry.id, name: path.basename(file), version: entry.version, openedAt: this.now(), opened: content, saved: content, held: false };
    const c: Copy = {
      id: path.basename(dir), dir, file, manifestFile: `${dir}${MANIFEST_EXT}`, m, state: 'clean', held: false, reason: null, changedAt: null,
      lastSeen: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }, seenAt: this.now(), savedIno: st.ino, watcher: null, timer: null, busy: null,
    };
    await writeFileAtomic(c.manifestFile, JSON.stringify(m));
    this.copies.set(c.id, c);
    this.watch(c);
  }

  private watch(c: Copy): void {
    if (c.watcher || this.stopped) return;
    try {
      // Any event in the folder (a write, a temp file, a rename) means: look again shortly.
      c.watcher = watch(c.dir, { persistent: false }, () => this.schedule(c, 50, true));
      c.watcher.on('error', () => this.unwatch(c));
    } catch {
      c.watcher = null; // the poll still sees changes
    }
  }

  private unwatch(c: Copy): void {
    c.watcher?.close();
    c.watcher = null;
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
  }

  private schedule(c: Copy, ms: number, sooner = false): void {
    if (this.stopped || c.held) return;
    if (c.timer && !sooner) return;
    if (c.timer) clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      c.timer = null;
      void this.run(c, () => this.check(c, false));
    }, ms);
    c.timer.unref?.();
  }

  /** One check or save of a copy at a time. */
  private async run(c: Copy, f: () => Promise<void>): Promise<void> {
    while (c.busy) await c.busy;
    const p = f().finally(() => {
      c.busy = null;
    });
    c.busy = p;
    await p;
  }

  /* ------------------------------------------------ detecting and saving */

  /**
   * Looks at the copy. With `now` false (the watcher), saves only once size and mtime are stable
   * (or a new file was renamed into place); with `now` true (lock, quit, Save), saves any change.
   */
  private async check(c: Copy, now: boolean): Promise<void> {
    if (!this.copies.has(c.id)) return;
    const st = await statFile(c.file);
    if (!st) {
      // Mid-rename, or deleted by the editor: nothing to save; look again later.
      if (!now) this.later(c);
      return;
    }
    const seen = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    const same = (a: typeof seen | null): boolean => a !== null && a.size === seen.size && a.mtimeMs === seen.mtimeMs && a.ino === seen.ino;
    if (seen.size === c.m.saved.size && seen.mtimeMs === c.m.saved.mtimeMs && seen.ino === c.savedIno) {
      c.lastSeen = seen;
      if (c.state === 'changed') c.state = 'clean';
      return;
    }
    const landed = seen.ino !== c.savedIno && seen.ino !== c.lastSeen?.ino; // a new file renamed over the copy
    if (!same(c.lastSeen)) {
      c.lastSeen = seen;
      c.seenAt = this.now();
    }
    const quiet = this.now() - c.seenAt;
    const stable = quiet >= this.debounceMs;
    if (c.state === 'clean') {
      c.state = 'changed';
      c.changedAt = this.now();
    }
    if (now || landed || stable) {
      await this.save(c, st);
      return;
    }
    this.schedule(c, Math.max(10, this.debounceMs - quiet));
  }

  private later(c: Copy): void {
    this.schedule(c, this.debounceMs);
  }

  /** Saves the copy's current content back, unless it is what was last saved. */
  private async save(c: Copy, st: Stats): Promise<void> {
    const hash = await hashFile(c.file).catch(() => null);
    if (hash === null) return this.later(c);
    if (hash === c.m.saved.sha256) {
      // Touched, not changed (or an identical save): nothing new for the vault.
      c.m.saved = { size: st.size, mtimeMs: st.mtimeMs, sha256: hash };
      c.savedIno = st.ino;
      c.state = 'clean';
      c.changedAt = null;
      await this.writeManifest(c).catch(() => undefined);
      return;
    }
    const v = this.d.vault(c.m.vaultId);
    if (!v) {
      this.fail(c, `the vault ${c.m.vaultName} is locked: unlock it, then choose Save`);
      return;
    }
    c.state = 'saving';
    try {
      const r = await this.commit(c, v, st);
      if (r === null) {
        // Changed again while being encrypted: the next check saves the newer content.
        c.state = 'changed';
        this.later(c);
        return;
      }
      c.m.saved = { size: st.size, mtimeMs: st.mtimeMs, sha256: r.sha256 };
      c.savedIno = st.ino;
      const conflict = r.path !== c.m.path || r.id !== c.m.entryId;
      c.m.path = r.path;
      c.m.entryId = r.id;
      c.m.version = r.version;
      const wasHeld = c.held || c.m.held;
      c.m.held = false;
      c.held = false;
      c.state = 'clean';
      c.reason = null;
      c.changedAt = null;
      await this.writeManifest(c).catch(() => undefined);
      this.d.touch(c.m.vaultId);
      this.d.activity.add({
        vaultId: c.m.vaultId, vaultName: c.m.vaultName, action: 'saved to vault',
        detail: conflict ? `${r.path} (version ${r.version}): ${r.conflictWith} changed in the vault meanwhile; both versions kept` : `${r.path} (version ${r.version})`,
        ok: true,
      });
      this.d.emit('event:notice', {
        kind: 'info',
        message: conflict
          ? `${c.m.name}: ${r.conflictWith} changed in the vault meanwhile, so your edit was saved beside it as ${r.path}. Both versions are kept.`
          : `${c.m.name} saved to the vault (version ${r.version}).`,
      });
      if (wasHeld || conflict) this.emitList();
      if (!c.watcher) this.watch(c);
    } catch (e) {
      this.fail(c, whyNotSaved(e));
    }
  }

  /** Encrypts and commits; on a conflict, keeps the edit beside the other version. */
  private async commit(c: Copy, v: OpenVault, st: Stats): Promise<{ id: string; version: number; path: string; sha256: string; conflictWith: string } | null> {
    let target = c.m.path;
    let expect: { id: string; version: number } | null = { id: c.m.entryId, version: c.m.version };
    for (let attempt = 0; attempt < 20; attempt++) {
      const hash = createHash('sha256');
      const src = createReadStream(c.file);
      const through = new PassThrough();
      src.on('data', (b) => hash.update(b));
      src.on('error', (e) => through.destroy(e));
      src.pipe(through);
      const unchanged = async (): Promise<boolean> => {
        const now = await statFile(c.file);
        return now !== null && now.size === st.size && now.mtimeMs === st.mtimeMs && now.ino === st.ino;
      };
      try {
        const r = await v.saveEdit(target, through, { expect, mtime: st.mtimeMs, check: unchanged });
        if (r === null) return null;
        return { ...r, sha256: hash.digest('hex'), conflictWith: c.m.path };
      } catch (e) {
        const code = toErrorInfo(e).code;
        if (code !== 'VAULT_CONFLICT' && !(code === 'NOT_FOUND' && expect === null)) throw e;
        // Someone else changed the entry (or the name we picked for the conflict copy appeared): keep
        // ours beside it under a name nobody has, in the same folder (the root if that folder is gone).
        const parent = code === 'NOT_FOUND' ? '/' : path.posix.dirname(c.m.path);
        target = await this.conflictName(v, parent, path.posix.basename(c.m.path), attempt);
        expect = null;
      } finally {
        src.destroy();
      }
    }
    throw new CofferError('VAULT_CONFLICT', `${c.m.path} keeps changing in the vault; the edit is kept on this computer`);
  }

  private async conflictName(v: OpenVault, parent: string, name: string, attempt: number): Promise<string> {
    const clean = parseEditConflict(name)?.original ?? name;
    for (let n = attempt + 1; n < attempt + 1000; n++) {
      const candidate = path.posix.join(parent, editConflictName(clean, this.host, n));
      const listed = await v.list(parent).catch(() => []);
      if (!listed.some((e) => e.name === path.posix.basename(candidate))) return candidate;
    }
    throw new CofferError('VAULT_CONFLICT', `no free name for a conflict copy of ${name}`);
  }

  private fail(c: Copy, reason: string): void {
    const first = c.state !== 'failed' || c.reason !== reason;
    c.state = 'failed';
    c.reason = reason;
    if (first) {
      this.d.activity.add({ vaultId: c.m.vaultId, vaultName: c.m.vaultName, action: 'save to vault', detail: `${c.m.path}: ${reason}; the edited copy is kept on this computer`, ok: false });
      this.emitList();
    }
  }

  private async writeManifest(c: Copy): Promise<void> {
    await writeFileAtomic(c.manifestFile, JSON.stringify(c.m));
  }

  /* ------------------------------------------------ lock, idle, quit */

  /** Whether any copy from this vault holds edits not yet in the vault. */
  hasUnsaved(vaultId: string): boolean {
    return [...this.copies.values()].some((c) => c.m.vaultId === vaultId && (c.state !== 'clean' || c.held));
  }

  /**
   * Before a lock (or quit): saves every copy of the vault that changed, at once. Returns the copy
   * folders (and manifests) that must NOT be wiped because they still hold unsaved edits; those
   * copies are held until the person decides, and the window and activity log are told.
   */
  async flush(vaultId: string, why: 'lock' | 'idle' | 'quit'): Promise<Set<string>> {
    const mine = [...this.copies.values()].filter((c) => c.m.vaultId === vaultId);
    for (const c of mine) {
      if (c.held) {
        // Held copies wait for the person; a change to them is theirs to save.
        continue;
      }
      await this.run(c, () => this.check(c, true)).catch((e: unknown) => this.fail(c, whyNotSaved(e)));
    }
    const keep = new Set<string>();
    const unsaved = mine.filter((c) => c.state !== 'clean' || c.held);
    for (const c of mine) {
      if (unsaved.includes(c)) continue;
      this.unwatch(c);
      this.copies.delete(c.id);
    }
    if (unsaved.length === 0) return keep;
    if (why === 'idle') return keep; // idle lock is postponed by the caller; nothing is wiped
    for (const c of unsaved) {
      this.unwatch(c);
      c.held = true;
      c.m.held = true;
      if (c.state === 'clean') c.state = 'failed';
      c.reason ??= 'not saved to the vault';
      await this.writeManifest(c).catch(() => undefined);
      keep.add(c.dir);
      keep.add(c.manifestFile);
    }
    const names = unsaved.map((c) => c.m.path).join(', ');
    this.d.activity.add({
      vaultId, vaultName: unsaved[0]?.m.vaultName ?? null, action: 'unsaved edits kept',
      detail: `${why === 'quit' ? 'quit' : 'lock'} could not save ${unsaved.length} opened file${unsaved.length === 1 ? '' : 's'} to the vault (${names}): ${unsaved[0]?.reason ?? ''}; kept on this computer until you save or discard them`,
      ok: false,
    });
    this.emitList();
    return keep;
  }

  /** Every path (copy folders and manifests) of held copies: quit and the sweep leave these alone. */
  keptPaths(): Set<string> {
    const keep = new Set<string>();
    for (const c of this.copies.values()) {
      if (c.state === 'clean' && !c.held) continue;
      keep.add(c.dir);
      keep.add(c.manifestFile);
    }
    return keep;
  }

  /* ------------------------------------------------ the person's decisions */

  list(): UnsavedEdit[] {
    return [...this.copies.values()]
      .filter((c) => c.held || c.state === 'failed')
      .map((c) => ({
        id: c.id,
        vaultId: c.m.vaultId,
        vaultName: c.m.vaultName,
        path: c.m.path,
        name: path.basename(c.file),
        reason: c.reason ?? 'not saved to the vault yet',
        vaultUnlocked: this.d.vault(c.m.vaultId) !== null,
        changedAt: c.changedAt,
      }));
  }

  private emitList(): void {
    this.d.emit('event:unsavedEdits', { edits: this.list() });
  }

  /** Save, explicitly: the vault must be unlocked. */
  async saveNow(id: string): Promise<{ path: string; version: number }> {
    const c = this.copies.get(id);
    if (!c) throw new CofferError('NOT_FOUND', 'that opened file is no longer kept (it was saved or discarded)');
    if (!this.d.vault(c.m.vaultId)) throw new CofferError('VAULT_LOCKED', `unlock the vault ${c.m.vaultName} first, then save ${path.basename(c.file)} again`);
    const wasHeld = c.held;
    c.held = false;
    await this.run(c, async () => {
      const st = await statFile(c.file);
      if (!st) throw new CofferError('NOT_FOUND', `the edited copy of ${c.m.path} is gone from the temp folder`);
      c.state = c.state === 'clean' ? 'changed' : c.state;
      await this.save(c, st);
    });
    if (c.state !== 'clean') {
      c.held = wasHeld;
      throw new CofferError('IO', `${c.m.path} was not saved: ${c.reason ?? 'unknown error'}`);
    }
    this.emitList();
    return { path: c.m.path, version: c.m.version };
  }

  /** Discard, explicitly: the copy is overwritten and removed, and its edits are gone. */
  async discard(id: string): Promise<void> {
    const c = this.copies.get(id);
    if (!c) throw new CofferError('NOT_FOUND', 'that opened file is no longer kept (it was saved or discarded)');
    this.unwatch(c);
    this.copies.delete(c.id);
    await this.d.temp.wipePaths([c.dir, c.manifestFile]);
    this.d.activity.add({ vaultId: c.m.vaultId, vaultName: c.m.vaultName, action: 'discard edits', detail: `${c.m.path}: the edited copy was wiped without saving`, ok: true });
    this.emitList();
  }

  /** After an unlock: copies of that vault that are tracked but not held resume watching. */
  unlocked(vaultId: string): void {
    for (const c of this.copies.values()) if (c.m.vaultId === vaultId && !c.held) this.watch(c);
    if ([...this.copies.values()].some((c) => c.m.vaultId === vaultId && c.held)) this.emitList();
  }

  /* ------------------------------------------------ after a crash */

  /**
   * Finds, in the "Open" folders of runs that are gone (`roots`), the copies edited since they were
   * last saved, and holds them here for the person to save or discard. Returns how many.
   */
  async recover(roots: readonly string[]): Promise<number> {
    let found = 0;
    for (const root of roots) {
      for (const dir of await copyDirs(root)) {
        const r = await inspectCopy(dir);
        if (!r || !r.edited) continue;
        const st = await statFile(r.file);
        const c: Copy = {
          id: path.basename(dir), dir, file: r.file, manifestFile: `${dir}${MANIFEST_EXT}`, m: { ...r.m, held: true }, state: 'failed', held: true,
          reason: 'edited after it was opened, and Coffer stopped before saving it (a crash or a kill)', changedAt: st ? st.mtimeMs : null,
          lastSeen: null, seenAt: 0, savedIno: -1, watcher: null, timer: null, busy: null,
        };
        if (this.copies.has(c.id)) continue;
        this.copies.set(c.id, c);
        await this.writeManifest(c).catch(() => undefined);
        found++;
        this.d.activity.add({ vaultId: c.m.vaultId, vaultName: c.m.vaultName, action: 'unsaved edits found', detail: `${c.m.path} was edited but not saved to the vault before Coffer stopped; save or discard it`, ok: false });
      }
    }
    if (found > 0) this.emitList();
    return found;
  }

  /** Stops watchers and timers without saving or wiping anything (quit after flush, or a test's "crash"). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.poll);
    for (const c of this.copies.values()) this.unwatch(c);
  }
}

/* ------------------------------------------------ helpers (also used by the startup sweep) */

const EDIT_CONFLICT_RE = / \(edited on ([^()]*), conflict(?: (\d+))?\)(?=(\.[^.]*)?$)/;

/** "notes.txt", "desk", 2 → "notes (edited on desk, conflict 2).txt": where an edit goes when the entry changed meanwhile. */
export function editConflictName(original: string, host: string, n = 1): string {
  const dot = original.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [original.slice(0, dot), original.slice(dot)] : [original, ''];
  return `${stem} (edited on ${host}, conflict${n > 1 ? ` ${n}` : ''})${ext}`;
}

/** The reverse: the original name and the host, or null for any other name. */
export function parseEditConflict(name: string): { original: string; host: string; n: number } | null {
  const m = EDIT_CONFLICT_RE.exec(name);
  if (!m || m[1] === undefined) return null;
  return { original: name.replace(EDIT_CONFLICT_RE, ''), host: m[1], n: m[2] ? Number(m[2]) : 1 };
}

/** Why a save failed, in words a person can act on (no temp paths, no errno soup). */
function whyNotSaved(e: unknown): string {
  if (isDiskFull(e)) return 'could not save: the disk is full; free some space, then choose Save';
  const code = (e as { code?: unknown } | null)?.code;
  const info = toErrorInfo(e);
  if (code === 'ENOENT' || code === 'ENOTDIR' || /no such file or directory/i.test(info.message)) {
    return 'could not save: the vault folder is not reachable (moved, unmounted or offline); bring it back, then choose Save';
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'could not save: the vault folder cannot be written to (permissions, or a read-only drive)';
  return `could not save: ${info.message}`;
}

async function statFile(file: string): Promise<Stats | null> {
  const st = await fsp.lstat(file).catch(() => null);
  return st && st.isFile() ? st : null;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The copy folders ROOT/VAULT/ID under one "Open" root. */
async function copyDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const v of await fsp.readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!v.isDirectory()) continue;
    for (const c of await fsp.readdir(path.join(root, v.name), { withFileTypes: true }).catch(() => [])) if (c.isDirectory()) out.push(path.join(root, v.name, c.name));
  }
  return out;
}

function validManifest(x: unknown): x is Manifest {
  const m = x as Partial<Manifest> | null;
  const cs = (s: unknown): boolean => {
    const c = s as Partial<ContentState> | null;
    return !!c && Number.isSafeInteger(c.size) && typeof c.mtimeMs === 'number' && typeof c.sha256 === 'string' && /^[0-9a-f]{64}$/.test(c.sha256);
  };
  return (
    !!m && m.v === 1 && typeof m.vaultId === 'string' && typeof m.vaultName === 'string' && typeof m.path === 'string' && m.path.startsWith('/') &&
    typeof m.entryId === 'string' && typeof m.name === 'string' && m.name !== '' && m.name === path.basename(m.name) && m.name !== '..' && Number.isSafeInteger(m.version) && typeof m.openedAt === 'number' && cs(m.opened) && cs(m.saved) && typeof m.held === 'boolean'
  );
}

/**
 * Reads one copy folder's manifest and decides whether the copy holds edits not in the vault: a
 * held copy, or one whose content (size, mtime, then SHA-256) differs from what was last saved.
 * null when there is no readable manifest (a drag-out copy, or garbage): nothing to recover.
 */
export async function inspectCopy(dir: string): Promise<{ m: Manifest; file: string; edited: boolean } | null> {
  let m: unknown;
  try {
    const fh = await fsp.open(`${dir}${MANIFEST_EXT}`, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MANIFEST_MAX) return null;
      m = JSON.parse(await fh.readFile('utf8'));
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
  if (!validManifest(m)) return null;
  const file = path.join(dir, m.name);
  const st = await statFile(file);
  if (!st) return { m, file, edited: false };
  if (m.held) return { m, file, edited: true };
  if (st.size === m.saved.size && st.mtimeMs === m.saved.mtimeMs) return { m, file, edited: false };
  const hash = await hashFile(file).catch(() => null);
  return { m, file, edited: hash !== m.saved.sha256 };
}

/** For PrivateTemp.sweepStale: spare a copy folder whose copy holds unsaved edits. */
export async function hasUnsavedEdits(copyDir: string): Promise<boolean> {
  return (await inspectCopy(copyDir))?.edited ?? false;
}
