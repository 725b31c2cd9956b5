/**
 * Open vaults and their lifecycle in the app: the list of known vault folders, unlocking with the
 * chosen slot, auto-lock after idle, jobs for long transfers, the private temp folder for "Open",
 * and the events the window listens to (locked, conflicts found, pending access requests).
 */
import { promises as fsp } from 'node:fs';
import type { Writable } from 'node:stream';
import path from 'node:path';
import { CofferError, toErrorInfo } from '../core/errors';
import type { Identity, ProviderNotice } from '../core/keys/types';
import type { AccessRequest, ConflictInfo, CreateVaultRequest, EntryInfo, EventChannel, EventOf, SlotInfo, UnlockMethod, VaultSummary } from '../../preload/contract';
import type { FileVersion, Retention, TrashEntry } from '../../preload/contract';
import type { ActivityLog } from './activity';
import { readJson, writeFileAtomic } from './fsutil';
import type { ApprovingDialogs } from './dialogs';
import type { HardwareKeyService } from './hwkeys';
import type { IdentityService } from './identities';
import type { JobManager } from './jobs';
import type { SettingsService } from './settings';
import type { SaveBack } from './saveback';
import type { PrivateTemp } from './tempfiles';
import type { TransitService } from './transit';
import { formUI } from './ui';
import { zipFolder } from './zip-download';
import { explainIfUnavailable, unavailableError, vaultFolderPresent } from './availability';
import type { HealthReport, OpenVault, TransferProgress, VaultCore, VaultPeek } from './vault-port';

interface KnownVault {
  id: string;
  path: string;
  name: string;
}

interface Unlocked {
  vault: OpenVault;
  timer: NodeJS.Timeout | null;
  lockAt: number | null;
  poll: NodeJS.Timeout | null;
  lastRequests: string;
  lastConflicts: string;
}

const DRAG_OUT_MAX = 256 * 1024 * 1024;

/** What the browser shell's download route serves: one vault file, or a folder as a .zip, decrypted as it is sent. */
export interface DownloadOffer {
  readonly vaultId: string;
  readonly path: string;
  readonly kind: 'file' | 'folder';
  /** The download's file name (a folder's ends in .zip). */
  readonly name: string;
  /** A file's previous version (versions:list), instead of its current content. */
  readonly version?: number;
}

export type LockReason = EventOf<'event:vaultLocked'>['reason'];

export interface VaultServiceDeps {
  dataDir: string;
  core: VaultCore;
  settings: SettingsService;
  identities: IdentityService;
  hwkeys: HardwareKeyService;
  transit: TransitService;
  jobs: JobManager;
  temp: PrivateTemp;
  activity: ActivityLog;
  emit: <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;
  openPath: (p: string) => Promise<string>;
  /** Save-dialog approvals: main writes renderer-named files only where the person chose. */
  dialogs: Pick<ApprovingDialogs, 'takeSaveApproval' | 'takeSourceApprovals' | 'checkFolderApproval'>;
  /** Starts an OS drag of a file from the window (Electron's webContents.startDrag); absent where unsupported. */
  startDrag?: (webContentsId: number, file: string) => void;
  /**
   * Browser shell: registers a one-time download of a vault file for the page `webContentsId` (the
   * bridge connection) and returns its URL path (/download/TOKEN); absent in Electron (native Save).
   */
  offerDownload?: (webContentsId: number, d: DownloadOffer) => string;
  now?: () => number;
  /** How often an unlocked vault is checked for new access requests and conflicts. */
  pollMs?: number;
  /** Save-back of opened files (saveback.ts): tracks "Open" copies, saves them before a lock. */
  saveback?: SaveBack;
  /** "Mount as drive" (drive.ts): stopped (unmounted) before a lock; an idle lock waits for its uploads. */
  drive?: { stop(vaultId: string, reason: LockReason): Promise<unknown>; busy(vaultId: string): boolean };
}

export class VaultService {
  private known: KnownVault[] = [];
  private readonly unlockedVaults = new Map<string, Unlocked>();
  private readonly locking = new Map<string, Promise<void>>();
  private readonly peeks = new Map<string, VaultPeek>();
  private readonly file: string;
  private readonly now: () => number;

  private constructor(private readonly d: VaultServiceDeps) {
    this.file = path.join(d.dataDir, 'vaults.json');
    this.now = d.now ?? Date.now;
    d.settings.onChange(() => {
      for (const id of this.unlockedVaults.keys()) this.touch(id);
    });
  }

  static async load(deps: VaultServiceDeps): Promise<VaultService> {
    const s = new VaultService(deps);
    s.known = await readJson<KnownVault[]>(s.file, []);
    return s;
  }

  /* ------------------------------------------------ list, create, open, forget */

  async list(): Promise<VaultSummary[]> {
    return Promise.all(this.known.map((k) => this.summary(k)));
  }

