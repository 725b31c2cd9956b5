/**
 * Record packs and version clocks (main/core/vault/packs.ts, docs/FORMAT.md §6.18): the sealed framing
 * refuses every relabelling a folder-writer can do, records inside are validated one by one, a
 * checkpoint supersedes only when complete, and the choice of an entry's record does not depend on the
 * order the copies arrived in.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { initSodium } from '../../../main/core/crypto/sodium';
import { EpochKeys } from '../../../main/core/vault/crypto';
import {
  canonical, cutPacks, nextClock, openPack, packHeader, PACK_TARGET_BYTES, replaces, resolveEntry, sealPack, supersededBy, type PackContent,
} from '../../../main/core/vault/packs';
import type { RecordBody } from '../../../main/core/vault/types';

const hex = (n: number): string => randomBytes(n).toString('hex');
const VAULT = hex(16);
let keys: EpochKeys;
let other: EpochKeys;

beforeAll(async () => {
  await initSodium();
  keys = new EpochKeys('00000001-aaaaaaaa', new Uint8Array(randomBytes(32)), VAULT);
  other = new EpochKeys('00000002-bbbbbbbb', new Uint8Array(randomBytes(32)), VAULT);
});

const file = (id: string, over: Partial<RecordBody> = {}): RecordBody => ({
  v: 1, id, type: 'file', parent: '', name: `f-${id.slice(0, 6)}.txt`, size: 3, mtime: 1_700_000_000_000, version: 1, key: 'a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=', blob: hex(16), ...over,
});
const pack = (records: RecordBody[], over: Partial<PackContent> = {}): PackContent => ({ v: 2, pack: hex(16), kind: 'pack', supersedes: [], checkpoint: null, records, ...over });

describe('pack objects', () => {
  it('round-trip and name their kind and epoch', () => {
    const c = pack([file(hex(16)), file(hex(16), { type: 'dir', key: undefined, blob: undefined, size: 0 })]);
    const text = sealPack(keys, c);
    expect(packHeader(text)).toMatchObject({ kind: 'pack', epoch: keys.epochId });
    const o = openPack(keys, c.pack, 'pack', text);
    expect(o.rejected).toEqual([]);
    expect(o.content.records.map((r) => r.id)).toEqual(c.records.map((r) => r.id));
  });

  it('attack: a pack renamed, relabelled as a checkpoint, moved to another epoch or altered is refused', () => {
    const c = pack([file(hex(16))]);
    const sealed = sealPack(keys, c);
    const text = sealed.toString('latin1');
    const bytes = (t: string): Buffer => Buffer.from(t, 'latin1');
    expect(() => openPack(keys, hex(16), 'pack', sealed)).toThrow(/failed authentication/);
    const relabelled = bytes(text.replace('coffer-vault-pack/v2 pack', 'coffer-vault-pack/v2 ckpt'));
    expect(() => openPack(keys, c.pack, 'ckpt', relabelled)).toThrow(/failed authentication/);
    const moved = bytes(text.replace(keys.epochId, other.epochId));
    expect(() => openPack(other, c.pack, 'pack', moved)).toThrow(/failed authentication/);
    const b = Buffer.from(sealed);
    b.writeUInt8(b.readUInt8(b.length - 10) ^ 0x01, b.length - 10);
    expect(() => openPack(keys, c.pack, 'pack', b)).toThrow(/failed authentication/);
    expect(() => openPack(keys, c.pack, 'pack', Buffer.concat([sealed, bytes('extra')]))).toThrow(/failed authentication/);
    expect(() => openPack(keys, c.pack, 'pack', sealed.subarray(0, 30))).toThrow(/malformed/);
    expect(() => openPack(keys, c.pack, 'pack', bytes(`x${text}`))).toThrow(/malformed/);
    // Control: the untouched pack opens.
    expect(openPack(keys, c.pack, 'pack', sealed).content.records).toHaveLength(1);
  });

  it('attack: a key holder sealing bad records inside a pack gets them rejected one by one, the rest kept', () => {
    const good = file(hex(16));
    const dup = file(hex(16));
    const evil = [
      { ...file(hex(16)), name: '../../etc/passwd' },
      { ...file(hex(16)), size: -1 },
      { ...file(hex(16)), clock: { 'not-a-writer': 1 } },
      { ...file(hex(16)), gone: 5 }, // a tombstone that still names content
      dup, dup,
    ] as unknown as RecordBody[];
    const c = pack([good, ...evil]);
    const o = openPack(keys, c.pack, 'pack', sealPack(keys, c));
    expect(o.content.records.map((r) => r.id)).toEqual([good.id, dup.id]);
    expect(o.rejected.map((r) => r.why)).toEqual([
      'the name contains "/"', 'size -1 is out of range', 'the version clock is malformed', 'a deletion record names content', 'the entry appears twice in one pack',
    ]);
  });

  it('attack: a batch pack cannot supersede anything; a checkpoint part must be well-formed', () => {
    const c = pack([], { supersedes: [hex(16)] });
    expect(() => openPack(keys, c.pack, 'pack', sealPack(keys, c))).toThrow(/cannot supersede/);
    const bad = pack([], { kind: 'ckpt', checkpoint: { id: hex(16), part: 2, parts: 2 } });
    expect(() => openPack(keys, bad.pack, 'ckpt', sealPack(keys, bad))).toThrow(/checkpoint part is malformed/);
  });

  it('a checkpoint supersedes only once all its parts are present and they agree', () => {
    const id = hex(16);
    const old = [hex(16), hex(16)];
    const part = (n: number, parts = 2, sup = old): PackContent => pack([], { kind: 'ckpt', checkpoint: { id, part: n, parts }, supersedes: sup });
    expect(supersededBy([part(0)])).toEqual(new Set());
    expect(supersededBy([part(0), part(1)])).toEqual(new Set(old));
    expect(supersededBy([part(0), part(1, 2, [old[0] as string])])).toEqual(new Set());
    expect(supersededBy([part(0), part(1, 3)])).toEqual(new Set());
  });

  it('cuts large record sets into packs under the target size', () => {
    const recs = Array.from({ length: 10_000 }, () => file(hex(16), { name: 'x'.repeat(1000) }));
    const packs = cutPacks(recs);
    expect(packs.length).toBeGreaterThan(1);
    expect(packs.flat()).toHaveLength(recs.length);
    for (const p of packs) expect(p.map((r) => JSON.stringify(r).length + 1).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(PACK_TARGET_BYTES);
  });
});

describe('choosing an entry record', () => {
  it('a later change replaces; concurrent changes are both kept; identical copies are one', () => {
    const id = hex(16);
    const base = file(id);
    const a1 = { ...base, ...nextClock([base], 'aaaaaaaaaaaa'), name: 'a.txt' };
    const b1 = { ...base, ...nextClock([base], 'bbbbbbbbbbbb'), name: 'b.txt' };
    const a2 = { ...a1, ...nextClock([a1], 'aaaaaaaaaaaa'), name: 'a2.txt' };
    expect(replaces(a1, base)).toBe(true);
    expect(replaces(a2, a1)).toBe(true);
    expect(replaces(a2, b1)).toBe(false);
    expect(replaces(b1, a2)).toBe(false);
    // The case versions alone get wrong: a2 has the higher version, yet b1 is an edit a2 never saw.
    const r = resolveEntry([base, a1, a2, b1, { ...a2 }].map((body, i) => ({ body, source: i })));
    expect(r.winner.body.name).toBe('a2.txt');
    expect(r.concurrent.map((c) => c.body.name)).toEqual(['b.txt']);
    const merged = { ...a2, ...nextClock([a2, b1], 'bbbbbbbbbbbb') };
    const r2 = resolveEntry([a2, b1, merged].map((body, i) => ({ body, source: i })));
    expect(r2.winner.body).toBe(merged);
    expect(r2.concurrent).toEqual([]);
  });

  it('records without clocks (written before packs) are ordered by version', () => {
    const id = hex(16);
    const v1 = file(id);
    const v2 = { ...file(id), version: 2 };
    const v3 = { ...v2, ...nextClock([v2], 'aaaaaaaaaaaa') };
    expect(resolveEntry([v1, v2].map((body) => ({ body, source: 0 }))).winner.body).toBe(v2);
    expect(resolveEntry([v3, v1, v2].map((body) => ({ body, source: 0 }))).winner.body).toBe(v3);
  });

  it('property: the chosen record and the concurrent set do not depend on the order of the copies', () => {
    const writers = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc'];
    const id = hex(16);
    // Random edit histories: each step, a writer edits one of the records seen so far (its clock grows).
    const hist = fc.array(fc.tuple(fc.nat(2), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 12 });
    fc.assert(fc.property(hist, fc.nat(), (steps, seed) => {
      const all: RecordBody[] = [file(id)];
      for (const [w, pick, rename] of steps) {
        const from = all[pick % all.length] as RecordBody;
        all.push({ ...from, ...nextClock([from], writers[w] as string), name: rename ? `n${all.length}.txt` : from.name, mtime: from.mtime + all.length });
      }
      const shuffled = [...all].sort((a, b) => ((canonical(a).length * 31 + seed) % 7) - ((canonical(b).length * 31 + seed) % 7));
      const one = resolveEntry(all.map((body) => ({ body, source: 0 })));
      const two = resolveEntry(shuffled.map((body) => ({ body, source: 0 })));
      const three = resolveEntry([...all].reverse().map((body) => ({ body, source: 0 })));
      const key = (r: typeof one): string => [canonical(r.winner.body), ...r.concurrent.map((c) => canonical(c.body)).sort()].join('|');
      expect(key(two)).toBe(key(one));
      expect(key(three)).toBe(key(one));
      // Nothing maximal is lost: every record is the winner, concurrent, or replaced by one of them.
      const kept = [one.winner.body, ...one.concurrent.map((c) => c.body)];
      for (const r of all) expect(kept.some((k) => canonical(k) === canonical(r) || replaces(k, r))).toBe(true);
    }), { numRuns: 300 });
  });
});
