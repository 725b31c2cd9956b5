/**
 * Two copies of one vault changed independently, then merged the way a sync client merges them
 * (docs/FORMAT.md §6.9): a property test over random sequences of add (new files and new versions), mv, rm,
 * rotate, grant, revoke and compact (a checkpoint of the record packs, §6.18).
 *
 * The merge (sync-helpers.ts `syncMerge`) works on every file under the vault folder alike (epochs/,
 * slots/, keys/, records/, blobs/, and any folder a later format adds), against the common base: changed
 * on one side only takes that side; changed differently on both keeps one and writes the other as a
 * Dropbox conflict copy (`NAME (Bob's conflicted copy 2026-12-01).EXT`); deleted on one side and unchanged
 * on the other is deleted; deleted on one side and modified on the other keeps the modified file.
 *
 * Checked against a model of the operations, on each of the two computers (each opens the merged folder
 * with its own client state and its own member key):
 *  (a) no change is lost: the merged tree holds exactly the model's files (path and content), every
 *      extra version of a path shown as a conflict. The one exception is by design (§6.9, "Concurrent
 *      changes and revocations"): changes made on a copy that had not seen a revocation made on the other
 *      are refused, and must be reported (FORK / VAULT_TAMPERED on that entry's record), never silently gone;
 *  (b) the merge order does not matter: B merged into A and A merged into B give the same tree
 *      (conflict suffixes normalised, contents by hash, and the same paths in conflict);
 *  (c) each side's member key that is still a member opens the merged vault, the members are as the
 *      model says, and verify reports no error beyond the refused changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { initVault, openVault, type VaultProblem } from '../../../main/core/vault';
import { member, sandbox, sha256hex, treeRows, type Sandbox } from './helpers';
import { syncMerge, type ConflictNamer } from './sync-helpers';

type Side = 'A' | 'B';
const FOLDERS = ['', 'd0', 'd1'] as const;
const NAMES = ['a.txt', 'b.txt', 'c.txt', 'n.txt'] as const;
const MEMBERS = ['ownerA', 'ownerB', 'm0', 'm1'] as const;
const BASE_FILES: Record<string, string> = { 'a.txt': 'base a', 'd0/b.txt': 'base b', 'd0/c.txt': 'base c', 'd1/a.txt': 'base d1a' };

type Op =
  | { op: 'add'; folder: number; name: number; content: Uint8Array }
  | { op: 'edit'; pick: number; content: Uint8Array }
  | { op: 'mv'; pick: number; folder: number; name: number }
  | { op: 'rm'; pick: number }
  | { op: 'rotate' }
  | { op: 'compact' }
  | { op: 'grant' }
  | { op: 'revoke'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('add' as const), folder: fc.nat(2), name: fc.nat(3), content: fc.uint8Array({ maxLength: 12 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('edit' as const), pick: fc.nat(7), content: fc.uint8Array({ maxLength: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('mv' as const), pick: fc.nat(7), folder: fc.nat(2), name: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rm' as const), pick: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'rotate' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'grant' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revoke' as const), pick: fc.nat(7) }) },
);

const join = (folder: string, name: string): string => (folder === '' ? name : `${folder}/${name}`);

/** The Dropbox conflict copy name a sync client gives the losing side's file. */
const dropboxCopy = (host: string): ConflictNamer => (f) => {
  const dot = f.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [f.slice(0, dot), f.slice(dot)] : [f, ''];
  return `${stem} (${host}'s conflicted copy 2026-12-01)${ext}`;
};

/** A listed path with the vault's ` (conflict N)` mark taken out of its last part. */
const normalise = (p: string): string => p.replace(/ \(conflict \d+\)(?=\.[^./]*$|$)/, '');

interface FileState { id: string; path: string; hash: string }
interface Touch { ops: number; content: boolean }

/** What one copy did, as the model sees it. */
class SideModel {
  readonly files = new Map<string, FileState>();
  /** Entries this copy wrote a record for (any change at all rewrites the record file). */
  readonly touched = new Map<string, Touch>();
  readonly members: Set<string>;
  readonly granted: { label: string; id: X25519Identity }[] = [];
  readonly revoked = new Set<string>();
  /** Number of this copy's newest epoch (the base vault is at epoch 1; rotate and revoke add one). */
  epochN = 1;
  /** Whether this copy wrote a checkpoint (compact). */
  compacted = false;
  /** Entries this copy had not changed yet when it wrote its newest checkpoint (which holds their base version). */
  readonly cleanAtCompact = new Set<string>();
  /** Entries whose latest record from this copy is held by its checkpoint (its loose record file is gone). */
  readonly inCheckpoint = new Set<string>();
  constructor(readonly side: Side, base: Map<string, FileState>, members: readonly string[]) {
    for (const [p, f] of base) this.files.set(p, { ...f });
    this.members = new Set(members);
  }
  touch(id: string, content: boolean): void {
    const t = this.touched.get(id) ?? { ops: 0, content: false };
    this.touched.set(id, { ops: t.ops + 1, content: t.content || content });
    this.inCheckpoint.delete(id);
  }
  stateOf(id: string): FileState | null {
    for (const f of this.files.values()) if (f.id === id) return f;
    return null;
  }
}

