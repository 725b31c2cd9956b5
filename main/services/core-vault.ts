/**
 * VaultCore over main/core/vault: converts between the app's paths ("/a/b") and the core's
 * ("a/b"), turns core progress into job progress, and groups sync-conflict copies with the entry
 * they conflict with so the window can show both versions.
 */
import path from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CofferError } from '../core/errors';
import { initVault, openVault, readVaultInfo, requestAccess, type EntryInfo as CoreEntry, type StagedFile, type Vault } from '../core/vault';
import { parseRecipient } from '../core/keys/recipients';
import type { Progress } from '../core/jobs/progress';
import type { ProviderUI } from '../core/keys/types';
import type { ConflictInfo, EntryInfo, FileVersion, Retention, SlotInfo, SlotType, TrashEntry } from '../../preload/contract';
import { DavServer } from '../core/webdav/server';
import { parseEditConflict } from './saveback';
import type { DriveServeOptions, DriveServer, HealthReport, OpenVault, TransferProgress, VaultCore } from './vault-port';

const toCore = (p: string): string => p.replace(/^\/+/, '');
const toApp = (p: string): string => `/${p}`;

const SLOT_TYPES: readonly string[] = ['passphrase', 'x25519', 'recovery', 'piv-p256', 'vault-transit'];
const slotType = (t: string): SlotType => (SLOT_TYPES.includes(t) ? (t as SlotType) : 'unknown');

const ORIGIN: Record<string, string> = {
  dropbox: 'Dropbox conflicted copy',
  nextcloud: 'Nextcloud conflicted copy',
  onedrive: 'OneDrive copy from another computer',
  syncthing: 'Syncthing conflict copy',
  'google-drive': 'Google Drive duplicate',
  'duplicate-name': 'Added with the same name elsewhere',
  orphan: 'Its folder was removed elsewhere',
  concurrent: 'Changed on two copies at the same time',
};

/** "report (conflict 2).pdf" → "report.pdf": the name of the entry a conflict version stands beside. */
export function originalName(name: string): string {
  return name.replace(/ \(conflict \d+\)(?=(\.[^.]*)?$)/, '');
}

function entry(e: CoreEntry): EntryInfo {
  return { path: toApp(e.path), name: e.name, type: e.type, size: e.type === 'file' ? e.size : null, mtime: e.mtime, conflict: e.conflict !== null };
}

function progressTo(p: TransferProgress): (x: Progress) => void {
  return (x) => p.report({ ...x, current: x.current === null ? null : toApp(x.current) });
}

/** Version ids of save-back conflict copies (saveback.ts) carry their vault path after this tag. */
const EDIT_TAG = '@edit:';

function conflictsOf(all: CoreEntry[]): ConflictInfo[] {
  const byPath = new Map(all.map((e) => [e.path, e]));
  const groups = new Map<string, ConflictInfo>();
  for (const e of all) {
    // An edit saved back while the entry changed in the vault ("NAME (edited on HOST, conflict)"):
    // shown beside the entry like a sync conflict, as long as that entry is there.
    const edit = !e.conflict && e.type === 'file' ? parseEditConflict(e.name) : null;
    if (edit) {
      const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
      const origPath = (parent ? `${parent}/` : '') + edit.original;
      const orig = byPath.get(origPath);
      if (!orig || orig.conflict || orig.type !== 'file') continue;
      let g = groups.get(origPath);
      if (!g) {
        g = { path: toApp(origPath), versions: [{ id: orig.id, origin: 'This copy', name: orig.name, size: orig.size, mtime: orig.mtime }] };
        groups.set(origPath, g);
      }
      g.versions.push({ id: `${e.id}:${EDIT_TAG}${e.path}`, origin: `Edited on ${edit.host} while it changed in the vault`, name: e.name, size: e.size, mtime: e.mtime });
      continue;
    }
    if (!e.conflict) continue;
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    const origPath = e.conflict.source === 'orphan' ? e.path : (parent ? `${parent}/` : '') + originalName(e.name);
    let g = groups.get(origPath);
    if (!g) {
      g = { path: toApp(origPath), versions: [] };
      const orig = byPath.get(origPath);
      if (orig && !orig.conflict) g.versions.push({ id: orig.id, origin: 'This copy', name: orig.name, size: orig.type === 'file' ? orig.size : null, mtime: orig.mtime });
      groups.set(origPath, g);
    }
    g.versions.push({ id: `${e.id}:${e.conflict.file}`, origin: ORIGIN[e.conflict.source] ?? 'Other copy', name: e.name, size: e.type === 'file' ? e.size : null, mtime: e.mtime });
  }
  return [...groups.values()];
}

