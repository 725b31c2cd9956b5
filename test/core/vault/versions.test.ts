import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { initSodium } from '../../../main/core/crypto/sodium';
import { DAY_MS, initVault, openVault, SYNC_GRACE_MS, type RecordBody, type Vault } from '../../../main/core/vault';
import { mutate } from '../../../main/core/vault/open';
import { writeRecord } from '../../../main/core/vault/records';
import { member, newVault, paths, sandbox, TEST_KDF, type Sandbox } from './helpers';
import { dropboxName } from './sync-helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

/** A clock the test moves by hand (no timed assertions). */
function testClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

async function clockedVault(sb: Sandbox, clock: () => number): Promise<Vault> {
  await initSodium();
  const { vault } = await initVault(sb.dir, { name: 'T', passphrase: 'pw', kdf: TEST_KDF, stateDir: sb.state });
  vault.lock();
  return openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, clock });
}

function reopen(sb: Sandbox, clock: () => number, dir = sb.dir, state = sb.state): Promise<Vault> {
  return openVault(dir, { credentials: { passphrase: 'pw' }, stateDir: state, clock });
}

async function put(v: Vault, sb: Sandbox, name: string, content: string): Promise<void> {
  const f = path.join(sb.base, 'src', name);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, content);
  await v.add([f]);
}

async function readVersion(v: Vault, vpath: string, version: number): Promise<string> {
  const chunks: Buffer[] = [];
  await v.readVersion(vpath, version, new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks).toString();
}

const blobCount = (dir: string): number => (existsSync(path.join(dir, 'blobs')) ? readdirSync(path.join(dir, 'blobs')).length : 0);

