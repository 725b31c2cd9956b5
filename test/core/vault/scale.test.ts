/**
 * A vault of 100,000 entries built in the test (docs/FORMAT.md §6.5, §6.7): opening it and listing
 * everything is an ordinary test, under vitest's ordinary timeout (vitest.config.ts), while the building
 * happens once in beforeAll with a generous one. No timing assertions: speed is measured by
 * `npm run bench`; this test guards that open + list at this size finishes, is complete and is right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { FsStorage, initVault, openVault } from '../../../main/core/vault';
import { member, sandbox, type Sandbox } from './helpers';

/** Files in the vault: TOPS × SUBS folders of PER files each. */
const TOPS = 4;
const SUBS = 5;
const PER = 5_000;
const FILES = TOPS * SUBS * PER;
const FOLDERS = TOPS + TOPS * SUBS;
/** Files per `add` while building. */
const BATCH = 2_000;

/** File i's content: 0–64 bytes that differ from file to file. */
function content(i: number): Buffer {
  const len = (i * 7) % 65;
  return Buffer.from(`#${i};`.repeat(Math.ceil(len / 3) + 1), 'utf8').subarray(0, len);
}
const fileAt = (i: number): { top: number; sub: number; vpath: string } => {
  const top = Math.floor(i / (SUBS * PER));
  const sub = Math.floor(i / PER) % SUBS;
  return { top, sub, vpath: `t${top}/s${sub}/f${i}.txt` };
};

let sb: Sandbox;
let who: Awaited<ReturnType<typeof member>>;

beforeAll(async () => {
  const started = Date.now();
  sb = sandbox();
  who = await member();
  // Built without fsync: durability is not what this test is about (the crash tests cover it), and
  // 100,000 flushes of a shared disk would dominate. The open below uses the ordinary, durable storage.
  const vault = (await initVault(sb.dir, { name: 'Scale', stateDir: sb.state, recipients: [{ recipient: who.recipient }], storage: new FsStorage(sb.dir, { durable: false }) })).vault;
  // Added in steps of at most BATCH files (one `add` each, into their folder), so that every step commits
  // in one batch. One `add` of 25,000 files here degrades to batches of a single file once re-reading
  // the records takes longer than add's 5-second commit timer (reported to the lead with the figures).
  for (let top = 0; top < TOPS; top++) {
    for (let sub = 0; sub < SUBS; sub++) {
      const first = (top * SUBS + sub) * PER;
      for (let from = first; from < first + PER; from += BATCH) {
        const src = path.join(sb.base, `src-${from}`);
        mkdirSync(src);
        const files: string[] = [];
        for (let i = from; i < Math.min(from + BATCH, first + PER); i++) {
          const f = path.join(src, `f${i}.txt`);
          writeFileSync(f, content(i));
          files.push(f);
        }
        const r = await vault.add(files, `t${top}/s${sub}`);
        expect([r.files, r.skipped]).toEqual([files.length, []]);
        rmSync(src, { recursive: true, force: true });
      }
    }
  }
  vault.lock();
  // Informational only (no timing assertion): the figure the lead compares across record formats.
  console.info(`built ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 90 * 60_000);

afterAll(() => sb?.cleanup(), 15 * 60_000);

describe(`a vault of ${FILES.toLocaleString('en')} files`, () => {
  it('opens with a member key and lists every entry, with the right contents', async () => {
    const started = Date.now();
    const v = await openVault(sb.dir, { credentials: { identities: [who.id] }, stateDir: sb.state });
    const all = v.list('', { recursive: true });
    expect(all.filter((e) => e.type === 'file')).toHaveLength(FILES);
    expect(all.filter((e) => e.type === 'dir')).toHaveLength(FOLDERS);
    expect(all.filter((e) => e.conflict !== null)).toEqual([]);
    expect(v.problems).toEqual([]);
    // Per folder: the exact names, each file's size.
    const byFolder = new Map<string, string[]>();
    for (const e of all) {
      if (e.type !== 'file') continue;
      const folder = e.path.slice(0, e.path.lastIndexOf('/'));
      const list = byFolder.get(folder) ?? [];
      list.push(e.name);
      byFolder.set(folder, list);
      const i = Number(e.name.slice(1, -4));
      expect(fileAt(i).vpath === e.path && e.size === content(i).length).toBe(true);
    }
    expect([...byFolder.keys()].sort()).toEqual(Array.from({ length: TOPS * SUBS }, (_, k) => `t${Math.floor(k / SUBS)}/s${k % SUBS}`).sort());
    for (const names of byFolder.values()) expect(names).toHaveLength(PER);
    expect(v.list('t2/s3')).toHaveLength(PER);
    // Spot reads across the whole range, the empty file and the longest included.
    for (const i of [0, 64, 1, PER - 1, PER, FILES / 2 + 17, FILES - 1]) {
      const chunks: Buffer[] = [];
      await v.readFile(fileAt(i).vpath, new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }));
      expect(Buffer.concat(chunks).equals(content(i))).toBe(true);
    }
    v.lock();
    console.info(`opened and listed ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
