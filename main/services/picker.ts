/**
 * The in-app picker: what stands in for native Open/Save/folder dialogs where there are none
 * (the browser shell, `coffer ui`). A dialog call opens a picker session and tells the window
 * (event:picker); the window browses with picker:list and answers with picker:done. Main lists
 * and accepts only paths inside the allowed roots (the user's home and mounted volumes), checks
 * the choice fits the dialog (a folder for a folder dialog, an existing file for an open dialog,
 * a new name in an existing folder for a save dialog), and only then returns it to the dialog's
 * caller, where ApprovingDialogs records it as picked, exactly as for a native dialog.
 */
import { promises as fsp, readdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CofferError } from '../core/errors';
import type { EventChannel, EventOf, PickerListing } from '../../preload/contract';
import type { Dialogs } from './dialogs';

type Mode = EventOf<'event:picker'>['mode'];

interface Session {
  id: string;
  mode: Mode;
  resolve: (paths: string[] | null) => void;
  timer: NodeJS.Timeout;
}

export interface PickerOptions {
  emit: <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;
  /** Folders the picker may show (default: home and mounted volumes). */
  roots?: readonly { label: string; path: string }[];
  /** Extra folders a PKCS#11 module may be picked from (default: the system's library folders). */
  moduleRoots?: readonly { label: string; path: string }[];
  /** Where a picker starts (default: the first root). */
  start?: string;
  /** How long a picker waits for an answer (default 15 minutes). */
  timeoutMs?: number;
  /** Most entries listed per folder. */
  maxEntries?: number;
}

/** Home and the usual mount points of removable and network volumes on this platform. */
export function defaultRoots(platform: NodeJS.Platform = process.platform, home: string = os.homedir(), user: string = os.userInfo().username): { label: string; path: string }[] {
  const roots = [{ label: 'Home', path: home }];
  const add = (dir: string): void => {
    try {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        if (d.isDirectory()) roots.push({ label: d.name, path: path.join(dir, d.name) });
      }
    } catch {
      /* no such mount folder */
    }
  };
  if (platform === 'darwin') add('/Volumes');
  else if (platform === 'win32') {
    for (const l of 'CDEFGHIJKLMNOPQRSTUVWXYZ') roots.push({ label: `${l}:`, path: `${l}:\\` });
  } else {
    add(`/media/${user}`);
    add(`/run/media/${user}`);
    add('/mnt');
  }
  return roots;
}

/** Where shared libraries live: a module picker may also look there (listing only). */
export function defaultModuleRoots(platform: NodeJS.Platform = process.platform): { label: string; path: string }[] {
  const dirs = platform === 'win32' ? ['C:\\Program Files', 'C:\\Program Files (x86)', 'C:\\Windows\\System32'] : platform === 'darwin' ? ['/Library', '/usr/local/lib', '/opt/homebrew/lib'] : ['/usr/lib', '/usr/lib64', '/usr/local/lib', '/opt'];
  return dirs.map((d) => ({ label: d, path: d }));
}

type Root = { label: string; path: string; real: string };

function resolveRoots(list: readonly { label: string; path: string }[]): Root[] {
  return list.flatMap((r) => {
    try {
      return [{ ...r, real: realpathSync(r.path) }];
    } catch {
      return [];
    }
  });
}

export class PickerService {
  private readonly sessions = new Map<string, Session>();
  private readonly userRoots: Root[];
  private readonly moduleRoots: Root[];
  private readonly timeoutMs: number;
  private readonly maxEntries: number;

  constructor(private readonly opts: PickerOptions) {
    this.userRoots = resolveRoots(opts.roots ?? defaultRoots());
    this.moduleRoots = [...this.userRoots, ...resolveRoots(opts.moduleRoots ?? defaultModuleRoots())];
    this.timeoutMs = opts.timeoutMs ?? 15 * 60_000;
    this.maxEntries = opts.maxEntries ?? 5000;
  }

  /** The dialogs a shell without native ones passes to createServices. */
  dialogs(): Required<Dialogs> {
    return {
      pickFolder: async (title) => (await this.open('folder', title, ''))?.[0] ?? null,
      pickFiles: async (title, folders) => (await this.open(folders ? 'folders' : 'files', title, '')) ?? [],
      saveFile: async (title, defaultName) => (await this.open('save', title, defaultName))?.[0] ?? null,
      pickModule: async (title) => (await this.open('module', title, ''))?.[0] ?? null,
    };
  }

