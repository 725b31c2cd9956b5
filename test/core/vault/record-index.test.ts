/**
 * Record packs inside a real vault (main/core/vault/record-index.ts, docs/FORMAT.md §6.18): batches of new
 * entries go into packs, changes stay loose, a checkpoint replaces what piled up, concurrent edits made on
 * two copies are both kept whichever way the copies are merged, and the hostile-folder rules hold for packs
 * (a removed member's pack under a closed epoch, a relabelled, linked, oversized or stray pack).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { initSodium } from '../../../main/core/crypto/sodium';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { type Vault } from '../../../main/core/vault';
import { sealPack } from '../../../main/core/vault/packs';
import type { RecordBody } from '../../../main/core/vault/types';
import { copyKeys, stealEpochKeys } from '../../hostile/attacker';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from './helpers';
import { syncMerge } from './sync-helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const ls = (dir: string, sub: string): string[] => (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub)).sort() : []);
const many = (n: number, prefix = 'f'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(3, '0')}.txt`, `content ${prefix} ${i}`]));

async function read(v: Vault, p: string): Promise<string> {
  const chunks: Buffer[] = [];
  await v.readFile(p, new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks).toString('utf8');
}

/** A vault opened by a member key, with `n` files added in one batch from `src`. */
async function packedVault(n: number): Promise<{ v: Vault; who: Awaited<ReturnType<typeof member>> }> {
  await initSodium();
  sb = sandbox();
  const who = await member();
  const { vault: v } = await newVault(sb, { passphrase: 'pw', members: [who.recipient] });
  makeTree(path.join(sb.base, 'src'), many(n));
  await v.add([path.join(sb.base, 'src')]);
  return { v, who };
}

/** A vault with members Alice and Rob (Rob's slot id found by his recipient) and 40 files added in one batch (a pack). */
async function teamVault(): Promise<{ v: Vault; alice: Awaited<ReturnType<typeof member>>; rob: Awaited<ReturnType<typeof member>>; robSlot: string }> {
  await initSodium();
  sb = sandbox();
  const alice = await member();
  const rob = await member();
  const { vault: v } = await newVault(sb, { passphrase: 'pw', members: [alice.recipient, rob.recipient] });
  makeTree(path.join(sb.base, 'src'), many(40));
  await v.add([path.join(sb.base, 'src')]);
  const robSlot = (await v.members()).slots.find((s) => readFileSync(path.join(sb.dir, 'slots', `${s.id}.slot`), 'utf8').includes(rob.recipient))?.id;
  expect(robSlot).toMatch(/^[0-9a-f]{12}$/);
  return { v, alice, rob, robSlot: robSlot as string };
}