  private async summary(k: KnownVault): Promise<VaultSummary> {
    const u = this.unlockedVaults.get(k.id);
    if (u && !(await vaultFolderPresent(k.path))) {
      // Unlocked, but the folder is gone (deleted, moved, unplugged): unavailable until it is back.
      return { id: k.id, name: u.vault.name, path: k.path, state: 'missing', autoLockAt: u.lockAt, slots: [], conflicts: 0, pendingRequests: 0 };
    }
    if (u) {
      const slots = await u.vault.slots();
      const conflicts = await u.vault.conflicts().catch(() => []);
      const requests = await u.vault.requests().catch(() => []);
      return { id: k.id, name: u.vault.name, path: k.path, state: 'unlocked', autoLockAt: u.lockAt, slots, conflicts: conflicts.length, pendingRequests: requests.length };
    }
    let peek = this.peeks.get(k.id);
    try {
      peek = await this.d.core.peek(k.path);
      this.peeks.set(k.id, peek);
    } catch (e) {
      const missing = await fsp.stat(k.path).then(() => false, () => true);
      if (missing || !peek) return { id: k.id, name: k.name, path: k.path, state: 'missing', autoLockAt: null, slots: [], conflicts: 0, pendingRequests: 0 };
      void e;
    }
    return { id: k.id, name: peek.name, path: k.path, state: 'locked', autoLockAt: null, slots: peek.slots, conflicts: 0, pendingRequests: 0 };
  }

  private async remember(v: KnownVault): Promise<void> {
    this.known = [...this.known.filter((k) => k.id !== v.id && path.resolve(k.path) !== path.resolve(v.path)), v];
    await writeFileAtomic(this.file, JSON.stringify(this.known, null, 2));
  }

  private find(vaultId: string): KnownVault {
    const k = this.known.find((v) => v.id === vaultId);
    if (!k) throw new CofferError('NOT_FOUND', 'that vault is not in the list any more');
    return k;
  }

  private unlocked(vaultId: string): Unlocked {
    const u = this.unlockedVaults.get(vaultId);
    if (!u) throw new CofferError('VAULT_LOCKED', 'the vault is locked; unlock it first');
    return u;
  }

  async create(req: CreateVaultRequest): Promise<{ vault: VaultSummary; recoveryKeySaved: boolean }> {
    const dir = path.resolve(req.dir);
    // Only a folder the person picked (or a new folder typed directly inside one).
    const useFolderApproval = this.d.dialogs.checkFolderApproval(dir, 'the folder for the new vault', { allowChild: true });
    const recipients: { recipient: string; label: string }[] = [];
    for (const id of req.identityIds) {
      const ident = this.d.identities.get(id);
      recipients.push({ recipient: ident.recipient, label: ident.label });
    }
    for (const r of req.recipients) {
      const parsed = this.d.core.parseRecipient(r.recipient); // a clear error before anything is written
      recipients.push({ recipient: r.recipient.trim(), label: r.label || `member ${parsed.fingerprint ?? ''}`.trim() });
    }
    for (const id of req.hwkeyIds) {
      const hw = this.d.hwkeys.get(id);
      recipients.push({ recipient: hw.recipient, label: hw.label });
    }
    if (req.transit) recipients.push({ recipient: await this.d.transit.recipient(), label: 'Vault Transit' });
    if (req.passphrase === null && recipients.length === 0) throw new CofferError('USAGE', 'choose at least one way to unlock the vault');
    if (req.recoveryKeyPath) {
      this.d.dialogs.takeSaveApproval(req.recoveryKeyPath, 'the recovery key');
      const exists = await fsp.stat(req.recoveryKeyPath).then(() => true, () => false);
      if (exists) throw new CofferError('EXISTS', `${req.recoveryKeyPath} already exists; choose a new file for the recovery key`);
    }
    const ui = formUI({ passphrase: req.passphrase ?? undefined }, (n) => this.notice(n));
    let created: { vault: OpenVault; recoveryKey: string };
    try {
      created = await this.d.core.create(dir, { name: req.name, passphrase: req.passphrase, recipients }, ui);
    } catch (e) {
      this.log(null, req.name, 'create vault', `${dir}: ${toErrorInfo(e).message}`, false);
      throw e;
    }
    let saved = false;
    if (req.recoveryKeyPath) {
      const text = `Coffer recovery key for the vault "${req.name}" (${dir})\nCreated ${new Date(this.now()).toISOString()}.\nIt unlocks the vault if every other key is lost. Keep it offline; anyone with it can open the vault.\n\n${created.recoveryKey}\n`;
      await writeFileAtomic(req.recoveryKeyPath, text, 0o600);
      saved = true;
    }
    useFolderApproval();
    const known = { id: created.vault.id, path: dir, name: created.vault.name };
    await this.remember(known);
    this.attach(known.id, created.vault);
    this.log(known.id, known.name, 'create vault', `${dir}, ${recipients.length + (req.passphrase !== null ? 1 : 0)} key slots${saved ? ', recovery key saved to a file' : ''}`, true);
    return { vault: await this.summary(known), recoveryKeySaved: saved };
  }

