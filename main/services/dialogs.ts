/**
 * Native dialogs, and the places they approve. Main writes files the window asks for (an export,
 * the recovery key) only at a path the person picked in a Save dialog: a compromised renderer can
 * then not make Coffer drop vault content into, say, an autostart folder.
 */
import path from 'node:path';
import { CofferError } from '../core/errors';

export interface Dialogs {
  pickFolder(title: string): Promise<string | null>;
  pickFiles(title: string, folders: boolean): Promise<string[]>;
  saveFile(title: string, defaultName: string): Promise<string | null>;
}

export interface ApprovingDialogs extends Dialogs {
  /** Consumes the approval of a path returned by saveFile (each approval is good for one write, for 10 minutes). */
  takeSaveApproval(file: string, what: string): void;
  /** Records a path the person dropped on the window (reported by the preload). */
  approveDropped(file: string): void;
  /** Checks every source of an add was picked in the Open dialog or dropped (approvals are used up). */
  takeSourceApprovals(files: readonly string[]): void;
}

const TTL_MS = 10 * 60_000;

export function approvingDialogs(native: Dialogs, now: () => number = Date.now): ApprovingDialogs {
  const approved = new Map<string, number>();
  const sources = new Map<string, number>();
  return {
    pickFolder: (title) => native.pickFolder(title),
    async pickFiles(title, folders) {
      const picked = await native.pickFiles(title, folders);
      for (const p of picked) sources.set(path.resolve(p), now() + TTL_MS);
      return picked;
    },
    approveDropped(file) {
      sources.set(path.resolve(file), now() + TTL_MS);
    },
    takeSourceApprovals(files) {
      const t = now();
      const missing = files.filter((f) => (sources.get(path.resolve(f)) ?? 0) < t);
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
  };
}