describe('record packs in a vault', () => {
  it('an add of many new files writes a pack, not one record file per entry; another computer opens it', async () => {
    const { v, who } = await packedVault(120);
    expect(ls(sb.dir, 'packs').filter((f) => f.endsWith('.pack'))).toHaveLength(1);
    // Only the folder made for the batch is a loose record.
    expect(ls(sb.dir, 'records')).toHaveLength(1);
    const other = await open(sb, { identities: [who.id] }, sb.dir, path.join(sb.base, 'other'));
    expect(paths(other)).toEqual(paths(v));
    expect(paths(other)).toHaveLength(121);
    expect(await read(other, 'src/f077.txt')).toBe('content f 77');
    expect(other.problems).toEqual([]);
  });

  it('a change of a packed entry is a loose record that replaces it; a permanent removal is a tombstone the pack cannot undo', async () => {
    const { v, who } = await packedVault(40);
    await v.mv('src/f001.txt', 'src/renamed.txt');
    await v.rm('src/f002.txt', { permanent: true });
    const fresh = await open(sb, { identities: [who.id] }, sb.dir, path.join(sb.base, 'fresh'));
    const p = paths(fresh);
    expect(p).toContain('src/renamed.txt');
    expect(p).not.toContain('src/f001.txt');
    expect(p).not.toContain('src/f002.txt');
    expect(await read(fresh, 'src/renamed.txt')).toBe('content f 1');
    // Attack: a folder-writer deletes the tombstone so that the pack's record of f002 shows again.
    const id = v.list('src').find((e) => e.name === 'f003.txt')?.id as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const stones = ls(sb.dir, 'records').filter((f) => {
      const o = v.list('src').find((e) => `${e.id}.rec` === f);
      return o === undefined && f !== `${v.stat('src')?.id}.rec`;
    });
    expect(stones).toHaveLength(1);
    rmSync(path.join(sb.dir, 'records', stones[0] as string));
    // This computer saw the deletion: the old record is refused as a replay, not shown.
    await v.load();
    expect(paths(v)).not.toContain('src/f002.txt');
    expect(v.problems.some((x) => x.code === 'VAULT_TAMPERED' && /replayed/.test(x.message))).toBe(true);
  });

  it('a checkpoint replaces piled-up packs and loose records; the vault reads the same afterwards', async () => {
    const { v, who } = await packedVault(40);
    for (let i = 0; i < 17; i++) {
      makeTree(path.join(sb.base, `b${i}`), many(33, `b${i}-`));
      await v.add([path.join(sb.base, `b${i}`)]);
    }
    // More than 16 packs: the last add wrote a checkpoint and removed what it absorbed.
    // More than 16 packs after the 16th: that add wrote a checkpoint and removed what it absorbed; the
    // 17th added one pack and one folder record.
    const packs = ls(sb.dir, 'packs');
    expect(packs.filter((f) => f.endsWith('.ckpt')).length).toBeGreaterThan(0);
    expect(packs.filter((f) => f.endsWith('.pack'))).toHaveLength(1);
    expect(ls(sb.dir, 'records')).toHaveLength(1);
    const before = paths(v);
    expect(before).toHaveLength(1 + 40 + 17 * 34);
    const fresh = await open(sb, { identities: [who.id] }, sb.dir, path.join(sb.base, 'fresh'));
    expect(paths(fresh)).toEqual(before);
    expect(await read(fresh, 'b16/b16-032.txt')).toBe('content b16- 32');
    expect(fresh.problems).toEqual([]);
    // A change after the checkpoint is loose again, and wins over the checkpoint's record.
    await fresh.mv('b3/b3-004.txt', 'b3/moved.txt');
    const third = await open(sb, { identities: [who.id] }, sb.dir, path.join(sb.base, 'third'));
    expect(paths(third)).toContain('b3/moved.txt');
    expect(paths(third)).not.toContain('b3/b3-004.txt');
    const r = await third.compact();
    expect(r.removed).toBeGreaterThan(0);
    expect(ls(sb.dir, 'records')).toEqual([]);
    expect(ls(sb.dir, 'packs').every((f) => f.endsWith('.ckpt'))).toBe(true);
    const fourth = await open(sb, { identities: [who.id] }, sb.dir, path.join(sb.base, 'fourth'));
    expect(paths(fourth)).toEqual(paths(third));
  });

  it('edits of one entry made on two copies at once are both kept, whichever way the copies are merged', async () => {
    const { v, who } = await packedVault(40);
    v.lock();
    const base = path.join(sb.base, 'base');
    cpSync(sb.dir, base, { recursive: true });
    const copy = (name: string): string => {
      const d = path.join(sb.base, name);
      cpSync(base, d, { recursive: true });
      return d;
    };
    const a = copy('a');
    const b = copy('b');
    // lock() wipes the identities a vault was opened with: every open below gets its own copy.
    const key = (): { identities: X25519Identity[] } => ({ identities: [X25519Identity.parse(who.id.toString())] });
    // Each copy is another computer (its own state, so its own writer id).
    const va = await open(sb, key(), a, path.join(sb.base, 'state-a'));
    const vb = await open(sb, key(), b, path.join(sb.base, 'state-b'));
    // A changes the entry twice (version 3), B once (version 2): by versions alone, A's record would
    // silently replace B's (checked: with `replaces` reduced to the version rule, this test fails showing only from-a.txt).
    await va.mv('src/f005.txt', 'src/draft-a.txt');
    await va.mv('src/draft-a.txt', 'src/from-a.txt');
    await vb.mv('src/f005.txt', 'src/from-b.txt');
    // A then writes a checkpoint, which absorbs (and removes) its loose record of the entry: the sync
    // client sees a deletion on A and a change on B, and keeps B's file. Only the clocks can tell that
    // B's record is an edit A never saw, not an older record the checkpoint replaced.
    await va.compact();
    va.lock();
    vb.lock();
    const ab = path.join(sb.base, 'ab');
    cpSync(a, ab, { recursive: true });
    syncMerge(base, ab, b);
    const ba = path.join(sb.base, 'ba');
    cpSync(b, ba, { recursive: true });
    syncMerge(base, ba, a);
    const shown = async (dir: string, state: string): Promise<string[]> => {
      const o = await open(sb, key(), dir, path.join(sb.base, state));
      const e = o.list('src').filter((x) => x.name.startsWith('from-') || x.name.startsWith('f005'));
      return e.map((x) => `${x.name}|${x.conflict?.source ?? ''}`).sort();
    };
    const one = await shown(ab, 's-ab');
    const two = await shown(ba, 's-ba');
    expect(one).toEqual(['from-a.txt|', 'from-b.txt|concurrent']);
    expect(two).toEqual(one);
    // Resolving: removing the concurrent edit keeps the current one, and the conflict is gone for everyone.
    const o = await open(sb, key(), ab, path.join(sb.base, 's-ab'));
    await o.rm('src/from-b.txt', { permanent: true });
    const again = await open(sb, key(), ab, path.join(sb.base, 's-ab2'));
    expect(again.list('src').filter((x) => x.name.startsWith('from-')).map((x) => x.name)).toEqual(['from-a.txt']);
  });
});