interface Run {
  sb: Sandbox;
  /** Each copy's own member key, as text (an identity object is wiped when a vault that used it locks). */
  owners: Record<Side, { secret: string; recipient: string }>;
  base: Map<string, FileState>;
  baseDir: string;
}

async function prepare(): Promise<Run> {
  const sb = sandbox();
  const key = async (): Promise<{ secret: string; recipient: string }> => {
    const m = await member();
    return { secret: m.id.toString(), recipient: m.recipient };
  };
  const owners = { A: await key(), B: await key() };
  const extra = [await member(), await member()];
  // Labels make members findable by name on every copy; no passphrase slot (no Argon2 in the loop).
  const { vault } = await initVault(sb.dir, {
    name: 'Sync', stateDir: sb.state,
    recipients: [owners.A, owners.B, ...extra].map((m, i) => ({ recipient: m.recipient, label: MEMBERS[i] as string })),
  });
  await vault.mkdir('d0');
  await vault.mkdir('d1');
  const src = path.join(sb.base, 'src-base');
  const base = new Map<string, FileState>();
  for (const [p, content] of Object.entries(BASE_FILES)) {
    const file = path.join(src, p);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    await vault.add([file], path.dirname(p) === '.' ? '' : path.dirname(p));
    const st = vault.stat(p);
    if (!st) throw new Error(`base file ${p} missing`);
    base.set(p, { id: st.id, path: p, hash: sha256hex(content) });
  }
  vault.lock();
  const baseDir = path.join(sb.base, 'base');
  cpSync(sb.dir, baseDir, { recursive: true });
  for (const s of ['A', 'B'] as const) {
    cpSync(sb.dir, path.join(sb.base, `copy${s}`), { recursive: true });
    cpSync(sb.state, path.join(sb.base, `state${s}`), { recursive: true });
  }
  return { sb, owners, base, baseDir };
}

async function applyOps(run: Run, side: Side, ops: readonly Op[], model: SideModel): Promise<void> {
  const dir = path.join(run.sb.base, `copy${side}`);
  const v = await openVault(dir, { credentials: { identities: [X25519Identity.parse(run.owners[side].secret)] }, stateDir: path.join(run.sb.base, `state${side}`) });
  let n = 0;
  for (const o of ops) {
    n++;
    const live = [...model.files.values()].sort((x, y) => x.path.localeCompare(y.path));
    switch (o.op) {
      case 'add':
      case 'edit': {
        // add: a file at a chosen path (a new entry, or a new version if the name is taken);
        // edit: new content for an existing file (so that both copies often change the same entry).
        const target = o.op === 'edit' ? live[o.pick % Math.max(1, live.length)]?.path : join(FOLDERS[o.folder] as string, NAMES[o.name] as string);
        if (target === undefined) break;
        const slash = target.lastIndexOf('/');
        const [folder, name] = slash < 0 ? ['', target] : [target.slice(0, slash), target.slice(slash + 1)];
        const file = path.join(run.sb.base, `src-${side}-${n}`, name);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, o.content);
        await v.add([file], folder);
        const st = v.stat(target);
        expect(st === null ? 'missing' : st.conflict).toBeNull();
        const before = model.files.get(target);
        if (before) expect(st?.id).toBe(before.id);
        model.files.set(target, { id: st?.id as string, path: target, hash: sha256hex(Buffer.from(o.content)) });
        model.touch(st?.id as string, true);
        break;
      }
      case 'mv': {
        const src = live[o.pick % Math.max(1, live.length)];
        const to = join(FOLDERS[o.folder] as string, NAMES[o.name] as string);
        if (!src || src.path === to || model.files.has(to)) break;
        await v.mv(src.path, to);
        model.files.delete(src.path);
        model.files.set(to, { ...src, path: to });
        model.touch(src.id, false);
        break;
      }
      case 'rm': {
        const src = live[o.pick % Math.max(1, live.length)];
        if (!src) break;
        await v.rm(src.path);
        model.files.delete(src.path);
        model.touch(src.id, false);
        break;
      }
      case 'rotate':
        await v.rotate();
        model.epochN++;
        break;
      case 'compact':
        // A checkpoint (FORMAT §6.18): the tree is unchanged, the record objects are replaced.
        await v.compact();
        model.compacted = true;
        // The newest checkpoint supersedes (and deletes) the older ones: only what it holds stays.
        model.cleanAtCompact.clear();
        for (const f of model.files.values()) if (!model.touched.has(f.id)) model.cleanAtCompact.add(f.id);
        for (const id of model.touched.keys()) model.inCheckpoint.add(id);
        break;
      case 'grant': {
        const m = await member();
        const label = `${side}-g${model.granted.length}`;
        await v.grant(m.recipient, { label });
        model.granted.push({ label, id: m.id });
        model.members.add(label);
        break;
      }
      case 'revoke': {
        const candidates = [...model.members].filter((l) => !l.startsWith('owner')).sort();
        const label = candidates[o.pick % Math.max(1, candidates.length)];
        if (!label) break;
        const slot = (await v.members()).slots.find((s) => s.label === label);
        expect(slot, `member ${label} on copy ${side}`).toBeDefined();
        await v.revoke(slot?.id as string);
        model.epochN++;
        model.members.delete(label);
        model.revoked.add(label);
        break;
      }
    }
  }
  // The copy itself is exactly the model (before any merge).
  const files = v.list('', { recursive: true }).filter((e) => e.type === 'file');
  expect(files.map((e) => [e.path, e.conflict]).sort()).toEqual([...model.files.keys()].sort().map((p) => [p, null]));
  v.lock();
}