  /** A folder from the known-vaults list needs no approval; any other must have been picked in the folder dialog. */
  private folderApproval(dir: string, what: string): () => void {
    if (this.known.some((k) => path.resolve(k.path) === dir)) return () => undefined;
    return this.d.dialogs.checkFolderApproval(dir, what);
  }

  async open(dir: string): Promise<VaultSummary> {
    const abs = path.resolve(dir);
    const useApproval = this.folderApproval(abs, 'the vault folder');
    const peek = await this.d.core.peek(abs);
    useApproval();
    this.peeks.set(peek.id, peek);
    const known = { id: peek.id, path: abs, name: peek.name };
    await this.remember(known);
    this.log(known.id, known.name, 'add vault to list', abs, true);
    return this.summary(known);
  }

  async forget(vaultId: string): Promise<void> {
    if (this.unlockedVaults.has(vaultId)) await this.lock(vaultId, 'manual');
    this.known = this.known.filter((k) => k.id !== vaultId);
    this.peeks.delete(vaultId);
    await writeFileAtomic(this.file, JSON.stringify(this.known, null, 2));
  }

  /* ------------------------------------------------ unlock, lock, auto-lock */

  async unlock(vaultId: string, method: UnlockMethod): Promise<VaultSummary> {
    const k = this.find(vaultId);
    if (this.unlockedVaults.has(vaultId)) return this.summary(k);
    const identities: Identity[] = [];
    const toDestroy: { destroy(): void }[] = [];
    let passphrase: string | undefined;
    let recoveryKey: string | undefined;
    let pin: string | undefined;
    let how: string = method.kind;
    try {
      switch (method.kind) {
        case 'passphrase':
          passphrase = method.passphrase;
          break;
        case 'recovery':
          recoveryKey = method.recoveryKey;
          break;
        case 'identity': {
          const ident = await this.d.identities.unseal(method.identityId);
          identities.push(ident);
          toDestroy.push(ident);
          how = `member key ${this.d.identities.get(method.identityId).label}`;
          break;
        }
        case 'hwkey': {
          const hw = this.d.hwkeys.identity(method.hwkeyId);
          identities.push(hw);
          toDestroy.push({ destroy: () => hw.forgetPin() });
          pin = method.pin;
          how = `hardware key ${this.d.hwkeys.get(method.hwkeyId).label}`;
          break;
        }
        case 'transit':
          identities.push(await this.d.transit.identity());
          how = 'Vault Transit';
          break;
      }
      const ui = formUI({ passphrase, pin }, (n) => this.notice(n));
      const vault = await this.d.core.unlock(k.path, { identities, passphrase, recoveryKey }, ui);
      this.attach(vaultId, vault);
      this.log(vaultId, vault.name, 'unlock', `with ${how}`, true);
      return await this.summary(k);
    } catch (e) {
      this.log(vaultId, k.name, 'unlock', `with ${how}: ${toErrorInfo(e).message}`, false);
      throw e;
    } finally {
      for (const d of toDestroy) d.destroy();
    }
  }

  private attach(vaultId: string, vault: OpenVault): void {
    const u: Unlocked = { vault, timer: null, lockAt: null, poll: null, lastRequests: '', lastConflicts: '' };
    this.unlockedVaults.set(vaultId, u);
    this.touch(vaultId);
    this.d.saveback?.unlocked(vaultId);
    const poll = (): void => void this.checkVault(vaultId);
    u.poll = setInterval(poll, this.d.pollMs ?? 15_000);
    u.poll.unref?.();
    poll();
    // Previous versions and trash past the vault's retention are collected once per unlock (a folder
    // that cannot be written is left for later).
    void vault.collect?.().then((r) => {
      if (r.blobs > 0) this.log(vaultId, vault.name, 'collect', `${r.blobs} old versions and trash entries removed (${r.bytes} bytes freed)`, true);
    }, () => undefined);
  }

  /** Emits conflicts / access-request events when they change. */
  async checkVault(vaultId: string): Promise<void> {
    const u = this.unlockedVaults.get(vaultId);
    if (!u) return;
    try {
      // Re-read what other members and sync clients changed, unless a transfer is writing right now.
      const busy = this.d.jobs.list().some((j) => j.vaultId === vaultId && j.state === 'running');
      if (!busy) await u.vault.refresh();
      const requests = await u.vault.requests();
      const conflicts = await u.vault.conflicts();
      const r = JSON.stringify(requests.map((x) => x.id));
      if (r !== u.lastRequests) {
        u.lastRequests = r;
        if (requests.length > 0 || r !== '[]') this.d.emit('event:accessRequests', { vaultId, requests });
      }
      const c = JSON.stringify(conflicts.map((x) => x.path));
      if (c !== u.lastConflicts) {
        u.lastConflicts = c;
        this.d.emit('event:conflicts', { vaultId, conflicts });
      }
    } catch (e) {
      // Our key is no longer among the members (revoked elsewhere): lock rather than keep serving old keys.
      if (toErrorInfo(e).code === 'NO_IDENTITY') await this.lock(vaultId, 'revoked');
      /* otherwise a vault folder mid-sync can be briefly unreadable; the next poll tries again */
    }
  }

