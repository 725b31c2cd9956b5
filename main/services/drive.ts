/**
 * "Mount as drive" (issue 10 part 2): per unlocked vault, a WebDAV server on 127.0.0.1 with a
 * random per-session password, mounted with the platform's own client (mount.ts).
 *
 * The password stays in main. It goes straight to the OS client (stdin of `gio mount`, AppleScript
 * on stdin, `net use`), and when the person needs it for another client, "Copy password" puts it
 * on the clipboard from main (cleared again after a minute if it is still there). The window only
 * ever sees the URL, the user name and how the drive was mounted (docs/SECURITY.md, "The drive").
 *
 * Lock, idle lock and quit stop the drive first: they unmount, stop the server (uploads still
 * streaming in are abandoned, nothing half-written enters the vault) and say which files were still
 * open through it. An idle lock waits while an upload through the drive is under way.
 */
import { randomBytes } from 'node:crypto';
import { CofferError } from '../core/errors';
import type { DriveStatus, EventChannel, EventOf } from '../../preload/contract';
import type { ActivityLog } from './activity';
import { mountDrive, showCommand, unmountDrive, clipboardCommands, type Mounted, type Runner } from './mount';
import type { DriveOpenFile, DriveServer, OpenVault } from './vault-port';

export const DRIVE_USER = 'coffer';

/** Where "Copy password" writes: Electron's clipboard in the app, the platform's tools in `coffer ui`. */
export interface Clipboard {
  write(text: string): Promise<void>;
  /** Absent where the clipboard cannot be read back (then it is not cleared after the minute). */
  read?(): Promise<string>;
}

/** unmount: the person's Unmount; the others are the vault's lock reasons. */
export type DriveStopReason = 'unmount' | 'manual' | 'idle' | 'exit' | 'revoked';

export interface DriveServiceDeps {
  platform: NodeJS.Platform;
  run: Runner;
  clipboard: Clipboard | null;
  /** The unlocked vault with this id, or null. */
  vault: (vaultId: string) => OpenVault | null;
  /** Activity through the drive keeps the vault from idle-locking. */
  touch: (vaultId: string) => void;
  activity: ActivityLog;
  emit: <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;
  /** How long the password stays on the clipboard (default 60 s). */
  clipboardClearMs?: number;
}

interface Drive {
  readonly vaultName: string;
  readonly server: DriveServer;
  password: string;
  readonly readOnly: boolean;
  mounted: Mounted;
}

const KIND_WORDS: Record<DriveOpenFile['kind'], string> = { upload: 'upload in progress', download: 'being read', lock: 'locked by an application' };

/** "/a.txt (upload in progress), /b.docx (locked by an application)" */
export function describeOpenFiles(files: readonly DriveOpenFile[]): string {
  return files.map((f) => `${f.path} (${KIND_WORDS[f.kind]})`).join(', ');
}