/**
 * Was a defect (fixed: the replay guard now counts a conflict copy of the same entry): the replay guard
 * (§6.7 step 6) rejected an ORIGINAL record whose version is below the one this computer saw, also when
 * the sync client kept the other copy's record as the original and this computer's own, newer record
 * as the conflict copy. Kept as a switch so the model can be checked against the old rule.
 *
 * What remains, a known limit (FORMAT.md §6.18): when this computer's own newer record was REFUSED by a
 * revocation made on the other copy, it is not counted, so the other copy's concurrent change at a lower
 * version is reported as replayed on this computer (VAULT_TAMPERED) rather than shown; other computers show it.
 */
const KNOWN_REPLAY_DEFECT = false;

/**
 * Was a defect (fixed: open.ts no longer calls it a rollback when the remembered epoch is in the folder as a
 * fork a revocation closed): a computer whose copy lost
 * to a revocation made on the other copy (§6.9) and that had rotated further than the revoking copy
 * (its newest epoch number is higher than the winning branch's) cannot open the merged folder at all:
 * VAULT_ROLLBACK ("this computer has seen epoch N, but the folder's newest is M"), although its epoch N
 * is right there in the folder (as a fork) and its member key is still a member. Set to false once fixed.
 */
const KNOWN_FORK_ROLLBACK_DEFECT = false;

/**
 * Was a defect (fixed: revocation manifests also list the content of every record, FORMAT.md §6.15, so a
 * checkpoint's records that the revocation kept still count): a checkpoint written on a
 * copy that had not seen a revocation made on the other copy replaces the record objects there; the sync
 * client then deletes them on the merged folder too (deleted on one side, unchanged on the other), and the
 * checkpoint itself is refused (sealed under the closed epoch): entries NEITHER copy changed vanish from
 * the tree. They are reported (VAULT_TAMPERED on the checkpoint), so while this is true the model asks only
 * that nothing beyond its rows appears and that the loss is reported. Set to false once fixed.
 */
const KNOWN_COMPACT_REVOKE_DEFECT = false;

/** The record version the model predicts for entry `id` after `side`'s changes. */
function versionOf(run: Run, model: SideModel, id: string): number {
  const isBase = [...run.base.values()].some((f) => f.id === id);
  return (isBase ? 1 : 0) + (model.touched.get(id)?.ops ?? 0);
}

interface Want {
  rows: string[];
  refused: Set<string>;
  replayed: Set<string>;
  /** Refused or replayed entries whose record is in a checkpoint: reported on that pack, by name. */
  inPack: Set<string>;
  contributing: Set<Side>;
  rollback: boolean;
  lossy: boolean;
}

/**
 * The files the merged vault must show on `machine`'s computer, when the sync client kept `original`'s
 * record of an entry both copies changed (the other's is the conflict copy), and the entries whose
 * changes it must refuse (and report).
 */
function expectation(run: Run, models: Record<Side, SideModel>, machine: Side, original: Side): Want {
  const revokedOn = (['A', 'B'] as const).filter((s) => models[s].revoked.size > 0);
  // §6.9: a copy that had not seen a revocation made on the other loses its changes. With revocations on
  // both copies, each computer keeps the branch it was on (§6.7 step 3).
  const contributing = new Set<Side>(revokedOn.length === 0 ? ['A', 'B'] : revokedOn.length === 1 ? revokedOn : [machine]);
  const ids = new Set<string>([...[...run.base.values()].map((f) => f.id), ...models.A.touched.keys(), ...models.B.touched.keys()]);
  const rows: string[] = [];
  const refused = new Set<string>();
  const replayed = new Set<string>();
  const inPack = new Set<string>();
  for (const id of ids) {
    const by = (['A', 'B'] as const).filter((s) => models[s].touched.has(id));
    if (by.length === 0) {
      const f = [...run.base.values()].find((x) => x.id === id) as FileState;
      rows.push(`${f.path}\t${f.hash}`);
      continue;
    }
    let good = by.filter((s) => contributing.has(s));
    if (good.length < by.length) refused.add(id);
    if (by.some((x) => !contributing.has(x) && models[x].inCheckpoint.has(id))) inPack.add(id);
    // The other copy's record is read as the entry's record on this computer (not as a conflict copy) when the
    // sync client kept it as the original, when it sits in that copy's checkpoint, or when this computer's
    // own record file was absorbed into this computer's checkpoint (deleted there, so the other's file is
    // kept in either order).
    const other: Side = machine === 'A' ? 'B' : 'A';
    if ((KNOWN_REPLAY_DEFECT || !contributing.has(machine)) && by.length === 2
      && (original !== machine || models[other].inCheckpoint.has(id) || models[machine].inCheckpoint.has(id))
      && versionOf(run, models[other], id) < versionOf(run, models[machine], id)) {
      replayed.add(id);
      if (models[other].inCheckpoint.has(id)) inPack.add(id);
      good = good.filter((s) => s !== other);
    }
    const baseState = [...run.base.values()].find((f) => f.id === id);
    if (good.length === 0 && baseState && ([...contributing].some((c) => models[c].compacted) || by.some((x) => !contributing.has(x) && models[x].cleanAtCompact.has(id)))) {
      // Only the refused copy changed it, and a checkpoint still holds the base version: the winning copy's,
      // or the refused copy's own from before its change (its records the revocation kept still count,
      // FORMAT §6.15). The base version stays; the refused change is reported. On the refused computer itself
      // the base version is older than the change it remembers making: reported as replayed there (the
      // known limit of FORMAT §6.18), shown everywhere else.
      if (by.includes(machine) && !contributing.has(machine)) {
        replayed.add(id);
        continue;
      }
      rows.push(`${baseState.path}\t${baseState.hash}`);
      continue;
    }
    const states = good.map((s) => models[s].stateOf(id));
    const [x, y] = states;
    const tx = good[0] ? models[good[0]].touched.get(id) : undefined;
    const ty = good[1] ? models[good[1]].touched.get(id) : undefined;
    // Both copies made the same record (same moves, no new content): the copy is hidden as identical.
    if (x && y && tx && ty && !tx.content && !ty.content && tx.ops === ty.ops && x.path === y.path) {
      rows.push(`${x.path}\t${x.hash}`);
      continue;
    }
    for (const st of states) if (st) rows.push(`${st.path}\t${st.hash}`);
  }
  const rollback = KNOWN_FORK_ROLLBACK_DEFECT && !contributing.has(machine) && [...contributing].every((c) => models[machine].epochN > models[c].epochN);
  const lossy = KNOWN_COMPACT_REVOKE_DEFECT && (['A', 'B'] as const).some((x) => !contributing.has(x) && models[x].compacted);
  return { rows: rows.sort(), refused, replayed, inPack, contributing, rollback, lossy };
}

