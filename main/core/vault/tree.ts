/**
 * The tree of live entries, built from the records: paths, listings, conflict copies shown beside
 * their originals (`name (conflict N)`), orphans and folder cycles brought to the top level.
 * Read-only; changes to the tree are in entries.ts, add.ts and versions.ts.
 */
import { CofferError } from '../errors';
import type { Tree, VaultCore } from './core';
import { RECORDS, conflictName, splitVaultPath } from './layout';
import type { RecordNode } from './records';
import type { EntryInfo } from './types';
import { sameContent } from './packs';
import { isLive } from './versions';

/** Ids and object names are ASCII: code-unit order. Names sort as people read them (one collator, reused). */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const NAMES = new Intl.Collator();

export function getTree(c: VaultCore): Tree {
  if (c.tree) return c.tree;
  // A conflict copy identical in content to its original, clocks aside (e.g. both copies rewrapped the same
  // record during concurrent rotations, or made the same move) holds nothing new: it is not shown; verify --repair removes it.
  // Entries in the trash are not in the tree (versions.ts lists them).
  const live = [...c.index.records.values()].filter((n) => isLive(n.body));
  const copied = new Set(live.filter((n) => n.conflict).map((n) => n.body.id));
  const primaryBody = new Map<string, RecordNode['body']>();
  for (const n of live) if (!n.conflict && copied.has(n.body.id)) primaryBody.set(n.body.id, n.body);
  const nodes = live.filter((n) => {
    const primary = n.conflict ? primaryBody.get(n.body.id) : undefined;
    return primary === undefined || !sameContent(primary, n.body);
  });
  // A sync client's copy whose original is in the trash (deleted on one copy, changed on the other) stands
  // in for it, shown as the entry itself, so the result does not depend on which one the client kept.
  const trashedOriginal = new Set([...c.index.records.values()].filter((n) => !n.conflict && !isLive(n.body)).map((n) => n.body.id));
  const standIn = new Map<string, RecordNode>();
  for (const n of nodes) {
    if (!n.conflict || n.conflict.source === 'concurrent' || !trashedOriginal.has(n.body.id)) continue;
    const had = standIn.get(n.body.id);
    if (!had || n.body.version > had.body.version || (n.body.version === had.body.version && cmp(n.file, had.file) < 0)) standIn.set(n.body.id, n);
  }
  const isCopy = (n: RecordNode): boolean => n.conflict !== null && standIn.get(n.body.id) !== n;
  const dirIds = new Set(nodes.filter((n) => !isCopy(n) && n.body.type === 'dir').map((n) => n.body.id));
  const primaryIds = new Set(nodes.filter((n) => !isCopy(n)).map((n) => n.body.id));
  const byParent = new Map<string, RecordNode[]>();
  const orphan = new Set<string>();
  for (const n of nodes) {
    let parent = n.body.parent;
    // A conflict copy of an entry whose original is missing stands in for it.
    if (parent !== '' && !dirIds.has(parent)) {
      orphan.add(n.file);
      parent = '';
    }
    const list = byParent.get(parent) ?? [];
    list.push(n);
    byParent.set(parent, list);
  }
  const byPath = new Map<string, { node: RecordNode; info: EntryInfo }>();
  const infoByFile = new Map<string, EntryInfo>();
  const children = new Map<string, EntryInfo[]>();
  const visit = (parentId: string, parentPath: string, depth: number): void => {
    if (depth > 256) return;
    const list = byParent.get(parentId) ?? [];
    const groups = new Map<string, RecordNode[]>();
    for (const n of list) {
      const key = n.body.name.normalize('NFC');
      const g = groups.get(key) ?? [];
      g.push(n);
      groups.set(key, g);
    }
    const infos: EntryInfo[] = [];
    for (const [name, g] of groups) {
      if (g.length > 1) {
        g.sort((a, b) => Number(isCopy(a) || orphan.has(a.file)) - Number(isCopy(b) || orphan.has(b.file))
          || cmp(a.body.id, b.body.id) || cmp(a.file, b.file));
      }
      g.forEach((n, i) => {
        const shown = i === 0 ? name : conflictName(name, i);
        const p = parentPath === '' ? shown : `${parentPath}/${shown}`;
        const source = n.conflict && isCopy(n) ? n.conflict.source : orphan.has(n.file) ? 'orphan' : i > 0 ? 'duplicate-name' : null;
        const info: EntryInfo = {
          id: n.body.id, path: p, name: shown, type: n.body.type, size: n.body.size, mtime: new Date(n.body.mtime).toISOString(),
          version: n.body.version, conflict: source ? { source, file: n.conflict?.source === 'concurrent' ? n.conflict.marker : `${RECORDS}/${n.file}` } : null,
        };
        byPath.set(p, { node: n, info });
        infoByFile.set(n.file, info);
        infos.push(info);
        if (n.body.type === 'dir' && !isCopy(n) && primaryIds.has(n.body.id)) visit(n.body.id, p, depth + 1);
      });
    }
    infos.sort((a, b) => NAMES.compare(a.name, b.name));
    children.set(parentPath, infos);
  };
  visit('', '', 0);
  // Entries whose parents form a cycle (two copies moved folders into each other) are unreachable
  // from the root: show the first of each cycle at the top level rather than lose them.
  let unreached = nodes.filter((n) => !infoByFile.has(n.file));
  for (let guard = 0; unreached.length > 0 && guard < 64; guard++) {
    unreached.sort((x, y) => cmp(x.body.id, y.body.id) || cmp(x.file, y.file));
    const first = unreached[0] as RecordNode;
    orphan.add(first.file);
    const rootList = byParent.get('') ?? [];
    rootList.push(first);
    byParent.set('', rootList);
    for (const l of byParent.values()) {
      const i = l.indexOf(first);
      if (i >= 0 && l !== rootList) l.splice(i, 1);
    }
    byPath.clear();
    infoByFile.clear();
    children.clear();
    visit('', '', 0);
    unreached = nodes.filter((n) => !infoByFile.has(n.file));
  }
  c.tree = { byPath, infoByFile, children };
  return c.tree;
}

