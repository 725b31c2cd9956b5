/**
 * The vault-object fuzzer (issue 9): the descriptor, epochs, slots, key wraps and records of a real
 * vault, mutated at random (bit flips, truncation, extension, splices with other objects of the same
 * kind, swaps, oversized objects), then opened, listed and read. Every outcome must be either the
 * unmodified result (for unmodified input, or entries whose records were untouched) or a typed
 * CofferError; never an untyped exception, never wrong data, never a hang, and peak RSS under 512 MiB.
 *
 * Cheap by design: 100,000 mutated objects go through the decoders an open uses, with the vault's real
 * keys (a record's AEAD and field validation, an epoch's or slot's MAC, a key wrap's header and unwrap):
 * each must fail with a typed error or give back exactly the original value. Then 1,000 whole opens of a
 * mutated vault in memory (MemStorage below mirrors FsStorage's size caps; client state on tmpfs) list and
 * read everything; and a sample runs on the real filesystem door (FsStorage), adding
 * what only a filesystem has: links (to /dev/zero, to a file outside), FIFOs, folders and sparse huge
 * files in place of objects, and checks that nothing outside the vault is touched.
 *
 * Reproducible: the seed is printed with any failure; COFFER_FUZZ_SEED and COFFER_FUZZ_CASES override.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import path from 'node:path';
import { isCofferError } from '../../main/core/errors';
import { openVault, objectLimit, type EntryInfo, type Fetched, type ObjectInfo, type StagedObject, type VaultStorage } from '../../main/core/vault';
import { CofferError } from '../../main/core/errors';
import { makeTree, newVault, sandbox, snapshot, type Sandbox } from './helpers';
import { openRecord, parseSignedObject, recordEpoch, verifyObject, type EpochKeys } from '../../main/core/vault/crypto';
import { validateRecordBody } from '../../main/core/vault/validate';
import { decodeRecoveryKey, recoverySecretKey } from '../../main/core/vault/recovery';
import { X25519Identity } from '../../main/core/keys/x25519';
import { nonInteractiveUI } from '../../main/core/keys/types';
import { parseHeader, verifyHeaderMac } from '../../main/core/format/header';
import { unwrapKey } from '../../main/core/format/file';

/** Mutated objects through the decoders an open uses (record AEAD + field validation, signed objects, key wraps). */
const CASES = Number(process.env.COFFER_FUZZ_CASES ?? 100_000);
/** Whole opens (list and read every file) of a mutated in-memory vault: each costs an unlock, so a sample. */
const OPEN_CASES = Number(process.env.COFFER_FUZZ_OPENS ?? Math.min(1_000, CASES));
/** Cases on the real filesystem door. */
const FS_CASES = Math.min(100, Math.ceil(OPEN_CASES / 10));
const SEED = Number(process.env.COFFER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** xorshift32: a small seeded generator, so that any failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A vault held in memory: reads mirror FsStorage (same size caps, same typed refusals). */
class MemStorage implements VaultStorage {
  readonly location = 'mem:vault';
  readonly objects: Map<string, Buffer>;
  constructor(objects: Map<string, Buffer>) {
    this.objects = new Map(objects);
  }
  private read(key: string): Buffer | null {
    const b = this.objects.get(key);
    if (!b) return null;
    const cap = objectLimit(key);
    if (!key.startsWith('blobs/') && b.length > cap) throw new CofferError('VAULT_TAMPERED', `${key} is ${b.length} bytes, more than the ${cap} bytes an object of its kind may have: not read`);
    return b;
  }
  async get(key: string): Promise<Buffer | null> {
    return this.read(key);
  }
  async getMany(keys: readonly string[]): Promise<Fetched[]> {
    return keys.map((k) => {
      try {
        return this.read(k);
      } catch (e) {
        return e as CofferError;
      }
    });
  }
  async stamp(): Promise<string | null> {
    return null;
  }
  private names(folder: string): string[] {
    const pre = `${folder}/`;
    return [...this.objects.keys()].filter((k) => k.startsWith(pre) && !k.slice(pre.length).includes('/')).map((k) => k.slice(pre.length));
  }
  async listNames(folder: string): Promise<string[]> {
    return this.names(folder);
  }
  async list(folder: string): Promise<ObjectInfo[]> {
    return this.names(folder).map((name) => {
      const b = this.objects.get(`${folder}/${name}`) as Buffer;
      return { name, size: b.length, mtimeMs: 0, tag: `${name}:${b.length}` };
    });
  }
  async put(key: string, data: Uint8Array | string): Promise<void> {
    this.objects.set(key, Buffer.from(data));
  }
  async putStream(): Promise<number> {
    throw new CofferError('INTERNAL', 'read-only fuzz storage');
  }
  async putMany(items: readonly { key: string; data: Uint8Array | string }[]): Promise<void> {
    for (const it of items) this.objects.set(it.key, Buffer.from(it.data));
  }
  async stage(): Promise<StagedObject> {
    throw new CofferError('INTERNAL', 'read-only fuzz storage');
  }
  async stageBytes(): Promise<StagedObject> {
    throw new CofferError('INTERNAL', 'read-only fuzz storage');
  }
  async commit(): Promise<void> {
    throw new CofferError('INTERNAL', 'read-only fuzz storage');
  }
  async discard(): Promise<void> {
    /* nothing staged */
  }
  getStream(key: string, expectedSize?: number): Readable {
    const b = this.objects.get(key);
    if (!b) return new Readable({ read() { this.destroy(Object.assign(new Error(`ENOENT: ${key}`), { code: 'ENOENT' })); } });
    if (expectedSize !== undefined && b.length !== expectedSize) {
      return new Readable({ read() { this.destroy(new CofferError('VAULT_TAMPERED', `${key} is ${b.length} bytes, but its record implies ${expectedSize}`)); } });
    }
    return Readable.from([b]);
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async size(key: string): Promise<number | null> {
    return this.objects.get(key)?.length ?? null;
  }
  async lock(): Promise<() => Promise<void>> {
    return async () => undefined;
  }
}

interface Baseline {
  readonly byId: Map<string, EntryInfo>;
  readonly content: Map<string, Buffer>;
}

let sb: Sandbox;
let stateDir: string;
let stateFile = '';
let stateBytes: Buffer = Buffer.alloc(0);
let objects = new Map<string, Buffer>();
let targets: string[] = [];
let recoveryKey = '';
let base: Baseline;

const sink = (): { w: Writable; bytes: () => Buffer } => {
  const parts: Buffer[] = [];
  return { w: new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }), bytes: () => Buffer.concat(parts) };
};

