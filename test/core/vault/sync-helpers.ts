/**
 * A tiny model of a sync client (Dropbox-like) for tests: given the common base and two changed
 * copies, produce the merged folder a sync client would leave. A file changed on both sides keeps
 * one side's version and the other as a conflict copy named by `conflictName`; deletions propagate
 * unless the other side changed the file. `tmp/` is not synced.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function walk(root: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync(path.join(root, rel));
  } catch {
    return out;
  }
  for (const n of names) {
    const r = rel ? `${rel}/${n}` : n;
    if (r === 'tmp') continue;
    const st = statSync(path.join(root, r));
    if (st.isDirectory()) for (const [k, v] of walk(root, r)) out.set(k, v);
    else out.set(r, createHash('sha256').update(readFileSync(path.join(root, r))).digest('hex'));
  }
  return out;
}

export type ConflictNamer = (file: string) => string;

export const dropboxName: ConflictNamer = (f) => {
  const ext = path.extname(f);
  return `${f.slice(0, -ext.length)} (Bob's conflicted copy 2026-11-29)${ext}`;
};
export const syncthingName: ConflictNamer = (f) => {
  const ext = path.extname(f);
  return `${f.slice(0, -ext.length)}.sync-conflict-20261129-120102-ABCDEF7${ext}`;
};
export const onedriveName: ConflictNamer = (f) => {
  const ext = path.extname(f);
  return `${f.slice(0, -ext.length)}-LAPTOP7${ext}`;
};
export const gdriveName: ConflictNamer = (f) => {
  const ext = path.extname(f);
  return `${f.slice(0, -ext.length)} (1)${ext}`;
};

/** Merges copy `b` into copy `a` (in place) relative to `base`. */
export function syncMerge(base: string, a: string, b: string, namer: ConflictNamer = dropboxName): void {
  const B0 = walk(base);
  const A = walk(a);
  const B = walk(b);
  const all = new Set([...B0.keys(), ...A.keys(), ...B.keys()]);
  for (const f of all) {
    const o = B0.get(f);
    const x = A.get(f);
    const y = B.get(f);
    const bChanged = y !== o;
    const aChanged = x !== o;
    if (!bChanged) continue; // A's state stands
    if (y === undefined) {
      // deleted on B
      if (!aChanged && x !== undefined) rmSync(path.join(a, f));
      continue;
    }
    if (!aChanged || x === undefined || x === y) {
      mkdirSync(path.dirname(path.join(a, f)), { recursive: true });
      cpSync(path.join(b, f), path.join(a, f));
      continue;
    }
    // changed on both: keep A's, add B's as a conflict copy
    const c = path.join(a, path.dirname(f), namer(path.basename(f)));
    writeFileSync(c, readFileSync(path.join(b, f)));
  }
}