export function resolve(c: VaultCore, vpath: string): { node: RecordNode; info: EntryInfo } | null {
  const parts = splitVaultPath(vpath);
  if (parts.length === 0) return null;
  return getTree(c).byPath.get(parts.join('/')) ?? null;
}

export function mustResolve(c: VaultCore, vpath: string): { node: RecordNode; info: EntryInfo } {
  const r = resolve(c, vpath);
  if (!r) throw new CofferError('NOT_FOUND', `${vpath}: no such file or folder in vault ${c.name}`);
  return r;
}

/** The entry id of a folder path ('' for the root); NOT_FOUND / USAGE if not a folder. */
export function dirId(c: VaultCore, vpath: string): string {
  if (splitVaultPath(vpath).length === 0) return '';
  const r = mustResolve(c, vpath);
  if (r.node.body.type !== 'dir' || r.node.conflict) throw new CofferError('USAGE', `${vpath} is not a folder`);
  return r.node.body.id;
}

/** Lists a folder (or one file). `recursive` lists the whole subtree. */
export function list(c: VaultCore, vpath = '', opts: { recursive?: boolean } = {}): EntryInfo[] {
  c.ensureOpen();
  const parts = splitVaultPath(vpath);
  const tree = getTree(c);
  const key = parts.join('/');
  if (key !== '') {
    const r = mustResolve(c, key);
    if (r.node.body.type === 'file' || r.node.conflict) return [r.info];
  }
  if (!opts.recursive) return [...(tree.children.get(key) ?? [])];
  const out: EntryInfo[] = [];
  const walk = (p: string): void => {
    for (const c of tree.children.get(p) ?? []) {
      out.push(c);
      // Sync-conflict copies of folders have no children of their own; orphans and same-name folders do.
      if (c.type === 'dir' && (!c.conflict || c.conflict.source === 'orphan' || c.conflict.source === 'duplicate-name')) walk(c.path);
    }
  };
  walk(key);
  return out;
}

/** One entry, or null. */
export function stat(c: VaultCore, vpath: string): EntryInfo | null {
  c.ensureOpen();
  return resolve(c, vpath)?.info ?? null;
}

/** Original (non-conflict) entries by parent id and NFC name; the lowest id wins among same-name entries. */
export function childIndex(c: VaultCore): Map<string, RecordNode> {
  const idx = new Map<string, RecordNode>();
  const nodes = [...c.index.records.values()].filter((n) => !n.conflict && isLive(n.body)).sort((a, b) => cmp(a.body.id, b.body.id));
  for (const n of nodes) {
    const k = `${n.body.parent}\0${n.body.name.normalize('NFC')}`;
    if (!idx.has(k)) idx.set(k, n);
  }
  return idx;
}

/** The dead properties of an entry (`{}` for none or the root). */
export function props(c: VaultCore, vpath: string): Readonly<Record<string, string>> {
  c.ensureOpen();
  return resolve(c, vpath)?.node.body.props ?? {};
}

/** props() of a path exactly as list() or stat() gave it (no normalising: a listing's hot path). */
export function propsAt(c: VaultCore, treePath: string): Readonly<Record<string, string>> {
  c.ensureOpen();
  return getTree(c).byPath.get(treePath)?.node.body.props ?? {};
}
