/**
 * File-system errors in the words of the person who typed the command: which of *their* paths, and
 * what coffer was trying to do, never an internal file (`V/tmp/lock`, `.out.txt.9e24….coffer-partial`).
 *
 *   ro/V/tmp/lock: permission denied          →  cannot add to the vault ro/V: permission denied (…)
 *   ro/.out.txt.9e24.coffer-partial: EACCES    →  cannot write to ro/: permission denied
 */
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { CofferError, isCofferError, type ErrorCode } from '../core/errors';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it already exists',
  EIO: 'input/output error (the disk or network share may have gone away)',
  ENAMETOOLONG: 'the name is too long for this file system',
  EMFILE: 'too many open files',
};

function within(child: string, parent: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A folder as a person would type it: `ro/`, `./` for the current folder. */
function asFolder(p: string): string {
  const d = p === '' ? '.' : p;
  return d.endsWith(path.sep) ? d : `${d}${path.sep}`;
}

/** The path to show instead of an internal temporary or lock file; `p` itself when it is the user's own. */
export function userPath(p: string, vaultDir?: string): string {
  if (vaultDir !== undefined && within(p, vaultDir)) return vaultDir;
  const base = path.basename(p);
  // Our temporaries beside an output: `.NAME.RANDOM.coffer-partial` (files) and `NAME.coffer-RANDOM` (vault get).
  if (/\.coffer-/.test(base)) return asFolder(path.dirname(p));
  // A vault's own internals when the vault folder was not given (e.g. tmp/lock of a vault).
  const tmpDir = path.dirname(p);
  if (path.basename(tmpDir) === 'tmp' && existsSync(path.join(path.dirname(tmpDir), 'coffer-vault.json'))) return path.dirname(tmpDir);
  return p;
}

export interface FsAction {
  /** What coffer was doing to the vault, e.g. "add files to" (→ "cannot add files to the vault V: …"). */
  readonly verb: string;
  /** The vault folder the command was given, if any: anything inside it is named as the vault. */
  readonly vaultDir?: string;
  /** The output path the command was given (-o), if any: failures under it are "cannot write to". */
  readonly output?: string;
}

const isTemp = (p: string): boolean => /\.coffer-/.test(path.basename(p));

/**
 * Rewrites a Node file-system error (errno code + path) as a CofferError that names the user's path and
 * the action. Other errors pass through unchanged.
 */
export function explainFsError(e: unknown, action: FsAction): unknown {
  if (isCofferError(e)) return e;
  const raw = e as NodeJS.ErrnoException | undefined;
  if (!raw || typeof raw.code !== 'string' || !(raw.code in REASONS)) return e;
  if (typeof raw.path !== 'string') {
    // A failed write or read on an open file carries no path: name what the command was writing.
    const reason = REASONS[raw.code] as string;
    if (action.output !== undefined) return new CofferError('IO', `cannot write to ${action.output}: ${reason}`, { cause: e });
    if (action.vaultDir !== undefined) return new CofferError('IO', `cannot ${action.verb} the vault ${action.vaultDir}: ${reason}`, { cause: e });
    return e;
  }
  const err = realMkdirError(raw) as NodeJS.ErrnoException & { code: string; path: string };
  const reason = REASONS[err.code] ?? err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  const code: ErrorCode = err.code === 'ENOENT' ? 'NOT_FOUND' : err.code === 'EEXIST' ? 'EXISTS' : 'IO';
  const shown = userPath(err.path, action.vaultDir);
  if (action.vaultDir !== undefined && within(err.path, action.vaultDir)) {
    const missing = err.code === 'ENOENT' || err.code === 'ENOTDIR';
    return new CofferError(code, missing
      ? `cannot ${action.verb} the vault ${shown}: its folder is missing or incomplete (was it moved, deleted or unplugged?)`
      : `cannot ${action.verb} the vault ${shown}: ${reason}`, { cause: e });
  }
  const writing = isTemp(err.path) || (action.output !== undefined && within(err.path, action.output));
  // A file or folder we were about to create does not exist yet: the folder it goes in is the one to fix.
  const target = writing && err.code !== 'ENOENT' && !isTemp(err.path) && !existsSync(err.path) ? asFolder(path.dirname(err.path)) : shown;
  return new CofferError(code, `cannot ${writing ? 'write to' : 'read'} ${target}: ${reason}`, { cause: e });
}

/**
 * Node's recursive mkdir reports ENOENT when the parent exists but cannot be written (a read-only
 * mount, no permission). Find the real reason on the parent, so the message says what to fix.
 */
function realMkdirError(err: NodeJS.ErrnoException): NodeJS.ErrnoException {
  if (err.code !== 'ENOENT' || err.syscall !== 'mkdir' || err.path === undefined) return err;
  let dir = path.dirname(err.path);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return err;
  } catch (e) {
    const probe = e as NodeJS.ErrnoException;
    return Object.assign(new Error(probe.message), { code: probe.code, syscall: 'mkdir', path: path.join(dir, '.coffer-') });
  }
}