interface Seen { dirs: string[]; rows: string[]; conflicted: string[]; problems: VaultProblem[]; verifyProblems: VaultProblem[]; active: string[] }

async function look(dir: string, stateDir: string, who: X25519Identity): Promise<Seen> {
  const v = await openVault(dir, { credentials: { identities: [who] }, stateDir });
  try {
    const all = await treeRows(v);
    const files = all.filter((r) => r.type === 'file');
    const problems = [...v.problems];
    const rep = await v.verify();
    const active = (await v.members()).slots.filter((s) => s.status === 'active').map((s) => s.label).sort();
    return {
      dirs: all.filter((r) => r.type === 'dir').map((r) => `${r.path}${r.conflict ? ` (${r.conflict})` : ''}`),
      rows: files.map((r) => `${normalise(r.path)}\t${r.sha256 ?? ''}`).sort(),
      conflicted: files.filter((r) => r.conflict !== null).map((r) => normalise(r.path)).sort(),
      problems,
      verifyProblems: rep.problems,
      active,
    };
  } finally {
    v.lock();
  }
}

/** Conflict marks on paths shown in more than one version. */
function shared(s: Seen): string[] {
  const count = new Map<string, number>();
  for (const r of s.rows) count.set(r.split('\t')[0] as string, (count.get(r.split('\t')[0] as string) ?? 0) + 1);
  return s.conflicted.filter((p) => (count.get(p) ?? 0) > 1);
}

