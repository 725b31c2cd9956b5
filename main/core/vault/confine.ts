/**
 * Where plaintext leaves a vault: every output path of `get` (a file or a whole folder), `export`, and
 * the app's "Open" and drag-out is built here, from the destination the user chose and entry names
 * read from the vault. A co-member can put any name in a record, so each name is checked again
 * (validate.ts), and the path is confined: each folder on the way is a real folder (not a link), created
 * here without following anything, and the real path of the result's folder lies under the real path
 * of the destination. Output is written to a partial file beside its destination and renamed into
 * place; partial files carry the host and process id, so a later run removes those of dead processes
 * (a SIGKILL or a crash cannot be cleaned up when it happens).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CofferError } from '../errors';
import { pidAlive, thisHost } from './storage';
import { nameProblem } from './validate';

function outside(root: string, name: string): CofferError {
  return new CofferError('VAULT_TAMPERED', `refusing to write ${JSON.stringify(name).slice(0, 200)} outside ${root}`);
}

const inside = (realRoot: string, p: string): boolean => {
  const rel = path.relative(realRoot, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/**
 * The path for entry names `rel` (one name per level) under the destination folder `root` (which must
 * exist). Each name must be a valid entry name; each folder on the way must be a real folder inside
 * `root` (with `mkdirs`, missing ones are created, never through a link). With `dir`, the last name is a
 * folder too and is created and checked the same way. Throws VAULT_TAMPERED for a name that would
 * leave `root`, IO for a link or file in the way. The result may itself be an existing link: callers
 * write to a new partial file and rename it over the result, which replaces a link and never follows it.
 */
export async function confinedPath(root: string, rel: readonly string[], opts: { mkdirs?: boolean; dir?: boolean } = {}): Promise<string> {
  if (rel.length === 0) throw new CofferError('INTERNAL', 'confinedPath needs at least one name');
  for (const name of rel) {
    const why = nameProblem(name);
    if (why !== null) throw new CofferError('VAULT_TAMPERED', `refusing to write ${JSON.stringify(name).slice(0, 200)} under ${root}: ${why}`);
  }
  const realRoot = await realpath(root);
  let cur = realRoot;
  for (const [i, name] of rel.entries()) {
    cur = path.join(cur, name);
    if (!inside(realRoot, cur)) throw outside(root, name);
    const last = i === rel.length - 1;
    if (last && !opts.dir) break;
    let st = await lstat(cur).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (!st && (opts.mkdirs || opts.dir)) {
      await mkdir(cur, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      st = await lstat(cur);
    }
    if (st && !st.isDirectory()) {
      throw new CofferError('IO', `${path.join(root, ...rel.slice(0, i + 1))} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; refusing to write through it`);
    }
  }
  // Belt and braces: the real folder that will hold the result lies under the real destination.
  const parent = opts.dir ? cur : path.dirname(cur);
  const realParent = await realpath(parent).catch(() => null);
  if (realParent !== null && realParent !== realRoot && !inside(realRoot, realParent)) throw outside(root, rel.join('/'));
  return cur;
}

const PARTIAL_SUFFIX = '.coffer-partial';

function shortBase(name: string, maxBytes: number): string {
  let out = '';
  for (const ch of name) {
    if (Buffer.byteLength(out + ch, 'utf8') > maxBytes) break;
    out += ch;
  }
  return out;
}

/** A new partial-file path beside `out`: `.NAME.HOST~PID~RANDOM.coffer-partial` (hidden, private). */
export function partialPath(out: string): string {
  return path.join(path.dirname(out), partialName(path.basename(out), randomBytes(6).toString('hex')));
}

/** The partial-file name for `name` with `unique` (12 hex digits, new for each file of this process). */
export function partialName(name: string, unique: string): string {
  if (!/^[0-9a-f]{12}$/.test(unique)) throw new Error('partialName needs 12 hex digits');
  return `.${shortBase(name, 100)}.${thisHost()}~${process.pid}~${unique}${PARTIAL_SUFFIX}`;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes, in `dir`, the partial files of coffer processes on this host that are gone (killed or
 * crashed): only regular files named by `partialPath`'s scheme with this host and a dead pid.
 * Returns the paths removed.
 */
export async function sweepPartials(dir: string): Promise<string[]> {
  const re = new RegExp(`^\\..*\\.${escapeRe(thisHost())}~(\\d{1,10})~[0-9a-f]{12}${escapeRe(PARTIAL_SUFFIX)}$`, 's');
  const removed: string[] = [];
  let ents;
  try {
    ents = await readdir(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const d of ents) {
    if (!d.isFile()) continue;
    const m = re.exec(d.name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const p = path.join(dir, d.name);
    try {
      await unlink(p);
      removed.push(p);
    } catch {
      /* gone meanwhile */
    }
  }
  return removed;
}
