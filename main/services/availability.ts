/**
 * Issue 11 (polish): a vault folder deleted, moved or unplugged while the vault is unlocked. The app
 * shows it as unavailable (and as unlocked again when the folder is back: the keys stay in memory
 * until it locks), and a failed action says so in words, never with an internal path such as
 * `…/tmp/lock: no such file or directory` or "it may not have synced yet".
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CofferError } from '../core/errors';

/** The file whose presence makes a folder a vault (written last by init). */
const DESCRIPTOR = 'coffer-vault.json';

export async function vaultFolderPresent(dir: string): Promise<boolean> {
  return fsp.stat(path.join(dir, DESCRIPTOR)).then((s) => s.isFile(), () => false);
}

export function unavailableError(cause?: unknown): CofferError {
  return new CofferError('NOT_FOUND', 'The vault folder is not available: it was moved, deleted, or its drive was unplugged. Nothing was changed; reconnect it and try again.', { cause });
}

/** `e` itself, unless the vault folder has gone: then the plain "not available" error. */
export async function explainIfUnavailable(e: unknown, dir: string): Promise<unknown> {
  return (await vaultFolderPresent(dir)) ? e : unavailableError(e);
}