  /** Resets the idle timer (any user activity in this vault). */
  touch(vaultId: string): void {
    const u = this.unlockedVaults.get(vaultId);
    if (!u) return;
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    u.lockAt = null;
    const minutes = this.d.settings.get().autoLockMinutes;
    if (minutes > 0) {
      const ms = minutes * 60_000;
      u.lockAt = this.now() + ms;
      u.timer = setTimeout(() => void this.idle(vaultId), ms);
      u.timer.unref?.();
    }
  }

  private async idle(vaultId: string): Promise<void> {
    // Never lock under a running transfer: try again after another idle period.
    const busy = this.d.jobs.list().some((j) => j.vaultId === vaultId && (j.state === 'running' || j.state === 'queued')) || this.d.drive?.busy(vaultId) === true;
    if (busy) {
      this.touch(vaultId);
      return;
    }
    // Never lock while an opened file holds edits that are not in the vault: save them first, and
    // if that fails, stay unlocked (the window lists them) and try again after another idle period.
    const sb = this.d.saveback;
    if (sb?.hasUnsaved(vaultId)) {
      await sb.flush(vaultId, 'idle');
      if (sb.hasUnsaved(vaultId) && this.unlockedVaults.has(vaultId)) {
        this.log(vaultId, this.unlockedVaults.get(vaultId)?.vault.name ?? null, 'idle lock postponed', 'an opened file has edits that are not saved to the vault yet', true);
        this.touch(vaultId);
        return;
      }
    }
    await this.lock(vaultId, 'idle');
  }

  async lock(vaultId: string, reason: LockReason): Promise<void> {
    const pending = this.locking.get(vaultId);
    if (pending) return pending;
    const run = this.lockNow(vaultId, reason).finally(() => this.locking.delete(vaultId));
    this.locking.set(vaultId, run);
    return run;
  }

  private async lockNow(vaultId: string, reason: LockReason): Promise<void> {
    const u = this.unlockedVaults.get(vaultId);
    if (!u) return;
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    // The drive first: unmounted and stopped (it says which files were still open through it).
    await this.d.drive?.stop(vaultId, reason).catch(() => undefined);
    // Then save-back, while the keys are still here: opened copies that cannot be saved are kept.
    const keep = (await this.d.saveback?.flush(vaultId, reason === 'exit' ? 'quit' : 'lock').catch(() => null)) ?? new Set<string>();
    this.unlockedVaults.delete(vaultId);
    if (u.poll) clearInterval(u.poll);
    await this.d.jobs.cancelAll(vaultId);
    u.vault.close();
    const wiped = await this.d.temp.wipeVault(vaultId, keep).catch(() => 0);
    const kept = [...keep].filter((p) => !p.endsWith('.open.json')).length;
    this.log(vaultId, u.vault.name, 'lock', `${reason}${wiped ? `; ${wiped} opened file${wiped === 1 ? '' : 's'} wiped` : ''}${kept ? `; ${kept} with unsaved edits kept` : ''}`, true);
    this.d.emit('event:vaultLocked', { vaultId, reason });
  }

  /** The unlocked vault with this id, or null (for save-back). */
  openVault(vaultId: string): OpenVault | null {
    return this.unlockedVaults.get(vaultId)?.vault ?? null;
  }

  async lockAll(reason: LockReason): Promise<void> {
    await Promise.all([...this.unlockedVaults.keys()].map((id) => this.lock(id, reason)));
  }

  isUnlocked(vaultId: string): boolean {
    return this.unlockedVaults.has(vaultId);
  }

  /* ------------------------------------------------ files */

  async listFiles(vaultId: string, dir: string): Promise<{ entries: EntryInfo[]; conflicts: ConflictInfo[] }> {
    const u = this.unlocked(vaultId);
    const where = this.find(vaultId).path;
    if (!(await vaultFolderPresent(where))) throw unavailableError();
    const entries = await u.vault.list(dir);
    const conflicts = await u.vault.conflicts();
    return { entries, conflicts };
  }

