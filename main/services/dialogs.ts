/**
 * Native dialogs, and the places they approve. The main process trusts no path from the window:
 * - it writes files the window asks for (an export, the recovery key) only at a path the person
 *   picked in a Save dialog;
 * - it adds to a vault only files picked in the Open dialog or really dropped on the window;
 * - it creates, opens or requests access to a vault only in a folder picked in the folder dialog
 *   (or, for open and request-access, one already in the known-vaults list; a new vault may also
 *   be a new sub-folder typed under a picked folder);
 * - it loads a PKCS#11 module only from a file picked in the module dialog (remembered in a file
 *   the window cannot write) or from the known install locations (see hwkeys.ts).
 * A compromised renderer can then not make Coffer drop vault content into an autostart folder,
 * slip ~/.ssh into a shared vault, or dlopen a library planted in a sync folder.
 */
import path from 'node:path';
import { CofferError } from '../core/errors';

export interface Dialogs {
  pickFolder(title: string): Promise<string | null>;
  pickFiles(title: string, folders: boolean): Promise<string[]>;
  saveFile(title: string, defaultName: string): Promise<string | null>;
  /** A PKCS#11 module file (shared library). Falls back to pickFiles when the shell has no filter. */
  pickModule?(title: string): Promise<string | null>;
}

export interface ApprovingDialogs extends Required<Dialogs> {
  /** Consumes the approval of a path returned by saveFile (each approval is good for one write, for 10 minutes). */
  takeSaveApproval(file: string, what: string): void;
  /** Records a path the person dropped on the window (reported by the preload). */
  approveDropped(file: string): void;
  /** Checks every source of an add was picked in the Open dialog or dropped (approvals are used up). */
  takeSourceApprovals(files: readonly string[]): void;
  /**
   * Checks `dir` was picked in the folder dialog (or, with `allowChild`, is a direct sub-folder of
   * a picked folder). Returns the function that uses the approval up (call it once the operation
   * succeeded, so a failed attempt can be retried without picking again).
   */
  checkFolderApproval(dir: string, what: string, opts?: { allowChild?: boolean }): () => void;
  /** Whether `file` was returned by pickModule (this run or an earlier one: see hwkeys.ts). */
  wasModulePicked(file: string): boolean;
  /** Listens for module picks (hwkeys.ts persists them). */
  onModulePicked(l: (file: string) => void): void;
}

const TTL_MS = 10 * 60_000;

export function approvingDialogs(native: Dialogs, now: () => number = Date.now): ApprovingDialogs {
  const approved = new Map<string, number>();
  const sources = new Map<string, number>();
  const folders = new Map<string, number>();
  const modules = new Set<string>();
  const moduleListeners: ((file: string) => void)[] = [];
  const live = (m: Map<string, number>, key: string): boolean => (m.get(key) ?? 0) >= now();
  return {
    async pickFolder(title) {
      const p = await native.pickFolder(title);
      if (p) folders.set(path.resolve(p), now() + TTL_MS);
      return p;
    },
    async pickFiles(title, folders_) {
      const picked = await native.pickFiles(title, folders_);
      for (const p of picked) sources.set(path.resolve(p), now() + TTL_MS);
      return picked;
    },
    async pickModule(title) {
      const p = native.pickModule ? await native.pickModule(title) : ((await native.pickFiles(title, false))[0] ?? null);
      if (p) {
        const abs = path.resolve(p);
        modules.add(abs);
        for (const l of moduleListeners) l(abs);
      }
      return p;
    },
    approveDropped(file) {
      sources.set(path.resolve(file), now() + TTL_MS);
    },
    takeSourceApprovals(files) {
      const missing = files.filter((f) => !live(sources, path.resolve(f)));
      if (missing.length > 0) throw new CofferError('USAGE', `add files by dropping them on the window or with Add files… (not chosen that way: ${missing.map((m) => path.basename(m)).join(', ')})`);
      for (const f of files) sources.delete(path.resolve(f));
    },
    async saveFile(title, defaultName) {
      const p = await native.saveFile(title, defaultName);
      if (p) approved.set(path.resolve(p), now() + TTL_MS);
      return p;
    },
    takeSaveApproval(file, what) {
      const key = path.resolve(file);
      const until = approved.get(key);
      approved.delete(key);
      if (until === undefined || until < now()) throw new CofferError('USAGE', `choose where to save ${what} with the Save dialog (Choose…)`);
    },
    checkFolderApproval(dir, what, opts = {}) {
      const abs = path.resolve(dir);
      const key = live(folders, abs) ? abs : opts.allowChild && live(folders, path.dirname(abs)) ? path.dirname(abs) : null;
      if (key === null) throw new CofferError('USAGE', `choose ${what} with Choose… (Coffer uses only folders picked in its folder dialog)`);
      return () => void folders.delete(key);
    },
    wasModulePicked: (file) => modules.has(path.resolve(file)),
    onModulePicked(l) {
      moduleListeners.push(l);
    },
  };
}