export class DriveService {
  private readonly drives = new Map<string, Drive>();
  private readonly starting = new Map<string, Promise<DriveStatus>>();
  private clipboardTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: DriveServiceDeps) {}

  status(vaultId: string): DriveStatus {
    const dr = this.drives.get(vaultId);
    if (!dr) return { vaultId, running: false, url: null, user: null, readOnly: false, how: null, location: null, notes: [], openFiles: [] };
    return {
      vaultId, running: true, url: dr.server.url, user: DRIVE_USER, readOnly: dr.readOnly,
      how: dr.mounted.how, location: dr.mounted.location, notes: [...dr.mounted.notes], openFiles: dr.server.openFiles(),
    };
  }

  /** Whether an upload through the drive is streaming in (an idle lock waits for it). */
  busy(vaultId: string): boolean {
    return this.drives.get(vaultId)?.server.openFiles().some((f) => f.kind === 'upload') ?? false;
  }

  /** Starts the server and mounts it; a second call while it runs answers with its status. */
  mount(vaultId: string, readOnly: boolean): Promise<DriveStatus> {
    if (this.drives.has(vaultId)) return Promise.resolve(this.status(vaultId));
    const pending = this.starting.get(vaultId);
    if (pending) return pending;
    const run = this.start(vaultId, readOnly).finally(() => this.starting.delete(vaultId));
    this.starting.set(vaultId, run);
    return run;
  }

  private async start(vaultId: string, readOnly: boolean): Promise<DriveStatus> {
    const v = this.d.vault(vaultId);
    if (!v) throw new CofferError('VAULT_LOCKED', 'the vault is locked; unlock it first');
    if (!v.serveDrive) throw new CofferError('USAGE', 'mounting as a drive is not available here');
    const password = randomBytes(18).toString('base64url');
    const server = await v.serveDrive({
      user: DRIVE_USER, password, readOnly,
      onActivity: () => this.d.touch(vaultId),
      onError: (m) => this.d.activity.add({ vaultId, vaultName: v.name, action: 'drive error', detail: m, ok: false }),
    });
    // The vault may have locked while the server started.
    if (!this.d.vault(vaultId)) {
      await server.close();
      throw new CofferError('VAULT_LOCKED', 'the vault was locked while the drive started');
    }
    const mounted = await mountDrive(this.d.platform, { url: server.url, port: server.port, user: DRIVE_USER, password }, this.d.run);
    const drive: Drive = { vaultName: v.name, server, password, readOnly, mounted };
    this.drives.set(vaultId, drive);
    if (!this.d.vault(vaultId)) {
      await this.stop(vaultId, 'unmount');
      throw new CofferError('VAULT_LOCKED', 'the vault was locked while the drive started');
    }
    const how = { gio: 'mounted with gio', 'file-manager': 'opened in the file manager', macos: 'mounted in Finder', windows: 'mapped with net use', manual: 'not mounted: connect a WebDAV client by hand' }[mounted.how];
    this.d.activity.add({ vaultId, vaultName: v.name, action: 'mount as drive', detail: `${server.url}${readOnly ? ' read-only' : ''}, ${how}${mounted.location ? ` (${mounted.location})` : ''}`, ok: true });
    const st = this.status(vaultId);
    this.d.emit('event:drive', st);
    return st;
  }

  /** Opens the mounted drive in the file manager. */
  async show(vaultId: string): Promise<void> {
    const dr = this.mustRun(vaultId);
    const cmd = showCommand(this.d.platform, dr.mounted);
    if (!cmd) throw new CofferError('USAGE', 'the drive is not mounted on this computer; connect to its address with a WebDAV client');
    const r = await this.d.run(cmd).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
    if (r.code !== 0) throw new CofferError('IO', `the file manager could not be opened (${cmd.file}: ${r.stderr.trim() || `exit code ${r.code}`})`);
  }

  /** Puts the password on the clipboard (from main; it never reaches the window). */
  async copyPassword(vaultId: string): Promise<{ clearsAfterSeconds: number | null }> {
    const dr = this.mustRun(vaultId);
    const cb = this.d.clipboard;
    if (!cb) throw new CofferError('USAGE', 'no clipboard is available to Coffer here (install wl-clipboard, xclip or xsel)');
    await cb.write(dr.password);
    const ms = this.d.clipboardClearMs ?? 60_000;
    if (!cb.read) return { clearsAfterSeconds: null };
    if (this.clipboardTimer) clearTimeout(this.clipboardTimer);
    const copied = dr.password;
    this.clipboardTimer = setTimeout(() => {
      this.clipboardTimer = null;
      // Only if it still holds the password: never wipe what the person copied since.
      void cb.read?.().then((now) => (now === copied ? cb.write('') : undefined)).catch(() => undefined);
    }, ms);
    this.clipboardTimer.unref?.();
    return { clearsAfterSeconds: Math.round(ms / 1000) };
  }

  private mustRun(vaultId: string): Drive {
    const dr = this.drives.get(vaultId);
    if (!dr) throw new CofferError('NOT_FOUND', 'the drive is not running; mount it first');
    return dr;
  }

  /**
   * Unmounts and stops the server. Returns the files that were still open through the drive at
   * that moment (their uploads are abandoned); lock and quit report them in the activity log and
   * as a notice.
   */
  async stop(vaultId: string, reason: DriveStopReason): Promise<DriveOpenFile[]> {
    const pending = this.starting.get(vaultId);
    if (pending) await pending.catch(() => undefined);
    const dr = this.drives.get(vaultId);
    if (!dr) return [];
    const open = dr.server.openFiles();
    this.drives.delete(vaultId);
    const note = await unmountDrive(dr.mounted, this.d.run);
    await dr.server.close();
    dr.password = '';
    const why = reason === 'unmount' ? 'unmounted' : reason === 'manual' ? 'stopped as the vault was locked' : reason === 'idle' ? 'stopped by the idle lock' : reason === 'exit' ? 'stopped as Coffer quit' : 'stopped: this computer\'s access was revoked';
    const openText = open.length > 0 ? `; still open through the drive: ${describeOpenFiles(open)}` : '';
    this.d.activity.add({ vaultId, vaultName: dr.vaultName, action: 'drive stopped', detail: `${why}${openText}${note ? `; the system client said: ${note}` : ''}`, ok: open.length === 0 && note === null });
    if (open.length > 0) {
      this.d.emit('event:notice', { kind: 'info', message: `The drive of ${dr.vaultName} was ${why}. These files were still open through it: ${describeOpenFiles(open)}. Uploads that had not finished did not reach the vault.` });
    }
    this.d.emit('event:drive', this.status(vaultId));
    return open;
  }

  async stopAll(reason: DriveStopReason): Promise<void> {
    await Promise.all([...this.drives.keys()].map((id) => this.stop(id, reason)));
  }
}

/** The clipboard of a main process without Electron (`coffer ui`): the platform's own tools. */
export function toolClipboard(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, run: Runner): Clipboard {
  return {
    async write(text) {
      const tried: string[] = [];
      for (const c of clipboardCommands(platform, env)) {
        try {
          const r = await run({ ...c, stdin: text });
          if (r.code === 0) return;
          tried.push(`${c.file}: exit code ${r.code}`);
        } catch (e) {
          tried.push(`${c.file}: ${(e as { code?: string }).code === 'ENOENT' ? 'not installed' : (e as Error).message}`);
        }
      }
      throw new CofferError('IO', `the password could not be put on the clipboard (${tried.join('; ')})`);
    },
  };
}