class CoreOpenVault implements OpenVault {
  readonly id: string;
  readonly name: string;
  constructor(private readonly v: Vault) {
    this.id = v.id;
    this.name = v.name;
  }

  private queue: Promise<unknown> = Promise.resolve();
  /** Short operations run one at a time so a re-read never interleaves with another read. */
  private serial<T>(f: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Re-reads the folder: other members and sync clients change it underneath us. */
  refresh(): Promise<void> {
    return this.serial(() => this.v.load());
  }

  list(dir: string): Promise<EntryInfo[]> {
    return this.serial(() => this.v.list(toCore(dir)).map(entry));
  }

  conflicts(): Promise<ConflictInfo[]> {
    return this.serial(() => conflictsOf(this.v.list('', { recursive: true })));
  }

  async add(sources: string[], to: string, p: TransferProgress): Promise<void> {
    await this.v.add(sources, toCore(to), { signal: p.signal, onProgress: progressTo(p) });
  }

  async get(vpath: string, dest: string, p: TransferProgress): Promise<void> {
    const e = this.v.stat(toCore(vpath));
    if (!e) throw new CofferError('NOT_FOUND', `${vpath}: no such file in vault ${this.name}`);
    await this.v.get(toCore(vpath), dest, { signal: p.signal, onProgress: progressTo(p) });
  }

  async readTo(vpath: string, out: Writable, p: TransferProgress): Promise<number> {
    const e = this.v.stat(toCore(vpath));
    if (!e || e.type !== 'file') throw new CofferError('NOT_FOUND', `${vpath}: no such file in vault ${this.name}`);
    return this.counted(vpath, e.size ?? 0, out, p, (to) => this.v.readFile(toCore(vpath), to, { signal: p.signal }));
  }

  async readVersionTo(vpath: string, version: number, out: Writable, p: TransferProgress): Promise<number> {
    const v = this.v.versions(toCore(vpath)).find((x) => x.version === version);
    if (!v) throw new CofferError('NOT_FOUND', `${vpath}: no version ${version} in vault ${this.name}`);
    return this.counted(vpath, v.size, out, p, (to) => this.v.readVersion(toCore(vpath), version, to, { signal: p.signal }));
  }

  /** Runs `read` into `out` through a byte counter that reports progress as the plaintext leaves. */
  private async counted(vpath: string, size: number, out: Writable, p: TransferProgress, read: (to: Writable) => Promise<number>): Promise<number> {
    p.report({ filesDone: 0, filesTotal: 1, bytesDone: 0, bytesTotal: size, current: vpath });
    let done = 0;
    const counted = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        done += chunk.length;
        p.report({ filesDone: 0, filesTotal: 1, bytesDone: done, bytesTotal: size, current: vpath });
        cb(null, chunk);
      },
    });
    const sent = pipeline(counted, out, { signal: p.signal });
    sent.catch(() => undefined); // the read below reports the failure; this one is the same
    const n = await read(counted);
    await sent;
    p.report({ filesDone: 1, filesTotal: 1, bytesDone: n, bytesTotal: size, current: null });
    return n;
  }

  async mkdir(vpath: string): Promise<void> {
    await this.serial(() => this.v.mkdir(toCore(vpath)));
  }

  async move(from: string, to: string): Promise<void> {
    await this.serial(() => this.v.mv(toCore(from), toCore(to)));
  }

  async remove(vpath: string, recursive: boolean): Promise<string | null> {
    const r = await this.serial(() => this.v.rm(toCore(vpath), { recursive }));
    return r.trashId;
  }

  /* Versions and trash (issue 10 part 3): names, sizes and dates only; content leaves only through getVersion. */

  versions(vpath: string): Promise<{ versions: FileVersion[]; retention: Retention }> {
    return this.serial(() => ({ versions: this.v.versions(toCore(vpath)), retention: this.v.retention }));
  }

  async restoreVersion(vpath: string, version: number): Promise<{ path: string; version: number }> {
    const e = await this.serial(() => this.v.restoreVersion(toCore(vpath), version));
    return { path: toApp(e.path), version: e.version };
  }

  async getVersion(vpath: string, version: number, dest: string, p: TransferProgress): Promise<void> {
    const size = this.v.versions(toCore(vpath)).find((x) => x.version === version)?.size ?? 0;
    p.report({ filesDone: 0, filesTotal: 1, bytesDone: 0, bytesTotal: size, current: vpath });
    await this.v.getVersion(toCore(vpath), version, dest, { signal: p.signal });
    p.report({ filesDone: 1, filesTotal: 1, bytesDone: size, bytesTotal: size, current: null });
  }

  trash(): Promise<{ entries: TrashEntry[]; retention: Retention }> {
    return this.serial(() => ({ entries: this.v.trash().map((t) => ({ ...t, path: toApp(t.path) })), retention: this.v.retention }));
  }

  async restoreFromTrash(id: string): Promise<{ path: string }> {
    const e = await this.serial(() => this.v.restoreFromTrash(id));
    return { path: toApp(e.path) };
  }

  async emptyTrash(ids?: string[]): Promise<{ emptied: number; blobs: number; pending: number }> {
    const r = await this.serial(() => this.v.emptyTrash(ids));
    return { emptied: r.emptied, blobs: r.blobs, pending: r.pending };
  }

  setRetention(r: Retention): Promise<Retention> {
    return this.serial(() => this.v.setRetention(r));
  }

  collect(): Promise<{ blobs: number; bytes: number }> {
    return this.serial(() => this.v.collect());
  }

  resolveConflict(vpath: string, keep: 'both' | 'mine' | 'theirs'): Promise<void> {
    return this.serial(() => this.resolve(vpath, keep));
  }

  private async resolve(vpath: string, keep: 'both' | 'mine' | 'theirs'): Promise<void> {
    const v = this.v;
    await v.load();
    const target = toCore(vpath);
    const group = conflictsOf(v.list('', { recursive: true })).find((c) => toCore(c.path) === target);
    if (!group) throw new CofferError('NOT_FOUND', `${vpath} has no conflict any more (another member may have resolved it)`);
    const others = group.versions.filter((x) => x.id.includes(':'));
    const files = others.map((x) => x.id.slice(x.id.indexOf(':') + 1));
    const pathOfFile = (file: string): string | null =>
      file.startsWith(EDIT_TAG) ? (v.stat(file.slice(EDIT_TAG.length)) ? file.slice(EDIT_TAG.length) : null) : (v.list('', { recursive: true }).find((e) => e.conflict?.file === file)?.path ?? null);
    if (keep === 'both') {
      // Each other version becomes an entry of its own under its shown name; a save-back conflict
      // copy loses its ", conflict" mark ("notes (edited on desk).txt") so it is no longer shown as one.
      for (const f of files) {
        const p = pathOfFile(f);
        if (!p) continue;
        const edit = f.startsWith(EDIT_TAG) ? parseEditConflict(p.slice(p.lastIndexOf('/') + 1)) : null;
        if (!edit) {
          await v.mv(p, p);
          continue;
        }
        const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '';
        const dot = edit.original.lastIndexOf('.');
        const [stem, ext] = dot > 0 ? [edit.original.slice(0, dot), edit.original.slice(dot)] : [edit.original, ''];
        for (let n = edit.n; n < edit.n + 1000; n++) {
          const to = `${dir}${stem} (edited on ${edit.host}${n > 1 ? ` ${n}` : ''})${ext}`;
          if (v.stat(to)) continue;
          await v.mv(p, to);
          break;
        }
      }
    } else if (keep === 'mine') {
      for (const f of files) {
        const p = pathOfFile(f);
        if (p) await v.rm(p, { recursive: true });
      }
    } else {
      const first = files[0];
      if (!first) throw new CofferError('NOT_FOUND', `${vpath}: the other version is gone`);
      if (v.stat(target) && !v.stat(target)?.conflict) await v.rm(target, { recursive: true });
      const p = pathOfFile(first);
      if (p) await v.mv(p, target);
    }
  }

  async slots(): Promise<SlotInfo[]> {
    const m = await this.serial(() => this.v.members());
    return m.slots.map((s) => ({ id: s.id, type: slotType(s.type), label: s.label, fingerprint: s.fingerprint || null, created: s.created }));
  }

  async requests(): Promise<{ id: string; name: string; recipient: string; fingerprint: string | null; created: string | null }[]> {
    const m = await this.serial(() => this.v.members());
    return m.requests.map((r) => ({ id: r.id, name: r.name, recipient: r.recipient, fingerprint: r.fingerprint || null, created: r.created }));
  }

  async grant(recipient: string, label: string): Promise<SlotInfo> {
    const s = await this.serial(() => this.v.grant(recipient, label ? { label } : {}));
    return { id: s.id, type: slotType(s.type), label: s.label, fingerprint: s.fingerprint || null, created: s.created };
  }

  async revoke(slotId: string, reencrypt: boolean, p: TransferProgress | null): Promise<{ rotatedTo: number | null; reencryptedFiles: number }> {
    const r = await this.v.revoke(slotId, { reencrypt, ...(p ? { signal: p.signal, onProgress: progressTo(p) } : {}) });
    return { rotatedTo: Number.parseInt(r.epoch.slice(0, 8), 10), reencryptedFiles: r.blobsReencrypted };
  }

  async passwd(passphrase: string): Promise<SlotInfo> {
    const s = await this.serial(() => this.v.passwd(passphrase));
    return { id: s.id, type: slotType(s.type), label: s.label, fingerprint: s.fingerprint || null, created: s.created };
  }

  async verify(repair: boolean): Promise<HealthReport> {
    const r = await this.serial(() => this.v.verify({ repair }));
    return {
      ok: r.ok, records: r.records, blobs: r.blobs, bytes: r.bytes, repaired: [...r.repaired],
      problems: r.problems.map((p) => ({ severity: p.severity, path: p.path === null ? null : toApp(p.path), message: p.message, repairable: p.repairable })),
    };
  }

  async rotate(): Promise<{ epoch: number; records: number }> {
    const r = await this.serial(() => this.v.rotate());
    return { epoch: Number.parseInt(r.epoch.slice(0, 8), 10), records: r.records };
  }

  async dismissRequest(id: string): Promise<void> {
    if (!/^[0-9a-f]{12}$/.test(id)) throw new CofferError('USAGE', 'not an access request id');
    await this.serial(() => this.v.storage.delete(`requests/${id}.req`));
  }

  async fileVersion(vpath: string): Promise<{ id: string; version: number } | null> {
    const e = await this.serial(() => this.v.stat(toCore(vpath)));
    return e && e.type === 'file' && !e.conflict ? { id: e.id, version: e.version } : null;
  }

  async saveEdit(vpath: string, source: Readable, opts: { expect: { id: string; version: number } | null; mtime: number; check: () => Promise<boolean> }): Promise<{ id: string; version: number; path: string } | null> {
    const staged = await this.v.stageStream(source);
    if (!(await opts.check())) {
      await this.v.discardStaged(staged);
      return null;
    }
    const e = await this.serial(() => this.v.commitStaged(staged, toCore(vpath), { mtime: opts.mtime, expect: opts.expect }));
    return { id: e.id, version: e.version, path: toApp(e.path) };
  }

  async serveDrive(opts: DriveServeOptions): Promise<DriveServer> {
    const server = new DavServer({
      vault: this.v, user: opts.user, password: opts.password, readOnly: opts.readOnly,
      // The drive's vault calls take turns with the window's (one queue), so a re-read never interleaves.
      exclusive: (fn) => this.serial(fn), onActivity: opts.onActivity, onError: opts.onError,
    });
    const { url, port } = await server.listen();
    return { url, port, openFiles: () => server.openFiles().map((f) => ({ path: toApp(f.path), kind: f.kind })), close: () => server.close() };
  }

  stageUpload(source: Readable, signal: AbortSignal): Promise<StagedFile> {
    return this.v.stageStream(source, { signal });
  }

  async commitUpload(staged: StagedFile, vpath: string): Promise<void> {
    const folder = path.posix.dirname(vpath);
    await this.serial(async () => {
      if (folder !== '/') {
        const e = this.v.stat(toCore(folder));
        if (!e) await this.v.mkdir(toCore(folder));
        else if (e.type !== 'dir') {
          await this.v.discardStaged(staged);
          throw new CofferError('EXISTS', `${folder} exists in vault ${this.name} and is not a folder`);
        }
      }
      await this.v.commitStaged(staged, toCore(vpath));
    });
  }

  discardUpload(staged: StagedFile): Promise<void> {
    return this.v.discardStaged(staged);
  }

  close(): void {
    this.v.lock();
  }
}