  addFiles(vaultId: string, sources: string[], to: string): string {
    const u = this.unlocked(vaultId);
    this.d.dialogs.takeSourceApprovals(sources);
    this.touch(vaultId);
    const names = sources.map((s) => path.basename(s));
    const title = `Add ${names.length === 1 ? names[0] : `${names.length} items`} to ${u.vault.name}${to === '/' ? '' : to}`;
    return this.job(vaultId, 'add', title, `${names.join(', ')} → ${to}`, { name: names[0] ?? '', count: names.length }, (ctl) => u.vault.add(sources.map((s) => path.resolve(s)), to, ctl));
  }

  /**
   * Browser-shell uploads: `run` receives the unlocked vault and the job's progress, and adds the files
   * as they arrive (see uploads.ts); `cleanup` runs however the job ends.
   */
  addUploaded(vaultId: string, to: string, title: string, run: (vault: OpenVault, ctl: TransferProgress) => Promise<void>, cleanup: () => Promise<void>, subject: { name: string; count: number } = { name: title, count: 1 }): string {
    const u = this.unlocked(vaultId);
    this.touch(vaultId);
    return this.job(vaultId, 'add', `Add ${title} to ${u.vault.name}${to === '/' ? '' : to}`, `${title} (uploaded) → ${to}`, subject, async (ctl) => {
      try {
        await run(u.vault, ctl);
      } finally {
        await cleanup();
      }
    });
  }

  exportFile(vaultId: string, vpath: string, dest: string): string {
    const u = this.unlocked(vaultId);
    this.d.dialogs.takeSaveApproval(dest, path.posix.basename(vpath));
    this.touch(vaultId);
    return this.job(vaultId, 'export', `Export ${path.posix.basename(vpath)}`, `${vpath} → ${dest}`, { name: path.posix.basename(vpath), count: 1 }, (ctl) => u.vault.get(vpath, path.resolve(dest), ctl));
  }

  openFile(vaultId: string, vpath: string): string {
    const u = this.unlocked(vaultId);
    this.touch(vaultId);
    const name = path.posix.basename(vpath);
    return this.job(vaultId, 'open', `Open ${name}`, vpath, { name, count: 1 }, async (ctl) => {
      const dest = await this.d.temp.pathFor(vaultId, name);
      // The version opened: a save-back commits only over this very version (else both are kept).
      // Read before the content, so a change in between makes a conflict rather than a lost update.
      const opened = await u.vault.fileVersion(vpath);
      await u.vault.get(vpath, dest, ctl);
      if (this.d.saveback && opened) {
        // A private, writable copy (0600 in a 0700 folder): what the person saves goes back to the vault.
        await fsp.chmod(dest, 0o600).catch(() => undefined);
        await this.d.saveback.track(vaultId, u.vault.name, vpath, dest, opened);
      } else await fsp.chmod(dest, 0o400).catch(() => undefined);
      const err = await this.d.openPath(dest);
      if (err) throw new CofferError('IO', `the file was decrypted but could not be opened: ${err}`);
    });
  }

  /**
   * Drag out: decrypts one file into the private temp folder (wiped on lock and exit) and hands it
   * to the OS drag. Limited in size because the drag waits for the decryption.
   */
  async dragOut(vaultId: string, vpath: string, webContentsId: number): Promise<void> {
    const u = this.unlocked(vaultId);
    if (!this.d.startDrag) throw new CofferError('USAGE', 'dragging files out is not available here; use Export');
    this.touch(vaultId);
    const entry = (await u.vault.list(path.posix.dirname(vpath))).find((e) => e.path === vpath);
    if (!entry || entry.type !== 'file') throw new CofferError('NOT_FOUND', `${vpath} is not a file in this vault`);
    if ((entry.size ?? 0) > DRAG_OUT_MAX) throw new CofferError('USAGE', `${entry.name} is too large to drag out (over ${DRAG_OUT_MAX / 1024 / 1024} MiB); use Export instead`);
    const dest = await this.d.temp.pathFor(vaultId, entry.name);
    const controller = new AbortController();
    const quiet = { signal: controller.signal, setTotals: () => undefined, fileStart: () => undefined, progress: () => undefined, fileDone: () => undefined, report: () => undefined };
    await u.vault.get(vpath, dest, quiet);
    await fsp.chmod(dest, 0o400).catch(() => undefined);
    this.d.startDrag(webContentsId, dest);
    this.log(vaultId, u.vault.name, 'drag out', vpath, true);
  }

