/**
 * Pinned folders: a folder opened once (O_DIRECTORY | O_NOFOLLOW, so never through a link) and from then
 * on reached through its descriptor, the way openat(2) reaches a folder. Node has no openat, but on Linux
 * `/proc/self/fd/N/name` is resolved by the kernel through descriptor N itself: whatever an attacker does
 * to the path afterwards (renames the folder away, puts a link where it was), `at(name)` still names an
 * entry of the very folder that was checked, and a link planted AS `name` is refused by O_NOFOLLOW on the
 * final component. So a folder is checked once per operation, not once per file, without opening a race.
 *
 * Why a folder moved away by an attacker is no danger: rename needs write access to both the old and the
 * new parent, so the attacker can only move the folder to a place they can write anyway; files created in
 * it then land where the attacker could have put them, never where only the user could write (which is
 * what a link would achieve, and what O_NOFOLLOW and the descriptor rule out).
 *
 * Where `/proc/self/fd` is not available (macOS, Windows, a Linux without /proc), `at(name)` is the plain
 * path and `verify()` re-checks with lstat that the path still is the pinned folder (same device and
 * inode, not a link): the per-use check the callers did before pinning existed, with its small window.
 */
import { closeSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, statSync, constants as fsc } from 'node:fs';
import path from 'node:path';

const O_DIRECTORY = fsc.O_DIRECTORY ?? 0;
const O_NOFOLLOW = fsc.O_NOFOLLOW ?? 0;
const DIR_FLAGS = fsc.O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

let fdPaths: boolean | undefined;
let forcedOff = false;

/** Whether `/proc/self/fd/N/…` reaches the folder of descriptor N here (tried once). */
export function fdPathsWork(): boolean {
  if (forcedOff) return false;
  if (fdPaths !== undefined) return fdPaths;
  fdPaths = false;
  if (process.platform !== 'linux') return fdPaths;
  try {
    const fd = openSync('/', DIR_FLAGS);
    try {
      const a = fstatSync(fd);
      const b = statSync(`/proc/self/fd/${fd}/.`);
      fdPaths = a.dev === b.dev && a.ino === b.ino;
    } finally {
      closeSync(fd);
    }
  } catch {
    fdPaths = false;
  }
  return fdPaths;
}

/** Tests only: take the path-based fallback even where `/proc/self/fd` works (false restores the default). */
export function forcePathFallback(on: boolean): void {
  forcedOff = on;
}

/** Why a folder could not be pinned: missing, a link, or something else that is not a folder. */
export type PinRefusal = 'missing' | 'link' | 'not-folder';

export class PinRefused extends Error {
  constructor(readonly why: PinRefusal, readonly where: string) {
    super(`${where}: ${why}`);
  }
}

export class PinnedDir {
  /** `/proc/self/fd/N` while pinned through the descriptor, else the folder's path. */
  readonly dirPath: string;
  private open = true;
  private constructor(
    /** The folder's path when it was pinned (messages, and the fallback). */
    readonly path: string,
    readonly fd: number,
    readonly dev: number,
    readonly ino: number,
    viaFd: boolean,
  ) {
    this.dirPath = viaFd ? `/proc/self/fd/${fd}` : path;
  }

  /** Pins the folder at `abs` (the final component must be a real folder, never a link). */
  static at(abs: string): PinnedDir {
    return PinnedDir.pin(abs, abs);
  }

  private static pin(through: string, display: string): PinnedDir {
    let fd: number;
    try {
      fd = openSync(through, DIR_FLAGS);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new PinRefused('missing', display);
      if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') throw new PinRefused('link', display);
      if (code === 'ENOTDIR') {
        // O_DIRECTORY | O_NOFOLLOW on a link gives ENOTDIR on Linux: say which it is.
        let link = false;
        try {
          link = lstatSync(through).isSymbolicLink();
        } catch {
          link = false;
        }
        throw new PinRefused(link ? 'link' : 'not-folder', display);
      }
      throw e;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isDirectory()) throw new PinRefused('not-folder', display);
      return new PinnedDir(display, fd, st.dev, st.ino, fdPathsWork());
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** A path that reaches entry `name` of this very folder (see the file comment). */
  at(name: string): string {
    if (!this.open) throw new Error(`pinned folder ${this.path} used after release`);
    return this.viaFd ? `${this.dirPath}/${name}` : path.join(this.path, name);
  }

  /** Whether entries are reached through the descriptor (no re-check needed). */
  get viaFd(): boolean {
    return this.dirPath !== this.path;
  }

  /**
   * Pins the subfolder `name` of this folder; with `create`, makes it first if nothing is there (mkdir
   * never follows a link). `created` says whether this call made it (so it is known to be empty).
   */
  child(name: string, create: boolean): { dir: PinnedDir; created: boolean } {
    let created = false;
    if (create) {
      try {
        mkdirSync(this.at(name), 0o700);
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    return { dir: PinnedDir.pin(this.at(name), path.join(this.path, name)), created };
  }

  /**
   * Fallback only (no descriptor paths): throws unless the path still is this folder, not a link. Through
   * the descriptor there is nothing to check.
   */
  verify(): void {
    if (this.viaFd) return;
    let st;
    try {
      st = lstatSync(this.path);
    } catch {
      throw new PinRefused('missing', this.path);
    }
    if (st.isSymbolicLink()) throw new PinRefused('link', this.path);
    if (!st.isDirectory() || st.dev !== this.dev || st.ino !== this.ino) throw new PinRefused('not-folder', this.path);
  }

  /** Whether the path still names this folder (same device and inode, not a link). */
  current(): boolean {
    try {
      const st = lstatSync(this.path);
      return st.isDirectory() && st.dev === this.dev && st.ino === this.ino;
    } catch {
      return false;
    }
  }

  /** fsync of the folder itself (its entries durable); errors ignored where folders cannot be synced. */
  sync(): void {
    try {
      fsyncSync(this.fd);
    } catch {
      /* some filesystems refuse fsync on folders; the renames are still atomic */
    }
  }

  release(): void {
    if (!this.open) return;
    this.open = false;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}