describe('attacks on packs', () => {
  it('a copy that had not seen a revocation writes a checkpoint: the merged vault keeps every entry it had, and refuses what it added', async () => {
    const { v, alice, robSlot } = await teamVault();
    v.lock();
    const base = path.join(sb.base, 'base');
    cpSync(sb.dir, base, { recursive: true });
    const a = path.join(sb.base, 'a');
    const b = path.join(sb.base, 'b');
    cpSync(base, a, { recursive: true });
    cpSync(base, b, { recursive: true });
    const key = (): { identities: X25519Identity[] } => ({ identities: [X25519Identity.parse(alice.id.toString())] });
    // Copy A revokes Rob; copy B, which has not seen that yet, adds a file and writes a checkpoint under the
    // epoch the revocation closes, deleting the pack and loose records it absorbed (as automatic compaction does).
    const va = await open(sb, key(), a, path.join(sb.base, 'state-a'));
    await va.revoke(robSlot);
    va.lock();
    const vb = await open(sb, key(), b, path.join(sb.base, 'state-b'));
    makeTree(path.join(sb.base, 'late'), { 'late.txt': 'added on B after the revocation' });
    await vb.add([path.join(sb.base, 'late', 'late.txt')]);
    await vb.compact();
    vb.lock();
    expect(ls(b, 'packs').every((f) => f.endsWith('.ckpt'))).toBe(true);
    syncMerge(base, a, b);
    // Before content hashes in manifests, computer A listed nothing here: the checkpoint was refused as a
    // whole and the pack and records it replaced had been deleted by the sync.
    const o = await open(sb, key(), a, path.join(sb.base, 'state-a'));
    const p = paths(o);
    expect(p.filter((x) => x.startsWith('src/f'))).toHaveLength(40);
    expect(p).not.toContain('late.txt');
    expect(await read(o, 'src/f039.txt')).toBe('content f 39');
    const refused = o.problems.filter((x) => x.code === 'VAULT_TAMPERED');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((x) => /closed/.test(x.message))).toBe(true);
  });

  it('a removed member plants a pack under the epoch they knew: refused after the revocation; the packs it kept still count', async () => {
    const { v, alice, rob, robSlot } = await teamVault();
    const closed = v.epoch;
    const kept = copyKeys(await stealEpochKeys(sb.dir, robSlot, rob.id, closed));
    await v.revoke(robSlot);
    // Rob, still able to write to the folder, seals a pack under the epoch he knew.
    const planted: RecordBody = { v: 1, id: 'a'.repeat(32), type: 'file', parent: '', name: 'invoice-pay-now.pdf', size: 0, mtime: Date.now(), version: 1, key: Buffer.alloc(32).toString('base64'), blob: 'b'.repeat(32) };
    const packId = 'c'.repeat(32);
    writeFileSync(path.join(sb.dir, 'packs', `${packId}.pack`), sealPack(kept, { v: 2, pack: packId, kind: 'pack', supersedes: [], checkpoint: null, records: [planted] }));
    const fresh = await open(sb, { identities: [alice.id] }, sb.dir, path.join(sb.base, 'fresh'));
    const p = paths(fresh);
    expect(p).not.toContain('invoice-pay-now.pdf');
    // Control: the batch pack from before the revocation is listed in its manifest and still counts.
    expect(p.filter((x) => x.startsWith('src/f'))).toHaveLength(40);
    const problem = fresh.problems.find((x) => x.object === `packs/${packId}.pack`);
    expect(problem?.code).toBe('VAULT_TAMPERED');
    expect(problem?.message).toMatch(/closed/);
  });

  it('a relabelled, renamed, linked or oversized pack and stray files are reported; everything else reads', async () => {
    const { v, who } = await packedVault(40);
    const [pack] = ls(sb.dir, 'packs');
    const full = path.join(sb.dir, 'packs', pack as string);
    const text = readFileSync(full, 'latin1');
    // Renamed: its AD binds the id, so it fails authentication under the new name.
    renameSync(full, path.join(sb.dir, 'packs', `${'d'.repeat(32)}.pack`));
    // Relabelled as a checkpoint part.
    writeFileSync(path.join(sb.dir, 'packs', `${'e'.repeat(32)}.ckpt`), text.replace(' pack 0', ' ckpt 0'), 'latin1');
    // A link to a file outside the vault, an oversized pack, a stray file.
    writeFileSync(path.join(sb.base, 'outside'), text, 'latin1');
    symlinkSync(path.join(sb.base, 'outside'), path.join(sb.dir, 'packs', `${'f'.repeat(32)}.pack`));
    writeFileSync(path.join(sb.dir, 'packs', `${'1'.repeat(32)}.pack`), Buffer.alloc((64 << 20) + 1, 0x41));
    writeFileSync(path.join(sb.dir, 'packs', 'notes.txt'), 'hello');
    const o = await open(sb, { identities: [who.id] }, sb.dir, path.join(sb.base, 'o'));
    const by = (f: string): string | undefined => o.problems.find((x) => x.object === `packs/${f}`)?.message;
    expect(by(`${'d'.repeat(32)}.pack`)).toMatch(/failed authentication/);
    expect(by(`${'e'.repeat(32)}.ckpt`)).toMatch(/failed authentication/);
    expect(by(`${'f'.repeat(32)}.pack`)).toMatch(/link/);
    expect(by(`${'1'.repeat(32)}.pack`)).toMatch(/more than the 67108864 bytes/);
    expect(by('notes.txt')).toMatch(/not a pack file/);
    // The batch's entries were only in that pack, so they are gone from view; the folder record is loose.
    expect(paths(o)).toEqual(['src/']);
    // Control: putting the pack back under its own name brings every entry back.
    rmSync(path.join(sb.dir, 'packs', `${'d'.repeat(32)}.pack`));
    writeFileSync(full, text, 'latin1');
    await o.load();
    expect(paths(o)).toEqual(paths(v));
  });
});