  /**
   * Browser shell: "Export" and drag-out are a download (a folder: one .zip). Checks what `vpath` is
   * and asks the shell for a one-time URL the page then opens; the plaintext is streamed by sendDownload.
   */
  async exportDownload(vaultId: string, vpath: string, webContentsId: number, version?: number): Promise<{ url: string; name: string }> {
    const u = this.unlocked(vaultId);
    if (!this.d.offerDownload) throw new CofferError('USAGE', 'downloads are only for the browser window; use Export to save a copy');
    this.touch(vaultId);
    if (version !== undefined) {
      // An older version of a file: checked now (it exists, it is kept), named "name (vN).ext" as the Save dialog suggests.
      const kept = (await this.history(vaultId, 'versions')(vpath)).versions.find((v) => v.version === version);
      if (!kept) throw new CofferError('NOT_FOUND', `${path.posix.basename(vpath)} has no version ${version} (any more)`);
      const base = path.posix.basename(vpath);
      const dot = base.lastIndexOf('.');
      const name = dot > 0 ? `${base.slice(0, dot)} (v${version})${base.slice(dot)}` : `${base} (v${version})`;
      const o: DownloadOffer = { vaultId, path: vpath, kind: 'file', name, version };
      return { url: this.d.offerDownload(webContentsId, o), name };
    }
    let offer: DownloadOffer;
    // The whole vault: named after it (its name is free text: no slashes or control characters in a file name).
    // eslint-disable-next-line no-control-regex
    const vaultFileName = u.vault.name.replace(/[/\\\x00-\x1f\x7f]/g, '_').replace(/^\.+$/, '') || 'vault';
    if (vpath === '/') offer = { vaultId, path: '/', kind: 'folder', name: `${vaultFileName}.zip` };
    else {
      const entry = (await u.vault.list(path.posix.dirname(vpath))).find((e) => e.path === vpath);
      if (!entry) throw new CofferError('NOT_FOUND', `${vpath} is not in this vault (any more)`);
      offer = { vaultId, path: vpath, kind: entry.type === 'dir' ? 'folder' : 'file', name: entry.type === 'dir' ? `${entry.name}.zip` : entry.name };
    }
    return { url: this.d.offerDownload(webContentsId, offer), name: offer.name };
  }

  /**
   * Browser shell, the download route: decrypts the offer straight into `out` (the HTTP response) as
   * an export job (progress and cancel in the Jobs panel); a folder as a .zip (zip-download.ts).
   * `onLength` gets the exact byte length before the first byte. Nothing is written to disk.
   */
  sendDownload(d: DownloadOffer, out: Writable, onLength: (bytes: number) => void): string {
    const u = this.unlocked(d.vaultId);
    this.touch(d.vaultId);
    return this.job(d.vaultId, 'export', `Download ${d.name}`, `${d.path} → download`, { name: d.name, count: 1 }, async (ctl) => {
      if (d.kind === 'folder') return zipFolder(u.vault, d.path, d.name.replace(/\.zip$/, ''), out, onLength, ctl);
      if (d.version !== undefined) {
        const readVersionTo = this.history(d.vaultId, 'readVersionTo');
        const kept = (await this.history(d.vaultId, 'versions')(d.path)).versions.find((v) => v.version === d.version);
        if (!kept) throw new CofferError('NOT_FOUND', `${path.posix.basename(d.path)} has no version ${d.version} (any more)`);
        onLength(kept.size);
        await readVersionTo(d.path, d.version, out, ctl);
        return;
      }
      const entry = (await u.vault.list(path.posix.dirname(d.path))).find((e) => e.path === d.path);
      if (!entry || entry.type !== 'file') throw new CofferError('NOT_FOUND', `${d.path} is not in this vault (any more)`);
      onLength(entry.size ?? 0);
      await u.vault.readTo(d.path, out, ctl);
    });
  }

  private job(vaultId: string, kind: 'add' | 'export' | 'open', title: string, detail: string, subject: { name: string; count: number }, run: Parameters<JobManager['start']>[1]): string {
    const name = this.unlockedVaults.get(vaultId)?.vault.name ?? null;
    const where = this.known.find((k) => k.id === vaultId)?.path;
    const id = this.d.jobs.start({ kind, title, vaultId, subject: { ...subject, vault: name ?? '' } }, (ctl) => reportDiskFull(kind, ctl, run).catch(async (e: unknown) => {
      throw where === undefined ? e : await explainIfUnavailable(e, where);
    }));
    void this.d.jobs.wait(id).then(() => {
      const j = this.d.jobs.get(id);
      if (!j) return;
      this.log(vaultId, name, kind, `${detail}${j.state === 'done' ? '' : ` (${j.state}${j.error ? `: ${j.error.message}` : ''})`}`, j.state === 'done');
      if (j.state === 'done' && kind === 'add') void this.checkVault(vaultId);
    });
    return id;
  }

  async mkdir(vaultId: string, vpath: string): Promise<void> {
    await this.op(vaultId, 'new folder', vpath, (v) => v.mkdir(vpath));
  }

  async move(vaultId: string, from: string, to: string): Promise<void> {
    await this.op(vaultId, 'move', `${from} → ${to}`, (v) => v.move(from, to));
  }

  /** Moves to the trash; the trash id lets the window offer Undo (trash:restore). */
  async remove(vaultId: string, vpath: string, recursive: boolean): Promise<string | null> {
    return (await this.op(vaultId, 'delete', `${vpath} (to the trash)`, (v) => v.remove(vpath, recursive))) ?? null;
  }