describe('versions', () => {
  it('a replaced file keeps its previous versions; one can be read, written out and restored', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await put(v, sb, 'doc.txt', 'first');
    clock.advance(1000);
    await put(v, sb, 'doc.txt', 'second!');
    clock.advance(1000);
    await put(v, sb, 'doc.txt', 'third');
    const list = v.versions('doc.txt');
    expect(list.map((x) => [x.version, x.size, x.current])).toEqual([[3, 5, true], [2, 7, false], [1, 5, false]]);
    expect(list[1]?.replaced).toBe(new Date(Date.UTC(2026, 0, 1) + 2000).toISOString());
    expect(list[1]?.expires).toBe(new Date(Date.UTC(2026, 0, 1) + 2000 + 30 * DAY_MS).toISOString());
    expect(await readVersion(v, 'doc.txt', 1)).toBe('first');
    await v.getVersion('doc.txt', 2, path.join(sb.base, 'v2.out'));
    expect(readFileSync(path.join(sb.base, 'v2.out'), 'utf8')).toBe('second!');
    await expect(v.getVersion('doc.txt', 2, path.join(sb.base, 'v2.out'))).rejects.toMatchObject({ code: 'EXISTS' });
    await expect(v.readVersion('doc.txt', 9, new Writable())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(v.restoreVersion('doc.txt', 3)).rejects.toMatchObject({ code: 'USAGE' });
    const r = await v.restoreVersion('doc.txt', 1);
    expect(r).toMatchObject({ path: 'doc.txt', version: 4, size: 5 });
    expect(await readVersion(v, 'doc.txt', 4)).toBe('first');
    // The content it replaced ("third") is itself a previous version now: a restore can be undone.
    expect(v.versions('doc.txt').map((x) => x.version)).toEqual([4, 3, 2, 1]);
    expect(await readVersion(v, 'doc.txt', 3)).toBe('third');
    expect((await v.verify()).ok).toBe(true);
    v.lock();
    // Kept across a reopen (they live in the entry's record).
    const v2 = await reopen(sb, clock.now);
    expect(v2.versions('doc.txt').map((x) => x.version)).toEqual([4, 3, 2, 1]);
    v2.lock();
  });

  it('save-back style commits (commitStaged) keep the version they replace', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    const e1 = await v.addStream('notes.md', Readable.from([Buffer.from('good text')]));
    await v.commitStaged(await v.stageStream(Readable.from([Buffer.from('oops, a bad edit')])), 'notes.md', { expect: { id: e1.id, version: e1.version } });
    expect(v.versions('notes.md').map((x) => x.version)).toEqual([2, 1]);
    await v.restoreVersion('notes.md', 1);
    const chunks: Buffer[] = [];
    await v.readFile('notes.md', new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }));
    expect(Buffer.concat(chunks).toString()).toBe('good text');
    v.lock();
  });

  it('collection honours retention by count and by age (injected clock), then deletes blobs after the sync grace', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    expect(v.retention).toEqual({ days: 30, versions: 10 });
    await v.setRetention({ days: 7, versions: 2 });
    expect(v.retention).toEqual({ days: 7, versions: 2 });
    await expect(v.setRetention({ days: 0, versions: 2 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(v.setRetention({ days: 7, versions: 101 })).rejects.toMatchObject({ code: 'USAGE' });
    for (const c of ['v1', 'v2', 'v3', 'v4']) {
      clock.advance(DAY_MS);
      await put(v, sb, 'a.txt', c);
    }
    // Count: only 2 previous versions are kept; v1 was released when v4 came in (blob still there: grace).
    expect(v.versions('a.txt').map((x) => x.version)).toEqual([4, 3, 2]);
    expect(blobCount(sb.dir)).toBe(4);
    expect(await v.collect()).toMatchObject({ blobs: 0, pending: 1 });
    // A rotation keeps the setting (it is carried from epoch to epoch).
    await v.rotate();
    expect(v.retention).toEqual({ days: 7, versions: 2 });
    // After the grace, the released blob goes.
    clock.advance(SYNC_GRACE_MS);
    expect(await v.collect()).toMatchObject({ versions: 0, blobs: 1, pending: 0 });
    expect(blobCount(sb.dir)).toBe(3);
    // Age: v2 was replaced 2 days ago, v3 1 day ago; 5 more days and v2 is 7 days old, v3 not yet.
    clock.advance(5 * DAY_MS);
    const r = await v.collect();
    expect(r).toMatchObject({ versions: 1, blobs: 0, pending: 1 });
    // (Collection rewrites the record, so the entry's own version number moves on; previous versions keep theirs.)
    expect(v.versions('a.txt').slice(1).map((x) => x.version)).toEqual([3]);
    expect(await readVersion(v, 'a.txt', 3)).toBe('v3');
    clock.advance(SYNC_GRACE_MS);
    expect(await v.collect()).toMatchObject({ versions: 1, blobs: 1 }); // v3 is now 8 days old too
    clock.advance(SYNC_GRACE_MS);
    expect(await v.collect()).toMatchObject({ blobs: 1, pending: 0 });
    expect(v.versions('a.txt')).toHaveLength(1);
    expect(await readVersion(v, 'a.txt', (v.versions('a.txt')[0] as { version: number }).version)).toBe('v4');
    expect(blobCount(sb.dir)).toBe(1);
    expect((await v.verify()).ok).toBe(true);
    v.lock();
    // The setting is in the vault (its current epoch), so another computer sees it.
    const other = path.join(sb.base, 'state2');
    const v2 = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: other });
    expect(v2.retention).toEqual({ days: 7, versions: 2 });
    v2.lock();
  });

  it('property: any sequence of add, replace, delete, restore keeps every version retrievable until collected', async () => {
    await initSodium();
    const names = ['a.txt', 'b.txt'];
    const op = fc.oneof(
      fc.record({ k: fc.constant('put' as const), name: fc.constantFrom(...names), content: fc.string({ maxLength: 12 }) }),
      fc.record({ k: fc.constant('del' as const), name: fc.constantFrom(...names) }),
      fc.record({ k: fc.constant('undelete' as const), name: fc.constantFrom(...names) }),
      fc.record({ k: fc.constant('restore' as const), name: fc.constantFrom(...names), idx: fc.nat(4) }),
      fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: DAY_MS }) }),
    );
    const KEEP = 3;
    const DAYS = 5;
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
      const box = sandbox();
      try {
        const clock = testClock();
        const v = await clockedVault(box, clock.now);
        await v.setRetention({ days: DAYS, versions: KEEP });
        // The model: per name, the live content and its previous versions (newest first, with when each
        // was replaced), and the trash (newest last).
        type Ver = { c: string; at: number };
        const live = new Map<string, { cur: string; hist: Ver[] }>();
        const trash: { name: string; cur: string; hist: Ver[] }[] = [];
        const trim = (h: Ver[]): Ver[] => h.filter((x, i) => i < KEEP && clock.now() - x.at < DAYS * DAY_MS);
        for (const o of ops) {
          if (o.k === 'tick') {
            clock.advance(o.ms);
            continue;
          }
          const e = live.get(o.name);
          if (o.k === 'put') {
            await put(v, box, o.name, o.content);
            if (e) live.set(o.name, { cur: o.content, hist: trim([{ c: e.cur, at: clock.now() }, ...e.hist]) });
            else live.set(o.name, { cur: o.content, hist: [] });
          } else if (o.k === 'del') {
            if (!e) continue;
            await v.rm(o.name);
            live.delete(o.name);
            trash.push({ name: o.name, ...e });
          } else if (o.k === 'undelete') {
            const i = trash.map((t) => t.name).lastIndexOf(o.name);
            if (e || i < 0) continue; // a name taken again is restored as "(restored)": not modelled here
            const id = v.trashIdFor(o.name);
            expect(id).not.toBeNull();
            await v.restoreFromTrash(id as string);
            const [t] = trash.splice(i, 1);
            live.set(o.name, { cur: (t as { cur: string }).cur, hist: (t as { hist: Ver[] }).hist });
          } else {
            if (!e) continue;
            const ver = v.versions(o.name)[o.idx + 1];
            if (!ver) continue;
            await v.restoreVersion(o.name, ver.version);
            const back = (e.hist[o.idx] as Ver).c;
            live.set(o.name, { cur: back, hist: trim([{ c: e.cur, at: clock.now() }, ...e.hist]) });
          }
          // Every version the model keeps is there, in order, with its content.
          for (const [name, m] of live) {
            const vs = v.versions(name);
            expect(vs.length).toBe(1 + m.hist.length);
            expect(await readVersion(v, name, (vs[0] as { version: number }).version)).toBe(m.cur);
            for (const [i, h] of m.hist.entries()) expect(await readVersion(v, name, (vs[i + 1] as { version: number }).version)).toBe(h.c);
          }
          expect(v.trash().length).toBe(trash.length);
        }
        expect(paths(v)).toEqual([...live.keys()].sort());
        expect((await v.verify()).ok).toBe(true);
        // Past the retention, and then past the grace: only the live content is left.
        clock.advance(DAYS * DAY_MS);
        await v.collect();
        expect(v.trash()).toEqual([]);
        for (const name of live.keys()) expect(v.versions(name)).toHaveLength(1);
        clock.advance(SYNC_GRACE_MS);
        const c = await v.collect();
        expect(c.pending).toBe(0);
        expect(blobCount(box.dir)).toBe(live.size);
        expect(existsSync(path.join(box.dir, 'records')) ? readdirSync(path.join(box.dir, 'records')).length : 0).toBe(live.size);
        for (const [name, m] of live) expect(await readVersion(v, name, (v.versions(name)[0] as { version: number }).version)).toBe(m.cur);
        expect((await v.verify()).ok).toBe(true);
        v.lock();
      } finally {
        box.cleanup();
      }
    }), { numRuns: 12 });
  }, 240_000);
});

