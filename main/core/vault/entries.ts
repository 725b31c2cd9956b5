/**
 * Changes to entries other than content: folders (mkdir, and mkdir -p for add), moves and renames,
 * dead properties, removal to the trash; and the bridge to versions.ts (previous versions, trash),
 * which works on the vault through a narrow `VersionPort`.
 */
import { CofferError } from '../errors';
import type { VaultCore } from './core';
import { decryptBlobTo } from './get';
import { checkName, splitVaultPath } from './layout';
import { newId, normalizeName } from './names';
import { mutate } from './open';
import { deleteRecord, unreadableIds, writeRecord, type RecordNode } from './records';
import { childIndex, dirId, getTree, list, mustResolve, resolve } from './tree';
import { validProps, type EntryInfo, type RecordBody } from './types';
import { VersionStore, type VersionPort } from './versions';

/** The vault's previous versions and trash (versions.ts), made on first use. */
export function versionStore(c: VaultCore): VersionStore<RecordNode> {
  if (c.versionsCache) return c.versionsCache;
  const port: VersionPort<RecordNode> = {
    name: c.name,
    storage: c.storage,
    now: () => c.now(),
    retention: () => c.retention,
    ensureOpen: () => c.ensureOpen(),
    mutate: (fn) => mutate(c, fn),
    nodes: () => [...c.index.records.values()],
    resolve: (vpath) => resolve(c, vpath),
    child: (parent, name) => childIndex(c).get(`${parent}\0${name.normalize('NFC')}`),
    infoOf: (file) => getTree(c).infoByFile.get(file),
    writeRecord: async (body, file) => {
      await writeRecord(c, body, file);
    },
    deleteRecord: (n) => deleteRecord(c, n),
    saveVersions: (v) => c.saveVersions(v),
    ensureDirs: (parts, versions) => ensureDirs(c, parts, versions),
    unreadableIds: () => unreadableIds(c),
    decryptTo: (body, out, signal) => c.withFileKeys([body], () => decryptBlobTo(c, body, out, undefined, signal)),
  };
  c.versionsCache = new VersionStore(port);
  return c.versionsCache;
}

/** Creates a folder (and any missing parents). EXISTS if something is already there. */
export async function mkdir(c: VaultCore, vpath: string): Promise<EntryInfo> {
  return mutate(c, async () => {
    const parts = splitVaultPath(vpath);
    if (parts.length === 0) throw new CofferError('EXISTS', 'the vault root already exists');
    if (resolve(c, vpath)) throw new CofferError('EXISTS', `${vpath} already exists in vault ${c.name}`);
    const versions: Record<string, number> = {};
    await ensureDirs(c, parts, versions);
    await c.saveVersions(versions);
    return getTree(c).byPath.get(parts.join('/'))?.info as EntryInfo;
  });
}

/** mkdir -p inside a mutation; returns the folder's id. */
export async function ensureDirs(c: VaultCore, parts: string[], versions: Record<string, number>, idx: Map<string, RecordNode> = childIndex(c)): Promise<string> {
  let parent = '';
  let p = '';
  for (const name of parts) {
    checkName(name);
    p = p === '' ? name : `${p}/${name}`;
    const k = `${parent}\0${name.normalize('NFC')}`;
    const r = idx.get(k);
    if (r) {
      if (r.body.type !== 'dir') throw new CofferError('EXISTS', `${p} exists and is not a folder`);
      parent = r.body.id;
      continue;
    }
    const body: RecordBody = { v: 1, id: newId(), type: 'dir', parent, name, size: 0, mtime: Date.now(), version: 1 };
    await writeRecord(c, body);
    idx.set(k, c.index.records.get(`${body.id}.rec`) as RecordNode);
    versions[body.id] = 1;
    parent = body.id;
  }
  return parent;
}

/**
 * Sets and removes dead properties of an entry, all or nothing, as a new version of its record.
 * USAGE when the result exceeds PROPS_LIMITS.
 */