beforeAll(async () => {
  sb = sandbox();
  const made = await newVault(sb, { passphrase: 'pw' });
  const vault = made.vault;
  // The recovery key: cheap to derive (HKDF, no Argon2), and a fresh identity for every open.
  recoveryKey = made.recoveryKey;
  makeTree(path.join(sb.base, 'in'), { 'docs/a.txt': 'alpha', 'docs/deep/b.bin': Buffer.alloc(70_000, 3), 'c.txt': '' });
  await vault.add([path.join(sb.base, 'in/docs'), path.join(sb.base, 'in/c.txt')]);
  await vault.rotate();
  await vault.mkdir('empty');
  vault.lock();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(sb.dir, rel))) {
      const key = rel === '' ? name : `${rel}/${name}`;
      if (rel === '' && name === 'tmp') continue;
      try {
        objects.set(key, readFileSync(path.join(sb.dir, key)));
      } catch {
        walk(key);
      }
    }
  };
  walk('');
  objects = new Map([...objects].sort(([a], [b]) => a.localeCompare(b)));
  targets = [...objects.keys()].filter((k) => !k.startsWith('blobs/'));
  // Client state on tmpfs, reset before every case (so no case can change what the next one sees).
  stateDir = mkdtempSync(path.join(existsShm() ? '/dev/shm' : sb.base, 'coffer-fuzz-state-'));
  const v = await openVault('mem', { storage: new MemStorage(objects), credentials: { recoveryKey }, stateDir, heal: false });
  const list = v.list('', { recursive: true });
  const content = new Map<string, Buffer>();
  for (const e of list.filter((x) => x.type === 'file')) {
    const s = sink();
    await v.readFile(e.path, s.w);
    content.set(e.id, s.bytes());
  }
  v.lock();
  base = { byId: new Map(list.map((e) => [e.id, e])), content };
  stateFile = path.join(stateDir, 'vaults', readdirSync(path.join(stateDir, 'vaults'))[0] as string);
  stateBytes = readFileSync(stateFile);
}, 120_000);