describe('trash', () => {
  it('a deleted folder goes to the trash as one entry and comes back where it was, folders made again if gone', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await v.mkdir('work/reports');
    const f = path.join(sb.base, 'q1.txt');
    writeFileSync(f, 'numbers');
    await v.add([f], 'work/reports');
    await v.rm('work/reports', { recursive: true });
    expect(paths(v)).toEqual(['work/']);
    const [t] = v.trash();
    expect(t).toMatchObject({ name: 'reports', path: 'work/reports', type: 'dir', files: 1, size: 7 });
    expect(t?.expires).toBe(new Date(Date.UTC(2026, 0, 1) + 30 * DAY_MS).toISOString());
    // Its parent folder is deleted too, separately: restore makes "work" again.
    await v.rm('work', { recursive: true });
    const restored = await v.restoreFromTrash(t?.id as string);
    expect(restored.path).toBe('work/reports');
    expect(paths(v)).toEqual(['work/', 'work/reports/', 'work/reports/q1.txt']);
    await expect(v.restoreFromTrash(t?.id as string)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A name taken meanwhile: restored beside it.
    await v.rm('work/reports/q1.txt');
    await put(v, sb, 'q1.txt', 'new');
    await v.mv('q1.txt', 'work/reports/q1.txt');
    const back = await v.restoreFromTrash(v.trashIdFor('work/reports/q1.txt') as string);
    expect(back.path).toBe('work/reports/q1 (restored).txt');
    expect((await v.verify()).ok).toBe(true);
    v.lock();
  });

  it('trash entries expire after the retention days; empty --permanent removes at once (blobs after the grace)', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await put(v, sb, 'old.txt', 'o');
    await put(v, sb, 'gone.txt', 'g');
    await v.rm('old.txt');
    clock.advance(29 * DAY_MS);
    await v.collect();
    expect(v.trash().map((t) => t.name)).toEqual(['old.txt']);
    clock.advance(DAY_MS);
    expect(await v.collect()).toMatchObject({ trash: 1, blobs: 0, pending: 1 });
    expect(v.trash()).toEqual([]);
    const r = await v.rm('gone.txt', { permanent: true });
    expect(r.files).toBe(1);
    expect(v.trash()).toEqual([]);
    expect(blobCount(sb.dir)).toBe(2);
    clock.advance(SYNC_GRACE_MS);
    expect(await v.collect()).toMatchObject({ blobs: 2, pending: 0 });
    expect(blobCount(sb.dir)).toBe(0);
    expect(readdirSync(path.join(sb.dir, 'records'))).toEqual([]);
    v.lock();
  });

  it('removing a sync-conflict copy puts it in the trash as an entry of its own', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await put(v, sb, 'x.txt', 'mine');
    const id = (v.stat('x.txt') as { id: string }).id;
    // A second version of the record, as a sync client leaves it (made by this vault's own writer).
    const rec = path.join(sb.dir, 'records', `${id}.rec`);
    const mine = readFileSync(rec);
    await put(v, sb, 'x.txt', 'theirs');
    writeFileSync(path.join(sb.dir, 'records', dropboxName(`${id}.rec`)), readFileSync(rec));
    writeFileSync(rec, mine);
    v.lock();
    const state2 = path.join(sb.base, 'state-b');
    const v2 = await reopen(sb, clock.now, sb.dir, state2);
    const c = v2.list('').find((e) => e.conflict);
    expect(c).toBeDefined();
    await v2.rm(c?.path as string);
    expect(v2.list('').map((e) => e.path)).toEqual(['x.txt']);
    expect(v2.trash()).toHaveLength(1);
    await v2.restoreFromTrash(v2.trash()[0]?.id as string);
    expect(v2.list('').map((e) => e.path).sort()).toEqual(['x (restored).txt', 'x.txt']);
    v2.lock();
  });
});

