/**
 * Issue 11 (polish): what the create wizard needs to know at its first step about the folder the
 * person chose, so a non-empty folder is refused there and not at the last step. Only a folder the
 * person picked in the folder dialog (or a new sub-folder typed inside one) is looked at.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ApprovingDialogs } from './dialogs';

export type FolderState = 'new' | 'empty' | 'not-empty' | 'vault' | 'not-a-folder';

export async function checkNewVaultFolder(dir: string, dialogs: Pick<ApprovingDialogs, 'checkFolderApproval'>): Promise<FolderState> {
  const abs = path.resolve(dir);
  dialogs.checkFolderApproval(abs, 'the folder for the new vault', { allowChild: true }); // throws unless picked; not used up
  const st = await fsp.stat(abs).catch(() => null);
  if (!st) return 'new';
  if (!st.isDirectory()) return 'not-a-folder';
  const names = await fsp.readdir(abs);
  if (names.length === 0) return 'empty';
  return names.includes('coffer-vault.json') ? 'vault' : 'not-empty';
}