afterAll(() => {
  sb?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function existsShm(): boolean {
  try {
    return readdirSync('/dev/shm') !== undefined;
  } catch {
    return false;
  }
}

type Mutation = (b: Buffer, r: () => number) => Buffer;
const HUGE = Buffer.alloc(Math.max(objectLimit('records/x'), objectLimit('slots/x'), objectLimit('coffer-vault.json'), objectLimit('keys/x')) + 1, 0x20);
const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)] as T;
const MUTATIONS: Record<string, Mutation> = {
  bitflip: (b, r) => {
    const c = Buffer.from(b);
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n && c.length > 0; i++) {
      const at = Math.floor(r() * c.length);
      c[at] = (c[at] as number) ^ (1 << Math.floor(r() * 8));
    }
    return c;
  },
  truncate: (b, r) => b.subarray(0, Math.floor(r() * b.length)),
  extend: (b, r) => Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256)))]),
  byte: (b, r) => {
    const c = Buffer.from(b);
    if (c.length > 0) c[Math.floor(r() * c.length)] = pick([0x00, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a, 0xff, 0x1b], r);
    return c;
  },
  splice: (b, r) => {
    const other = objects.get(pick(targets, r)) as Buffer;
    const at = Math.floor(r() * b.length);
    const from = Math.floor(r() * other.length);
    return Buffer.concat([b.subarray(0, at), other.subarray(from, from + 1 + Math.floor(r() * 200)), b.subarray(at + Math.floor(r() * 50))]);
  },
  empty: () => Buffer.alloc(0),
  huge: () => HUGE, // one shared buffer over every cap but the largest (no allocation per case)
  json: (b, r) => {
    // Structure-aware: change one JSON number, string or array in a text object (epoch/slot bodies, descriptor).
    const t = b.toString('latin1');
    const edits: [RegExp, string][] = [[/"n":\d+/, '"n":1e300'], [/"parents":\[[^\]]*\]/, '"parents":["99999999-ffffffff"]'], [/"members":\[/, '"members":[1,'], [/"v":1/, '"v":2'], [/"name":"[^"]*"/, '"name":"..\\u0000"'], [/"version":1/, '"version":1e309']];
    const [re, to] = pick(edits, r);
    return Buffer.from(t.replace(re, to), 'latin1');
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/**
 * Decodes one (possibly mutated) object the way an open does, with the real keys. Returns true when it
 * decoded to exactly the original value, false when the open would skip it without a typed error (an
 * object kind open does not decode alone, e.g. the descriptor); throws what the decoder throws.
 */
async function decodeOne(key: string, bytes: Buffer, orig: Buffer, keyring: Map<string, EpochKeys>, id: X25519Identity): Promise<boolean> {
  if (bytes.length > objectLimit(key)) throw new CofferError('VAULT_TAMPERED', `${key} is over its size cap`);
  const [folder, name] = key.split('/') as [string, string | undefined];
  if (folder === 'records' && name) {
    const text = bytes.toString('latin1');
    const epoch = recordEpoch(orig.toString('latin1')) as string;
    const keys = keyring.get(epoch) as EpochKeys;
    const entry = name.slice(0, 32);
    const body = validateRecordBody(JSON.parse(openRecord(keys, entry, text).toString('utf8')) as unknown, entry);
    const want = JSON.parse(openRecord(keys, entry, orig.toString('latin1')).toString('utf8')) as unknown;
    expect(body).toEqual(want);
    return true;
  }
  if ((folder === 'epochs' || folder === 'slots') && name) {
    const kind = folder === 'epochs' ? 'epoch' : 'slot';
    const obj = parseSignedObject<{ epoch: string }>(bytes.toString('utf8'), kind);
    const epoch = folder === 'epochs' ? name.replace('.epoch', '') : (parseSignedObject<{ epoch: string }>(orig.toString('utf8'), kind).body.epoch);
    const keys = keyring.get(epoch) as EpochKeys;
    if (!verifyObject(kind, obj, keys.mac)) throw new CofferError('VAULT_TAMPERED', `${key} failed authentication`);
    expect(obj.text).toBe(parseSignedObject(orig.toString('utf8'), kind).text);
    return true;
  }
  if (folder === 'keys' && name) {
    const epoch = name.split('.')[1] as string;
    const keys = keyring.get(epoch) as EpochKeys;
    const header = parseHeader(bytes);
    const vk = await unwrapKey(header.stanzas, [id], nonInteractiveUI, (k) => verifyHeaderMac(header, k));
    expect(Buffer.from(vk).equals(Buffer.from(keys.vk))).toBe(true);
    return true;
  }
  return false;
}

interface Outcome { kind: 'typed' | 'ok'; detail: string }

/** Opens, lists and reads the vault through `storage`; asserts the invariants; returns what happened. */
async function exercise(storage: VaultStorage, dir: string, mutated: string | null): Promise<Outcome> {
  writeFileSync(stateFile, stateBytes);
  let v;
  try {
    v = await openVault(dir, { storage, credentials: { recoveryKey }, stateDir, heal: false });
  } catch (e) {
    if (isCofferError(e)) return { kind: 'typed', detail: e.code };
    throw e;
  }
  try {
    const list = v.list('', { recursive: true });
    const problems = new Set(v.problems.map((p) => p.object));
    for (const e of list) {
      const want = base.byId.get(e.id);
      // Never wrong data: every entry shown is exactly the original one (a conflict-free vault).
      expect(want, `entry ${e.path} appeared`).toBeDefined();
      const w = want as EntryInfo;
      expect([e.type, e.name, e.size, e.mtime, e.version]).toEqual([w.type, w.name, w.size, w.mtime, w.version]);
      // An entry whose folder's record was refused is shown at the top level (with its subtree), never dropped.
      if (e.path !== w.path) expect(w.path.endsWith(`/${e.path}`), `${w.path} shown as ${e.path}`).toBe(true);
    }
    if (mutated === null) expect(list.length).toBe(base.byId.size);
    if (list.length < base.byId.size) {
      // Something is missing: it must be explained by a reported problem (the mutated object or its folder).
      expect(problems.size, `entries missing without a reported problem (mutated ${mutated})`).toBeGreaterThan(0);
    }
    for (const e of list.filter((x) => x.type === 'file')) {
      const s = sink();
      try {
        await v.readFile(e.path, s.w);
        expect(s.bytes().equals(base.content.get(e.id) as Buffer), `content of ${e.path}`).toBe(true);
      } catch (err) {
        if (!isCofferError(err)) throw err;
      }
    }
    return { kind: 'ok', detail: list.length === base.byId.size ? 'full' : 'partial' };
  } finally {
    v.lock();
  }
}

describe('vault-object fuzzer', () => {
  it(`${CASES} mutated objects through the decoders: a typed error or exactly the original value`, async () => {
    const r = rng(SEED ^ 0x2545f491);
    writeFileSync(stateFile, stateBytes);
    const v = await openVault('mem', { storage: new MemStorage(objects), credentials: { recoveryKey }, stateDir, heal: false });
    const keyring: Map<string, EpochKeys> = v['core'].keyring;
    const id = new X25519Identity(recoverySecretKey(decodeRecoveryKey(recoveryKey)));
    const tally = new Map<string, number>();
    const count = (k: string): void => { tally.set(k, (tally.get(k) ?? 0) + 1); };
    try {
      for (let i = 0; i < CASES; i++) {
        const key = pick(targets, r);
        const how = pick(MUTATION_NAMES, r);
        const orig = objects.get(key) as Buffer;
        const next = (MUTATIONS[how] as Mutation)(orig, r);
        try {
          const same = await decodeOne(key, next, orig, keyring, id);
          count(same ? 'identical' : 'skipped');
        } catch (e) {
          if (!isCofferError(e)) throw new Error(`decode case ${i} (seed ${SEED}): ${how} of ${key} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
          count(`typed:${e.code}`);
        }
      }
    } finally {
      id.destroy();
      v.lock();
    }
    console.log(`vault decode fuzz: ${CASES} cases, seed ${SEED}: ${JSON.stringify(Object.fromEntries(tally))}`);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(CASES);
    expect(process.resourceUsage().maxRSS).toBeLessThan(512 * 1024); // KiB
  }, 1_800_000);

  it(`${OPEN_CASES} whole opens of a mutated vault in memory: success on unmodified input or a typed error; never wrong data`, async () => {
    const r = rng(SEED);
    const storage = new MemStorage(objects);
    const tally = new Map<string, number>();
    expect((await exercise(storage, 'mem', null)).detail).toBe('full');
    for (let i = 0; i < OPEN_CASES; i++) {
      const key = pick(targets, r);
      const how = pick(MUTATION_NAMES, r);
      const orig = objects.get(key) as Buffer;
      const next = (MUTATIONS[how] as Mutation)(orig, r);
      const unchanged = next.equals(orig);
      storage.objects.set(key, next);
      try {
        const o = await exercise(storage, 'mem', unchanged ? null : key);
        tally.set(`${o.kind}:${o.detail}`, (tally.get(`${o.kind}:${o.detail}`) ?? 0) + 1);
      } catch (e) {
        throw new Error(`fuzz case ${i} (seed ${SEED}): ${how} of ${key} gave ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
      } finally {
        storage.objects.set(key, orig);
      }
    }
    console.log(`vault open fuzz: ${OPEN_CASES} cases, seed ${SEED}: ${JSON.stringify(Object.fromEntries(tally))}`);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(OPEN_CASES);
    expect(process.resourceUsage().maxRSS).toBeLessThan(512 * 1024); // KiB
  }, 1_800_000);

  it(`${FS_CASES} cases on the real filesystem door, with links, FIFOs, folders and huge files; nothing outside the vault touched`, async () => {
    const r = rng(SEED ^ 0x5bd1e995);
    const work = path.join(sb.base, 'fs');
    mkdirSync(work);
    const dir = path.join(work, 'vault');
    cpSync(sb.dir, dir, { recursive: true });
    const outside = path.join(sb.base, 'outside.txt');
    writeFileSync(outside, 'outside the vault');
    const before = snapshot(sb.base, [dir, path.join(sb.base, 'fs')]);
    const { FsStorage } = await import('../../main/core/vault');
    const storage = new FsStorage(dir);
    expect((await exercise(storage, dir, null)).detail).toBe('full');
    const swaps = ['zero', 'outside', 'fifo', 'folder', 'sparse', ...MUTATION_NAMES];
    for (let i = 0; i < FS_CASES; i++) {
      const key = pick(targets, r);
      const how = pick(swaps, r);
      const file = path.join(dir, key);
      const orig = objects.get(key) as Buffer;
      rmSync(file, { recursive: true, force: true });
      if (how === 'zero') symlinkSync('/dev/zero', file);
      else if (how === 'outside') symlinkSync(outside, file);
      else if (how === 'fifo') execFileSync('mkfifo', [file]);
      else if (how === 'folder') mkdirSync(file);
      else if (how === 'sparse') {
        writeFileSync(file, orig);
        truncateSync(file, 700 << 20);
      } else writeFileSync(file, (MUTATIONS[how] as Mutation)(orig, r));
      try {
        await exercise(storage, dir, key);
      } catch (e) {
        throw new Error(`fs fuzz case ${i} (seed ${SEED}): ${how} of ${key} gave ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
      } finally {
        rmSync(file, { recursive: true, force: true });
        writeFileSync(file, orig);
      }
    }
    expect(snapshot(sb.base, [dir, path.join(sb.base, 'fs')])).toEqual(before);
    expect(readFileSync(outside, 'utf8')).toBe('outside the vault');
    expect(process.resourceUsage().maxRSS).toBeLessThan(512 * 1024);
  }, 600_000);
});