export function coreVault(stateDir: string): VaultCore {
  return {
    async peek(dir) {
      const info = await readVaultInfo(dir);
      return { id: info.id, name: info.name, slots: info.slots.map((s) => ({ id: s.id, type: slotType(s.type), label: s.label, fingerprint: s.fingerprint || null, created: null })) };
    },
    async create(dir, input, ui: ProviderUI) {
      const { vault, recoveryKey } = await initVault(path.resolve(dir), {
        name: input.name,
        ...(input.passphrase !== null ? { passphrase: input.passphrase } : {}),
        recipients: input.recipients,
        stateDir,
      });
      void ui;
      return { vault: new CoreOpenVault(vault), recoveryKey };
    },
    async unlock(dir, input, ui) {
      const v = await openVault(path.resolve(dir), {
        stateDir,
        ui,
        credentials: {
          identities: input.identities,
          ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
          ...(input.recoveryKey !== undefined ? { recoveryKey: input.recoveryKey } : {}),
        },
      });
      // First open on this computer: a rollback cannot be ruled out (shown to the person as a notice).
      for (const w of v.warnings) ui.notify({ kind: 'info', message: `Vault ${v.name}: ${w}.` });
      return new CoreOpenVault(v);
    },
    async requestAccess(dir, recipient, name) {
      await requestAccess(dir, recipient, name);
    },
    parseRecipient: (text) => parseRecipient(text),
  };
}