  /* ------------------------------------------------ versions and trash (issue 10 part 3) */

  private history<K extends 'versions' | 'restoreVersion' | 'getVersion' | 'readVersionTo' | 'trash' | 'restoreFromTrash' | 'emptyTrash' | 'setRetention'>(vaultId: string, k: K): NonNullable<OpenVault[K]> {
    const f = this.unlocked(vaultId).vault[k];
    if (!f) throw new CofferError('USAGE', 'this vault does not keep versions');
    return f.bind(this.unlocked(vaultId).vault) as NonNullable<OpenVault[K]>;
  }

  async versions(vaultId: string, vpath: string): Promise<{ versions: FileVersion[]; retention: Retention }> {
    this.touch(vaultId);
    return this.history(vaultId, 'versions')(vpath);
  }

  async restoreVersion(vaultId: string, vpath: string, version: number): Promise<{ path: string; version: number }> {
    const restore = this.history(vaultId, 'restoreVersion');
    return this.op(vaultId, 'restore version', `${vpath}: version ${version}`, () => restore(vpath, version));
  }

  /** Writes one version to a path the person picked in the Save dialog (as exportFile). */
  exportVersion(vaultId: string, vpath: string, version: number, dest: string): string {
    const get = this.history(vaultId, 'getVersion');
    this.d.dialogs.takeSaveApproval(dest, path.posix.basename(vpath));
    this.touch(vaultId);
    return this.job(vaultId, 'export', `Export ${path.posix.basename(vpath)} (version ${version})`, `${vpath} version ${version} → ${dest}`, { name: `${path.posix.basename(vpath)} (${version})`, count: 1 }, (ctl) => get(vpath, version, path.resolve(dest), ctl));
  }

  async trash(vaultId: string): Promise<{ entries: TrashEntry[]; retention: Retention }> {
    this.touch(vaultId);
    return this.history(vaultId, 'trash')();
  }

  async restoreFromTrash(vaultId: string, id: string): Promise<{ path: string }> {
    const restore = this.history(vaultId, 'restoreFromTrash');
    const r = await this.op(vaultId, 'restore from trash', id, () => restore(id));
    return r;
  }

  async setRetention(vaultId: string, r: Retention): Promise<Retention> {
    const set = this.history(vaultId, 'setRetention');
    return this.op(vaultId, 'retention', `${r.versions} versions, ${r.days} days`, () => set(r));
  }

  async emptyTrash(vaultId: string, ids?: string[]): Promise<{ emptied: number; blobs: number; pending: number }> {
    const empty = this.history(vaultId, 'emptyTrash');
    return this.op(vaultId, 'empty trash', ids ? `${ids.length} entries` : 'all entries', () => empty(ids));
  }

  async resolveConflict(vaultId: string, vpath: string, keep: 'both' | 'mine' | 'theirs'): Promise<void> {
    await this.op(vaultId, 'resolve conflict', `${vpath}: keep ${keep}`, (v) => v.resolveConflict(vpath, keep));
    await this.checkVault(vaultId);
  }

  private async op<T>(vaultId: string, action: string, detail: string, f: (v: OpenVault) => Promise<T>): Promise<T> {
    const u = this.unlocked(vaultId);
    this.touch(vaultId);
    try {
      const r = await f(u.vault);
      this.log(vaultId, u.vault.name, action, detail, true);
      return r;
    } catch (e) {
      const shown = await explainIfUnavailable(e, this.find(vaultId).path);
      this.log(vaultId, u.vault.name, action, `${detail}: ${toErrorInfo(shown).message}`, false);
      throw shown;
    }
  }

  /* ------------------------------------------------ members */

  async members(vaultId: string): Promise<{ slots: SlotInfo[]; pending: AccessRequest[] }> {
    const u = this.unlocked(vaultId);
    const [slots, pending] = await Promise.all([u.vault.slots(), u.vault.requests()]);
    return { slots, pending };
  }

  async grant(vaultId: string, recipient: string, label: string): Promise<SlotInfo> {
    const r = this.d.core.parseRecipient(recipient);
    const slot = await this.op(vaultId, 'grant', `${label || 'member'} (${r.fingerprint ?? r.type})`, (v) => v.grant(recipient.trim(), label));
    await this.checkVault(vaultId);
    return slot;
  }