async function check(run: Run, opsA: readonly Op[], opsB: readonly Op[]): Promise<void> {
  const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
  await applyOps(run, 'A', opsA, models.A);
  await applyOps(run, 'B', opsB, models.B);
  const at = (n: string): string => path.join(run.sb.base, n);
  // B merged into A (Bob's versions become the conflict copies), and A merged into B.
  cpSync(at('copyA'), at('AB'), { recursive: true });
  syncMerge(run.baseDir, at('AB'), at('copyB'), dropboxCopy('Bob'));
  cpSync(at('copyB'), at('BA'), { recursive: true });
  syncMerge(run.baseDir, at('BA'), at('copyA'), dropboxCopy('Alice'));
  for (const machine of ['A', 'B'] as const) {
    const seen: Seen[] = [];
    const wants: Want[] = [];
    for (const merged of ['AB', 'BA'] as const) {
      const want = expectation(run, models, machine, merged === 'AB' ? 'A' : 'B');
      // Each look is on its own copy of the folder and of the computer's state (opening heals and remembers).
      const dir = at(`${merged}-on-${machine}`);
      const state = at(`state-${merged}-on-${machine}`);
      cpSync(at(merged), dir, { recursive: true });
      cpSync(at(`state${machine}`), state, { recursive: true });
      const where = `merge ${merged} opened on computer ${machine}`;
      if (want.rollback) {
        await expect(look(dir, state, X25519Identity.parse(run.owners[machine].secret)), where).rejects.toMatchObject({ code: 'VAULT_ROLLBACK' });
        continue;
      }
      const s = await look(dir, state, X25519Identity.parse(run.owners[machine].secret));
      // (a) every change is there, extra versions of one path shown as conflicts; the folders are untouched.
      if (want.lossy) expect(['d0', 'd1'], where).toEqual(expect.arrayContaining(s.dirs));
      else expect(s.dirs, where).toEqual(['d0', 'd1']);
      if (want.lossy) {
        // Nothing the model does not have, and what is missing is reported (KNOWN_COMPACT_REVOKE_DEFECT).
        // Compared by name and content: an entry whose folder vanished is shown at the top level (§6.9).
        const leaf = (r: string): string => r.slice(r.lastIndexOf('/') + 1);
        const left = want.rows.map(leaf);
        for (const r of s.rows.map(leaf)) {
          expect(left, `${where}: ${r} expected`).toContain(r);
          left.splice(left.indexOf(r), 1);
        }
        if (left.length > 0) expect(s.problems.some((p) => p.severity === 'error' && /^(packs|records)\//.test(p.object)), `${where}: loss reported`).toBe(true);
      } else {
        expect(s.rows, where).toEqual(want.rows);
      }
      const byPath = new Map<string, number>();
      for (const r of s.rows) byPath.set(r.split('\t')[0] as string, (byPath.get(r.split('\t')[0] as string) ?? 0) + 1);
      for (const [p, count] of byPath) expect(s.conflicted.filter((c) => c === p).length, `${where}: ${p}`).toBeGreaterThanOrEqual(count - 1);
      // (a) refused changes are reported on their record, not silently gone.
      for (const id of want.lossy ? [] : [...want.refused, ...want.replayed]) {
        const on = (p: VaultProblem): boolean => p.object.startsWith(`records/${id}`) || (want.inPack.has(id) && p.object.startsWith('packs/'));
        expect(s.problems.some((p) => on(p) && (p.code === 'FORK' || p.code === 'VAULT_TAMPERED')), `${where}: refused change of ${id} reported`).toBe(true);
      }
      // (c) no other errors: only refused records, and the refused branch's epochs, slots, wraps and packs
      // (a checkpoint of the winning branch that holds an older version of a refused entry is reported too).
      const unexpected = [...s.problems, ...s.verifyProblems].filter((p) => p.severity === 'error' && !(
        [...want.replayed].some((id) => p.object === `records/${id}.rec`)
        || (want.contributing.size < 2 && (
          (p.object.startsWith('records/') && [...want.refused].some((id) => p.object.startsWith(`records/${id}`)))
          || /^(epochs|slots|keys|packs)\//.test(p.object)
          || (want.lossy && p.object.startsWith('records/'))))));
      expect(unexpected.map((p) => `${p.code} ${p.object}: ${p.message}`), where).toEqual([]);
      // (c) members: each contributing copy's grants and revocations, both owners still in.
      for (const side of want.contributing) {
        for (const l of models[side].revoked) expect(s.active, `${where}: ${l} revoked on ${side}`).not.toContain(l);
        for (const g of models[side].granted) if (!models[side].revoked.has(g.label) && ![...want.contributing].some((c) => models[c].revoked.has(g.label))) expect(s.active, where).toContain(g.label);
      }
      expect(s.active, where).toEqual(expect.arrayContaining(['ownerA', 'ownerB']));
      seen.push(s);
      wants.push(want);
    }
    // (b) the order of merging does not matter: the same files, and the same paths shown in several versions
    // with the same number of them marked as conflicts. (A version shown alone at its path may carry a
    // conflict mark in one order only: see 'a file removed on one copy and changed on the other' below.)
    const [ab, ba] = seen as [Seen, Seen];
    if (seen.length === 2 && wants.every((w) => w.replayed.size === 0 && !w.lossy)) {
      expect({ rows: ba.rows, conflicted: shared(ba) }, `computer ${machine}: A into B vs B into A`).toEqual({ rows: ab.rows, conflicted: shared(ab) });
    }
  }
}

const RUNS = Number(process.env.SYNC_PROPERTY_RUNS ?? 30);

describe('two diverging copies merged like a sync client', () => {
  it('lose no change (or report it as refused by a revocation), and give the same tree in either merge order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 5 }), fc.array(opArb, { minLength: 1, maxLength: 5 }), async (opsA, opsB) => {
        const run = await prepare();
        try {
          await check(run, opsA, opsB);
        } finally {
          run.sb.cleanup();
        }
      }),
      // SYNC_PROPERTY_RUNS / SYNC_PROPERTY_SEED: a longer or a replayed search (the seed is printed on failure).
      { numRuns: RUNS, ...(process.env.SYNC_PROPERTY_SEED ? { seed: Number(process.env.SYNC_PROPERTY_SEED) } : {}) },
    );
  }, Math.max(600_000, RUNS * 30_000));
});

/*
 * Found by the property above (seed 705171459): one copy moves a file to the trash, the other gives it new
 * content. Both merges keep the new content (good), but whether it is marked as a conflict depends on
 * which copy's record the sync client kept as the original: with the trashed record as the original, the
 * live record is a conflict copy standing alone at its name (conflict source "dropbox"); the other way
 * round it is an ordinary entry and the trashed copy is invisible. Reported to the lead; the fix belongs
 * in the tree builder, which is being moved into its own module. The expectation below is the property's
 * rule (the same tree whichever order), kept as it.fails until then: it starts failing once fixed, and
 * the .fails mark is removed.
 */