export async function setProps(c: VaultCore, vpath: string, set: Readonly<Record<string, string>>, remove: readonly string[] = []): Promise<EntryInfo> {
  return mutate(c, async () => {
    const r = mustResolve(c, vpath);
    if (r.node.conflict) throw new CofferError('USAGE', `${vpath} is a conflict copy; keep it (mv) before setting properties`);
    const next: Record<string, string> = { ...(r.node.body.props ?? {}) };
    for (const k of remove) delete next[k];
    Object.assign(next, set);
    if (!validProps(next)) throw new CofferError('USAGE', `the properties of ${vpath} would exceed the limits (256 properties, 64 KiB)`);
    const { props: _old, ...rest } = r.node.body;
    const body: RecordBody = { ...rest, version: r.node.body.version + 1, ...(Object.keys(next).length > 0 ? { props: next } : {}) };
    await writeRecord(c, body, r.node.file);
    await c.saveVersions({ [body.id]: body.version });
    return getTree(c).infoByFile.get(r.node.file) as EntryInfo;
  });
}

/** Renames or moves. If `to` is an existing folder, the entry moves into it. */
export async function mv(c: VaultCore, from: string, to: string): Promise<EntryInfo> {
  return mutate(c, async () => {
    const src = mustResolve(c, from);
    const toParts = splitVaultPath(to);
    let parentId: string;
    let name: string;
    const target = resolve(c, to);
    if (toParts.length === 0 || (target && target.node.body.type === 'dir' && !target.node.conflict)) {
      parentId = toParts.length === 0 ? '' : (target as { node: RecordNode }).node.body.id;
      name = normalizeName(src.node.body.name);
      const dest = [...toParts, src.info.name].join('/');
      if (resolve(c, dest) && dest !== src.info.path) throw new CofferError('EXISTS', `${dest} already exists`);
    } else {
      if (target && target.info.path !== src.info.path) throw new CofferError('EXISTS', `${to} already exists`);
      parentId = dirId(c, toParts.slice(0, -1).join('/'));
      name = toParts[toParts.length - 1] as string;
    }
    checkName(name);
    if (src.node.body.type === 'dir') {
      for (let p: string = parentId; p !== '';) {
        if (p === src.node.body.id) throw new CofferError('USAGE', `cannot move ${from} into itself`);
        const pn = [...c.index.records.values()].find((n) => !n.conflict && n.body.id === p);
        p = pn ? pn.body.parent : '';
      }
    }
    const versions: Record<string, number> = {};
    if (src.node.conflict || src.info.conflict) {
      // Keeping a conflict version: it becomes an entry of its own, then its copy file goes.
      const body: RecordBody = { ...src.node.body, id: newId(), parent: parentId, name, version: 1 };
      await writeRecord(c, body);
      versions[body.id] = 1;
      if (src.node.conflict) await deleteRecord(c, src.node);
      else if (src.node.body.type === 'file') {
        // a same-name duplicate or orphan: move the original record itself
        await deleteRecord(c, src.node);
        versions[src.node.body.id] = -(src.node.body.version + 1);
      }
    } else {
      const body: RecordBody = { ...src.node.body, parent: parentId, name, version: src.node.body.version + 1 };
      await writeRecord(c, body);
      versions[body.id] = body.version;
    }
    await c.saveVersions(versions);
    const dest = getTree(c);
    for (const v of dest.byPath.values()) if (v.node.body.parent === parentId && v.node.body.name === name) return v.info;
    return src.info;
  });
}

/**
 * Moves a file, or a folder with `recursive`, to the trash (versions.ts): `restoreFromTrash` brings it
 * back until retention collects it. `permanent` skips the trash: its content is released for collection.
 */
export async function rm(c: VaultCore, vpath: string, opts: { recursive?: boolean; permanent?: boolean } = {}): Promise<{ files: number; folders: number; trashId: string }> {
  const r = await mutate(c, async () => {
    const target = mustResolve(c, vpath);
    const sub: { node: RecordNode; info: EntryInfo }[] = [];
    if (target.node.body.type === 'dir' && !target.node.conflict) {
      const listed = list(c, target.info.path, { recursive: true });
      if (listed.length > 0 && !opts.recursive) throw new CofferError('USAGE', `${vpath} is a folder and not empty; use -r to remove it and everything in it`);
      const tree = getTree(c);
      for (const e of listed.reverse()) sub.push(tree.byPath.get(e.path) as { node: RecordNode; info: EntryInfo });
    }
    return versionStore(c).trashInMutation(target, sub);
  });
  if (opts.permanent) await versionStore(c).emptyTrash([r.trashId]);
  return r;
}