describe('collection is safe', () => {
  it('a record that fails verification cannot make collection delete a blob (attack; positive control with a verified record)', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await put(v, sb, 'keep.txt', 'precious');
    const keep = v.stat('keep.txt') as { id: string };
    // The attacker (write access to the folder, no key) plants a record of a new entry whose `released`
    // names keep.txt's blob, sealed under a key of their own: it fails authentication and is ignored.
    const otherSb = sandbox();
    try {
      const o = await clockedVault(otherSb, clock.now);
      await put(o, otherSb, 'bait.txt', 'x');
      const bait = o.stat('bait.txt') as { id: string };
      o.lock();
      const liveBlob = readdirSync(path.join(sb.dir, 'blobs'))[0] as string;
      const planted = path.join(sb.dir, 'records', `${bait.id}.rec`);
      writeFileSync(planted, readFileSync(path.join(otherSb.dir, 'records', `${bait.id}.rec`)));
      v.lock();
      clock.advance(10 * SYNC_GRACE_MS);
      const v2 = await reopen(sb, clock.now);
      expect(v2.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${bait.id}.rec` }));
      await v2.collect();
      expect(existsSync(path.join(sb.dir, 'blobs', liveBlob))).toBe(true);
      // Positive control: a *verified* record that releases an unreferenced blob does get it deleted, so the
      // collector acts on `released` lists, and only verification kept the planted one out.
      const orphan = 'ab'.repeat(16);
      writeFileSync(path.join(sb.dir, 'blobs', `${orphan}.blob`), 'not referenced by anything');
      const k = v2.stat('keep.txt');
      expect(k?.id).toBe(keep.id);
      const core = v2['core'];
      await mutate(core, async () => {
        const node = core.index.records.get(`${keep.id}.rec`) as unknown as { body: Record<string, unknown> };
        await writeRecord(core, { ...node.body, version: (node.body.version as number) + 1, released: [{ blob: orphan, at: clock.now() - SYNC_GRACE_MS }, { blob: liveBlob.slice(0, 32), at: clock.now() - SYNC_GRACE_MS }] } as unknown as RecordBody, `${keep.id}.rec`);
      });
      const r = await v2.collect();
      expect(existsSync(path.join(sb.dir, 'blobs', `${orphan}.blob`))).toBe(false);
      // Even a verified record cannot release content that a record still names (keep.txt's own blob).
      expect(existsSync(path.join(sb.dir, 'blobs', liveBlob))).toBe(true);
      expect(r.blobs).toBe(1);
      v2.lock();
    } finally {
      otherSb.cleanup();
    }
  });

  it('a copy of the entry that cannot be verified (not synced yet) postpones collection of its blobs', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await v.setRetention({ days: 30, versions: 0 });
    await put(v, sb, 'f.txt', 'one');
    const id = (v.stat('f.txt') as { id: string }).id;
    await put(v, sb, 'f.txt', 'two'); // 'one' released at once (versions: 0)
    expect(blobCount(sb.dir)).toBe(2);
    // A copy of this entry's record that cannot be checked: garbage under the entry's id (e.g. half-synced).
    const copy = path.join(sb.dir, 'records', dropboxName(`${id}.rec`));
    writeFileSync(copy, 'coffer-vault-record/v1 99999999-deadbeef AAAA\n');
    clock.advance(2 * SYNC_GRACE_MS);
    expect(await v.collect()).toMatchObject({ blobs: 0, pending: 1 });
    expect(blobCount(sb.dir)).toBe(2);
    // Positive control: once the copy is gone (or verifies), collection proceeds.
    unlinkSync(copy);
    expect(await v.collect()).toMatchObject({ blobs: 1, pending: 0 });
    expect(blobCount(sb.dir)).toBe(1);
    v.lock();
  });

  it('a version restored on another machine while this one released it survives collection (sync conflict)', async () => {
    sb = sandbox();
    const clock = testClock();
    const v = await clockedVault(sb, clock.now);
    await put(v, sb, 'f.txt', 'old');
    await put(v, sb, 'f.txt', 'new');
    const id = (v.stat('f.txt') as { id: string }).id;
    v.lock();
    // Machine B (a synced copy) restores version 1; machine A meanwhile stops keeping versions.
    const bDir = path.join(sb.base, 'copyB');
    const bState = path.join(sb.base, 'stateB');
    cpSync(sb.dir, bDir, { recursive: true });
    cpSync(sb.state, bState, { recursive: true });
    const b = await reopen(sb, clock.now, bDir, bState);
    await b.restoreVersion('f.txt', 1);
    b.lock();
    const a = await reopen(sb, clock.now);
    await a.setRetention({ days: 30, versions: 0 }); // (a new epoch; joined by B's copy below)
    await a.collect(); // drops 'old' from the history: released
    a.lock();
    // The sync client brings B's record as a conflict copy beside A's.
    writeFileSync(path.join(sb.dir, 'records', dropboxName(`${id}.rec`)), readFileSync(path.join(bDir, 'records', `${id}.rec`)));
    clock.advance(2 * SYNC_GRACE_MS);
    const a2 = await reopen(sb, clock.now);
    const c = await a2.collect();
    expect(c.blobs).toBe(0);
    const conflict = a2.list('').find((e) => e.conflict);
    expect(conflict).toBeDefined();
    const chunks: Buffer[] = [];
    await a2.readFile(conflict?.path as string, new Writable({ write: (x: Buffer, _e, cb) => { chunks.push(x); cb(); } }));
    expect(Buffer.concat(chunks).toString()).toBe('old');
    expect((await a2.verify()).ok).toBe(true);
    a2.lock();
  });

  it('revoke --reencrypt re-encrypts previous versions too (a removed member kept old file keys)', async () => {
    sb = sandbox();
    const m = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [m.recipient] });
    await put(vault, sb, 'f.txt', 'v1');
    await put(vault, sb, 'f.txt', 'v2');
    await put(vault, sb, 'g.txt', 'g');
    await vault.rm('g.txt');
    const before = new Set(readdirSync(path.join(sb.dir, 'blobs')));
    const slot = (await vault.members()).slots.find((s) => s.type === 'x25519') as { id: string };
    await vault.revoke(slot.id, { reencrypt: true });
    const after = readdirSync(path.join(sb.dir, 'blobs'));
    expect(after).toHaveLength(3);
    expect(after.filter((b) => before.has(b))).toEqual([]);
    expect(await readVersion(vault, 'f.txt', 1)).toBe('v1');
    expect(vault.trash()).toHaveLength(1);
    expect((await vault.verify()).ok).toBe(true);
    vault.lock();
  });
});

describe('older vaults', () => {
  it('a format 1 vault (frozen vector) opens without versions or trash, and a collection with nothing due writes nothing', async () => {
    sb = sandbox();
    const VEC = path.resolve(__dirname, '../../vectors/vault');
    cpSync(path.join(VEC, 'v1'), sb.dir, { recursive: true });
    const before = readFileSync(path.join(sb.dir, 'coffer-vault.json'), 'utf8');
    const v = await openVault(sb.dir, { credentials: { passphrase: readFileSync(path.join(VEC, 'passphrase.txt'), 'utf8').split('\n')[0] as string }, stateDir: sb.state });
    const files = v.list('', { recursive: true }).filter((e) => e.type === 'file' && !e.conflict);
    for (const f of files) expect(v.versions(f.path)).toHaveLength(1);
    expect(v.trash()).toEqual([]);
    expect(v.retention).toEqual({ days: 30, versions: 10 });
    const listing = readdirSync(sb.dir, { recursive: true }).map(String).sort();
    expect(await v.collect()).toEqual({ versions: 0, trash: 0, blobs: 0, bytes: 0, pending: 0 });
    expect(readFileSync(path.join(sb.dir, 'coffer-vault.json'), 'utf8')).toBe(before); // not migrated
    expect(readdirSync(sb.dir, { recursive: true }).map(String).sort()).toEqual(listing);
    expect(v.formatVersion).toBe(1);
    v.lock();
  });
});