describe('a file removed on one copy and changed on the other', () => {
  let run: Run;
  let ab: Seen;
  let ba: Seen;
  beforeAll(async () => {
    run = await prepare();
    const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
    await applyOps(run, 'A', [{ op: 'rm', pick: 1 }], models.A); // d0/b.txt
    await applyOps(run, 'B', [{ op: 'add', folder: 1, name: 1, content: Buffer.from('new b') }], models.B);
    const at = (n: string): string => path.join(run.sb.base, n);
    cpSync(at('copyA'), at('AB'), { recursive: true });
    syncMerge(run.baseDir, at('AB'), at('copyB'), dropboxCopy('Bob'));
    cpSync(at('copyB'), at('BA'), { recursive: true });
    syncMerge(run.baseDir, at('BA'), at('copyA'), dropboxCopy('Alice'));
    ab = await look(at('AB'), at('stateA'), X25519Identity.parse(run.owners.A.secret));
    ba = await look(at('BA'), at('stateB'), X25519Identity.parse(run.owners.B.secret));
  });
  afterAll(() => run?.sb.cleanup());

  it('keeps the new content whichever copy the sync client kept as the original', () => {
    expect(ab.rows).toEqual(ba.rows);
    expect(ab.rows).toContain(`d0/b.txt\t${sha256hex('new b')}`);
  });
  it('marks it the same way whichever copy the sync client kept as the original', () => {
    expect(ab.conflicted).toEqual(ba.conflicted); // before the fix: ['d0/b.txt'] against []
  });
});

/*
 * Found while writing the property above (the model's KNOWN_REPLAY_DEFECT): computer A moved a file twice
 * (its record is at version 3), computer B moved it once (version 2). If the sync client keeps B's record
 * as the original and A's as the conflict copy (B uploaded first), computer A rejects B's original as
 * "replayed" (older than the v3 it saw): B's move is not shown on A, only reported as VAULT_TAMPERED.
 * The other order shows both. The replay guard should not apply to an original that has a conflict copy
 * of the same entry at or above the remembered version (or should compare against the newest of them).
 */
describe('the same file changed more often on this computer than on the other', () => {
  let run: Run;
  let baOnA: Seen;
  let abOnA: Seen;
  let id: string;
  beforeAll(async () => {
    run = await prepare();
    id = (run.base.get('a.txt') as FileState).id;
    const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
    await applyOps(run, 'A', [{ op: 'mv', pick: 0, folder: 0, name: 3 }, { op: 'mv', pick: 3, folder: 0, name: 1 }], models.A); // a.txt → n.txt → b.txt
    await applyOps(run, 'B', [{ op: 'mv', pick: 0, folder: 0, name: 2 }], models.B); // a.txt → c.txt
    const at = (n: string): string => path.join(run.sb.base, n);
    cpSync(at('copyA'), at('AB'), { recursive: true });
    syncMerge(run.baseDir, at('AB'), at('copyB'), dropboxCopy('Bob'));
    cpSync(at('copyB'), at('BA'), { recursive: true });
    syncMerge(run.baseDir, at('BA'), at('copyA'), dropboxCopy('Alice'));
    cpSync(at('stateA'), at('stateA2'), { recursive: true });
    abOnA = await look(at('AB'), at('stateA'), X25519Identity.parse(run.owners.A.secret));
    baOnA = await look(at('BA'), at('stateA2'), X25519Identity.parse(run.owners.A.secret));
  });
  afterAll(() => run?.sb.cleanup());

  const content = `\t${sha256hex('base a')}`;
  it('shows both moves on that computer when its own record was kept as the original', () => {
    expect(abOnA.rows.filter((r) => r.endsWith(content))).toEqual([`b.txt${content}`, `c.txt${content}`]);
  });
  it('does not report the other computer\'s record as replayed when the sync client kept it as the original', () => {
    // Before the fix: [['VAULT_TAMPERED', `records/${id}.rec`]] (the replay guard ignored the conflict copy).
    expect(baOnA.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.object])).toEqual([]);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
  });
  it('shows both moves on that computer whichever record the sync client kept as the original', () => {
    expect(baOnA.rows.filter((r) => r.endsWith(content))).toEqual([`b.txt${content}`, `c.txt${content}`]); // before the fix: only b.txt
  });
});

/*
 * Found while writing the property above (the model's KNOWN_FORK_ROLLBACK_DEFECT): copy A revokes a
 * member (epoch 2), copy B meanwhile rotates twice (epoch 3) and adds a file. After the sync merge, B's
 * changes are refused by design (§6.9), but computer B cannot open the vault at all: VAULT_ROLLBACK, with
 * advice to delete its state file, although nothing was rolled back (B's epoch 3 is in the folder, as a
 * fork) and B's member key is still a member. Computer A opens it and reports B's changes.
 */
describe('a computer whose copy rotated past a revocation made on the other copy', () => {
  let run: Run;
  let models: Record<Side, SideModel>;
  beforeAll(async () => {
    run = await prepare();
    models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
    await applyOps(run, 'A', [{ op: 'revoke', pick: 0 }], models.A);
    await applyOps(run, 'B', [{ op: 'rotate' }, { op: 'rotate' }, { op: 'add', folder: 1, name: 3, content: Buffer.from('from B') }], models.B);
    syncMerge(run.baseDir, path.join(run.sb.base, 'copyA'), path.join(run.sb.base, 'copyB'), dropboxCopy('Bob'));
  });
  afterAll(() => run?.sb.cleanup());

  it('is opened by the revoking computer, which reports the refused change', async () => {
    const s = await look(path.join(run.sb.base, 'copyA'), path.join(run.sb.base, 'stateA'), X25519Identity.parse(run.owners.A.secret));
    expect(s.rows).not.toContain(`d0/n.txt\t${sha256hex('from B')}`);
    const id = [...models.B.touched.keys()][0] as string;
    expect(s.problems.some((p) => p.object === `records/${id}.rec` && p.code === 'FORK')).toBe(true);
  });
  it('opens on the other computer with its member key (still a member)', async () => {
    const s = await look(path.join(run.sb.base, 'copyA'), path.join(run.sb.base, 'stateB'), X25519Identity.parse(run.owners.B.secret));
    expect(s.active).toContain('ownerB'); // today: VAULT_ROLLBACK at open
  });
});

