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
}

const TTL_MS = 10 * 60_000;

export function approvingDialogs(native: Dialogs, now: () => number = Date.now): ApprovingDialogs {
  const approved = new Map<string, number>();
  return {
    pickFolder: (title) => native.pickFolder(title),
    pickFiles: (title, folders) => native.pickFiles(title, folders),
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