  /** Opens a picker in the window; resolves with the checked choice, or null if cancelled. */
  open(mode: Mode, title: string, defaultName: string): Promise<string[] | null> {
    // One picker at a time: a new dialog cancels the one before.
    for (const s of this.sessions.values()) this.finish(s, null);
    const id = randomBytes(12).toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(this.sessions.get(id), null), this.timeoutMs);
      timer.unref?.();
      this.sessions.set(id, { id, mode, resolve, timer });
      const start = this.opts.start && this.inside(this.opts.start) ? this.opts.start : (this.userRoots[0]?.path ?? os.homedir());
      this.opts.emit('event:picker', { pickerId: id, mode, title, defaultName, start });
    });
  }

  private finish(s: Session | undefined, paths: string[] | null): void {
    if (!s) return;
    clearTimeout(s.timer);
    this.sessions.delete(s.id);
    s.resolve(paths);
  }

  private session(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new CofferError('USAGE', 'that picker is closed (only a dialog Coffer opened can be answered)');
    return s;
  }

  private rootsFor(mode: Mode | null): Root[] {
    return mode === 'module' ? this.moduleRoots : this.userRoots;
  }

  /** The real path of `p` if it lies inside a root, else null (symlinks are resolved first). */
  private inside(p: string, mode: Mode | null = null): string | null {
    if (!path.isAbsolute(p)) return null;
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      return null;
    }
    return this.rootsFor(mode).some((r) => real === r.real || real.startsWith(r.real.endsWith(path.sep) ? r.real : r.real + path.sep)) ? real : null;
  }

  async list(pickerId: string, dir?: string): Promise<PickerListing> {
    const s = this.session(pickerId);
    const wanted = dir ?? this.userRoots[0]?.path ?? os.homedir();
    const real = this.inside(wanted, s.mode);
    if (!real) throw new CofferError('USAGE', `${wanted} is outside the folders Coffer may show (your home folder and mounted volumes)`);
    const st = await fsp.stat(real);
    if (!st.isDirectory()) throw new CofferError('USAGE', `${wanted} is not a folder`);
    const showFiles = s.mode === 'files' || s.mode === 'module' || s.mode === 'save';
    const entries: PickerListing['entries'] = [];
    for (const d of (await fsp.readdir(real, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entries.length >= this.maxEntries) break;
      const p = path.join(real, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        const t = await fsp.stat(p).catch(() => null);
        if (!t || !this.inside(p, s.mode)) continue; // a link out of the allowed folders is not shown
        isDir = t.isDirectory();
        isFile = t.isFile();
      }
      if (isDir) entries.push({ name: d.name, path: p, type: 'dir', size: null });
      else if (isFile && showFiles) entries.push({ name: d.name, path: p, type: 'file', size: (await fsp.stat(p).catch(() => null))?.size ?? null });
    }
    const parent = path.dirname(real);
    return { dir: real, parent: parent !== real && this.inside(parent, s.mode) ? parent : null, roots: this.rootsFor(s.mode).map(({ label, path: p }) => ({ label, path: p })), entries };
  }

  /** The window's answer: checked against the dialog's mode and the roots before the caller sees it. */
  async done(pickerId: string, paths: string[] | null): Promise<void> {
    const s = this.session(pickerId);
    if (paths === null || paths.length === 0) {
      this.finish(s, null);
      return;
    }
    if ((s.mode === 'folder' || s.mode === 'save' || s.mode === 'module') && paths.length !== 1) throw new CofferError('USAGE', 'choose one item');
    const checked: string[] = [];
    for (const p of paths) {
      if (s.mode === 'save') {
        const name = path.basename(p);
        const dir = this.inside(path.dirname(p));
        if (!dir || !name || name === '.' || name === '..') throw new CofferError('USAGE', `${p}: choose a file name in a folder inside your home folder or a mounted volume`);
        checked.push(path.join(dir, name));
        continue;
      }
      const real = this.inside(p, s.mode);
      if (!real) throw new CofferError('USAGE', `${p} is outside the folders Coffer may use (your home folder and mounted volumes)`);
      const st = await fsp.stat(real);
      const wantDir = s.mode === 'folder' || s.mode === 'folders';
      if (wantDir && !st.isDirectory()) throw new CofferError('USAGE', `${p} is not a folder`);
      if ((s.mode === 'module' || s.mode === 'files') && !st.isFile()) throw new CofferError('USAGE', `${p} is not a file`);
      checked.push(real);
    }
    this.finish(s, checked);
  }
}