type Vault = Awaited<ReturnType<typeof openVault>>;

/** Copy A revokes a member, copy B (not having seen it) does `opsB`; B merged into A, opened on A. */
async function revokedOnA(opsB: readonly Op[]): Promise<{ run: Run; v: Vault }> {
  const run = await prepare();
  const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
  await applyOps(run, 'A', [{ op: 'revoke', pick: 0 }], models.A);
  await applyOps(run, 'B', opsB, models.B);
  syncMerge(run.baseDir, path.join(run.sb.base, 'copyA'), path.join(run.sb.base, 'copyB'), dropboxCopy('Bob'));
  const v = await openVault(path.join(run.sb.base, 'copyA'), { credentials: { identities: [X25519Identity.parse(run.owners.A.secret)] }, stateDir: path.join(run.sb.base, 'stateA') });
  return { run, v };
}

/*
 * Found by the property above once it could compact (the model's KNOWN_COMPACT_REVOKE_DEFECT), on the
 * record packs of FORMAT §6.18: copy A revokes a member; copy B, not having seen it, writes a checkpoint
 * (`compact`, which also runs on its own when loose records pile up and after large adds). B's checkpoint
 * replaces the loose records on B; the sync client deletes them from the merged folder too (deleted on B,
 * unchanged on A), and the checkpoint is refused under the revocation. Every entry is gone on computer A,
 * although neither copy changed any of them.
 */
describe('a checkpoint written on a copy that had not seen a revocation made on the other', () => {
  let run: Run;
  let v: Vault;
  beforeAll(async () => {
    ({ run, v } = await revokedOnA([{ op: 'compact' }]));
  });
  afterAll(() => {
    v?.lock();
    run?.sb.cleanup();
  });

  it('refuses nothing: the checkpoint holds only records the revocation kept', () => {
    // Before the fix: [['VAULT_TAMPERED', 'packs', true]] (the whole checkpoint refused).
    expect(v.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.object])).toEqual([]);
  });
  it('keeps every entry neither copy changed', () => {
    expect(v.list('', { recursive: true }).map((e) => e.path).sort()).toEqual(['a.txt', 'd0', 'd0/b.txt', 'd0/c.txt', 'd1', 'd1/a.txt']); // before the fix: []
  });
});

/*
 * Found by the property above once `compact` was among its random operations: as the case before, but copy
 * B also rotated before its checkpoint, so the checkpoint is sealed under B's own epoch, a fork the
 * revocation closed. Refused wholesale, the merged vault lost every entry (the sync client deleted the loose
 * records B's checkpoint replaced). A closed fork's records now count as far as the revocation's manifest
 * lists their content, like a closed epoch's.
 */
describe('a checkpoint written under a rotation made on a copy that had not seen a revocation made on the other', () => {
  let run: Run;
  let v: Vault;
  beforeAll(async () => {
    ({ run, v } = await revokedOnA([{ op: 'rotate' }, { op: 'compact' }, { op: 'add', folder: 1, name: 3, content: Buffer.from('new on B') }]));
  });
  afterAll(() => {
    v?.lock();
    run?.sb.cleanup();
  });

  it('keeps every entry neither copy changed', () => {
    expect(v.list('', { recursive: true }).map((e) => e.path).sort()).toEqual(['a.txt', 'd0', 'd0/b.txt', 'd0/c.txt', 'd1', 'd1/a.txt']); // before the fix: []
  });
  it('refuses what B wrote under its fork, and says so', () => {
    const forks = v.problems.filter((p) => p.code === 'FORK' && p.object.startsWith('records/'));
    expect(forks.length).toBeGreaterThan(0);
    expect(v.list('d0').map((e) => e.name)).not.toContain('n.txt');
  });
});

/*
 * Found by the property above once `compact` was among its random operations: copy A edits d0/b.txt,
 * writes a checkpoint (which now holds that edit), then trashes the file; copy B moves it. B's record is
 * kept as the original by the sync client, A's trash record becomes a conflict copy. A's intermediate edit,
 * held only by A's checkpoint, must not come back: A's own later record (the conflict copy) replaces it.
 */