  async revoke(vaultId: string, slotId: string, reencrypt: boolean): Promise<{ rotatedTo: number | null; reencryptedFiles: number }> {
    const u = this.unlocked(vaultId);
    const slot = (await u.vault.slots()).find((s) => s.id === slotId);
    const what = slot ? `${slot.label || slot.type} (${slot.fingerprint ?? slot.type})` : slotId;
    if (!reencrypt) return this.op(vaultId, 'revoke', `${what}; vault key rotated`, (v) => v.revoke(slotId, false, null));
    // Re-encrypting rewrites every blob: run it as a job so it shows progress and can be cancelled.
    let result: { rotatedTo: number | null; reencryptedFiles: number } = { rotatedTo: null, reencryptedFiles: 0 };
    const id = this.d.jobs.start({ kind: 'reencrypt', title: `Revoke ${slot?.label || 'slot'} and re-encrypt ${u.vault.name}`, vaultId, subject: { name: slot?.label || slot?.type || slotId, count: 1, vault: u.vault.name } }, async (ctl) => {
      result = await u.vault.revoke(slotId, true, ctl);
    });
    await this.d.jobs.wait(id);
    const j = this.d.jobs.get(id);
    this.log(vaultId, u.vault.name, 'revoke', `${what}; rotated and re-encrypted ${result.reencryptedFiles} files${j?.state === 'done' ? '' : ` (${j?.state})`}`, j?.state === 'done');
    if (j?.state !== 'done') throw new CofferError(j?.error?.code === 'CANCELLED' || j?.state === 'cancelled' ? 'CANCELLED' : 'INTERNAL', j?.error?.message ?? 'the re-encryption did not finish');
    return result;
  }

  async rotate(vaultId: string): Promise<{ epoch: number; records: number }> {
    return this.op(vaultId, 'rotate', 'new vault key; records rewrapped', (v) => v.rotate());
  }

  async dismissRequest(vaultId: string, requestId: string): Promise<void> {
    await this.op(vaultId, 'dismiss access request', requestId, (v) => v.dismissRequest(requestId));
    await this.checkVault(vaultId);
  }

  async requestAccess(dir: string, identityId: string, name: string): Promise<void> {
    const ident = this.d.identities.get(identityId);
    const abs = path.resolve(dir);
    const useApproval = this.folderApproval(abs, 'the shared vault folder');
    await this.d.core.requestAccess(abs, ident.recipient, name);
    useApproval();
    this.log(null, null, 'request access', `${dir} as ${name} (${ident.fingerprint})`, true);
  }

  /* ------------------------------------------------ issue 11: admin tasks in the app */

  async changePassphrase(vaultId: string, passphrase: string): Promise<SlotInfo> {
    return this.op(vaultId, 'change passphrase', 'passphrase slot rewrapped; no content re-encrypted', (v) => {
      if (!v.passwd) throw new CofferError('USAGE', 'changing the passphrase is not available here');
      return v.passwd(passphrase);
    });
  }

  async grantTransit(vaultId: string): Promise<SlotInfo> {
    const recipient = await this.d.transit.recipient();
    return this.grant(vaultId, recipient, 'Vault Transit');
  }

  async healthCheck(vaultId: string, repair: boolean): Promise<HealthReport> {
    return this.op(vaultId, repair ? 'repair' : 'health check', repair ? 'removed proven leftovers' : 'verify', (v) => {
      if (!v.verify) throw new CofferError('USAGE', 'the health check is not available here');
      return v.verify(repair);
    });
  }

  /* ------------------------------------------------ helpers */

  private notice(n: ProviderNotice): void {
    this.d.emit('event:notice', { kind: n.kind, message: n.message });
  }

  private log(vaultId: string | null, vaultName: string | null, action: string, detail: string, ok: boolean): void {
    this.d.activity.add({ vaultId, vaultName, action, detail, ok });
  }
}

/** Whether an error means the disk (or the user's quota) is full. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'DISK_FULL') return true;
  const cause = (e as { cause?: unknown } | null)?.cause;
  if (cause && cause !== e && isDiskFull(cause)) return true;
  return /no space left on device|disk (is )?full|quota exceeded/i.test(toErrorInfo(e).message);
}

/**
 * Runs a transfer job and, if the disk fills up, fails it with one message that names the file it
 * was writing ("the disk is full while adding /a/b.bin"), rather than a bare errno.
 */
async function reportDiskFull(kind: 'add' | 'export' | 'open', ctl: TransferProgress, run: (ctl: TransferProgress) => Promise<void>): Promise<void> {
  let current: string | null = null;
  const tracking: TransferProgress = {
    signal: ctl.signal,
    setTotals: (f, b) => ctl.setTotals(f, b),
    fileStart: (n, size) => {
      current = n;
      ctl.fileStart(n, size);
    },
    progress: (b) => ctl.progress(b),
    fileDone: () => ctl.fileDone(),
    report: (p) => {
      if (p.current) current = p.current;
      ctl.report(p);
    },
  };
  try {
    await run(tracking);
  } catch (e) {
    if (!isDiskFull(e)) throw e;
    const what = kind === 'add' ? 'adding' : kind === 'export' ? 'exporting' : 'opening';
    const where = kind === 'add' ? 'the vault folder' : 'the destination';
    throw new CofferError('IO', `the disk is full: ${what} ${current ?? 'a file'} stopped (nothing half-written was left in ${where}); free some space and try again`, { cause: e });
  }
}