describe('an edit kept in a checkpoint, then removed on the same copy, while the other copy moved the file', () => {
  let run: Run;
  let seen: Record<'AB' | 'BA', Record<Side, Seen>>;
  beforeAll(async () => {
    run = await prepare();
    const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
    await applyOps(run, 'A', [{ op: 'edit', pick: 1, content: Buffer.from('edited on A') }, { op: 'compact' }, { op: 'rm', pick: 1 }], models.A); // d0/b.txt
    await applyOps(run, 'B', [{ op: 'mv', pick: 1, folder: 2, name: 3 }], models.B); // d0/b.txt → d1/n.txt
    const at = (n: string): string => path.join(run.sb.base, n);
    cpSync(at('copyA'), at('AB'), { recursive: true });
    syncMerge(run.baseDir, at('AB'), at('copyB'), dropboxCopy('Bob'));
    cpSync(at('copyB'), at('BA'), { recursive: true });
    syncMerge(run.baseDir, at('BA'), at('copyA'), dropboxCopy('Alice'));
    const on = async (merged: 'AB' | 'BA', machine: Side): Promise<Seen> => {
      cpSync(at(merged), at(`${merged}-${machine}`), { recursive: true });
      cpSync(at(`state${machine}`), at(`state-${merged}-${machine}`), { recursive: true });
      return look(at(`${merged}-${machine}`), at(`state-${merged}-${machine}`), X25519Identity.parse(run.owners[machine].secret));
    };
    seen = { AB: { A: await on('AB', 'A'), B: await on('AB', 'B') }, BA: { A: await on('BA', 'A'), B: await on('BA', 'B') } };
  });
  afterAll(() => run?.sb.cleanup());

  for (const merged of ['AB', 'BA'] as const) {
    for (const machine of ['A', 'B'] as const) {
      it(`shows B's move and not A's replaced edit (merged ${merged}, opened on ${machine})`, () => {
        const s = seen[merged][machine];
        expect(s.rows).toContain(`d1/n.txt\t${sha256hex('base b')}`);
        expect(s.rows.filter((r) => r.endsWith(`\t${sha256hex('edited on A')}`))).toEqual([]); // before the fix: d0/b.txt, on BA
        expect(s.problems.filter((p) => p.severity === 'error')).toEqual([]);
      });
    }
  }
});

/*
 * Found by the property above once each computer had its own writer id: both copies make the same move of
 * a.txt. The two records differ only in their clocks, so both were shown (d0/n.txt twice). The same change
 * is now shown once, and the next change of the entry has seen both, so the twin does not come back as a
 * conflict holding the old place. B's record is either a loose file (the sync client keeps one as a
 * conflict copy) or in B's checkpoint (a concurrent record in play).
 */
describe('the same move made on both copies', () => {
  for (const compactB of [false, true]) {
    it(`is shown once, and stays so after the next change (${compactB ? 'B checkpointed its record' : 'both records loose'})`, async () => {
      const run = await prepare();
      try {
        const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
        const move: Op = { op: 'mv', pick: 0, folder: 1, name: 3 }; // a.txt → d0/n.txt
        await applyOps(run, 'A', [move], models.A);
        await applyOps(run, 'B', compactB ? [move, { op: 'compact' }] : [move], models.B);
        const at = (n: string): string => path.join(run.sb.base, n);
        cpSync(at('copyA'), at('AB'), { recursive: true });
        syncMerge(run.baseDir, at('AB'), at('copyB'), dropboxCopy('Bob'));
        const content = `\t${sha256hex('base a')}`;
        for (const machine of ['A', 'B'] as const) {
          const s = await look(at('AB'), at(`state${machine}`), X25519Identity.parse(run.owners[machine].secret));
          expect(s.rows.filter((r) => r.endsWith(content)), `on ${machine}`).toEqual([`d0/n.txt${content}`]); // before the fix: twice
        }
        const v = await openVault(at('AB'), { credentials: { identities: [X25519Identity.parse(run.owners.A.secret)] }, stateDir: at('stateA') });
        try {
          await v.mv('d0/n.txt', 'd1/n.txt');
          expect(v.list('', { recursive: true }).filter((e) => e.type === 'file').map((e) => [e.path, e.conflict])).toEqual([
            ['d0/b.txt', null], ['d0/c.txt', null], ['d1/a.txt', null], ['d1/n.txt', null],
          ]);
        } finally {
          v.lock();
        }
        const again = await look(at('AB'), at('stateB'), X25519Identity.parse(run.owners.B.secret));
        expect(again.rows.filter((r) => r.endsWith(content))).toEqual([`d1/n.txt${content}`]);
        expect(again.conflicted).toEqual([]);
      } finally {
        run.sb.cleanup();
      }
    });
  }

  // Permanent removal goes through the trash, whose record is a change of the entry: the twin copy goes then.
  it('is gone for good when removed permanently (the twin copy goes with it)', async () => {
    const run = await prepare();
    try {
      const models = { A: new SideModel('A', run.base, MEMBERS), B: new SideModel('B', run.base, MEMBERS) };
      const move: Op = { op: 'mv', pick: 0, folder: 1, name: 3 }; // a.txt → d0/n.txt
      await applyOps(run, 'A', [move], models.A);
      await applyOps(run, 'B', [move], models.B);
      const at = (n: string): string => path.join(run.sb.base, n);
      syncMerge(run.baseDir, at('copyA'), at('copyB'), dropboxCopy('Bob'));
      const v = await openVault(at('copyA'), { credentials: { identities: [X25519Identity.parse(run.owners.A.secret)] }, stateDir: at('stateA') });
      try {
        await v.rm('d0/n.txt', { permanent: true });
      } finally {
        v.lock();
      }
      for (const machine of ['A', 'B'] as const) {
        const s = await look(at('copyA'), at(`state${machine}`), X25519Identity.parse(run.owners[machine].secret));
        expect(s.rows.filter((r) => r.endsWith(`\t${sha256hex('base a')}`)), `on ${machine}`).toEqual([]);
      }
    } finally {
      run.sb.cleanup();
    }
  });
});
