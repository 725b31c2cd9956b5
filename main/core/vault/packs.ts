/**
 * Record packs (docs/FORMAT.md §6.18): many entry records in one immutable object, so that opening a
 * vault reads a few objects, not one per entry.
 *
 *   packs/<PACK>.pack   written once by a batch (`add` of many new entries)
 *   packs/<PACK>.ckpt   one part of a checkpoint: every record of the vault, superseding older packs
 *
 * A pack is a header line `coffer-vault-pack/v2 KIND EPOCH\n`, then nonce24 ‖ XChaCha20-Poly1305(record_key_EPOCH,
 * JSON, AD) as raw bytes, AD = "coffer-vault-pack/v2" 0x00 vault id 0x00 PACK 0x00 KIND 0x00 EPOCH, so a pack cannot
 * be renamed, moved to another vault, relabelled as a checkpoint or presented under another epoch.
 *
 * Which record of an entry counts (loose `records/<ID>.rec` files and pack entries alike) is decided by
 * `resolveEntry`, from version clocks: one record replaces another only when its clock has seen every
 * change the other has; records neither of which has seen the other are concurrent edits, and are both
 * kept (one shown as a conflict). That rule does not depend on the order objects arrived in, so two
 * copies merged either way round give the same vault.
 */
import { AEAD_NPUBBYTES, sodium } from '../crypto/sodium';
import { CofferError } from '../errors';
import type { EpochKeys } from './crypto';
import { ID_RE } from './names';
import type { RecordBody } from './types';
import { recordProblem } from './validate';

export const PACKS = 'packs';
export const PACK_MAGIC = 'coffer-vault-pack/v2';
export type PackKind = 'pack' | 'ckpt';
/** Writers cut a pack after this many bytes of record JSON (well under the cap once sealed and base64'd). */
export const PACK_TARGET_BYTES = 8 << 20;
/** At most this many records per pack. */
export const PACK_MAX_RECORDS = 50_000;
/** A checkpoint has at most this many parts; `supersedes` at most this many pack ids. */
export const MAX_CHECKPOINT_PARTS = 4096;
export const MAX_SUPERSEDES = 100_000;
export interface CheckpointPart {
  /** The checkpoint's id, shared by all its parts. */
  readonly id: string;
  /** 0-based part number, and how many parts it has. */
  readonly part: number;
  readonly parts: number;
}

export interface PackContent {
  readonly v: 2;
  readonly pack: string;
  readonly kind: PackKind;
  /** Pack ids this pack replaces (checkpoints only): they apply once every part of the checkpoint is present. */
  readonly supersedes: readonly string[];
  readonly checkpoint: CheckpointPart | null;
  readonly records: readonly RecordBody[];
}

/** A pack that opened, with the records that failed validation (reported by entry id, then skipped). */
export interface OpenedPack {
  readonly content: PackContent;
  readonly rejected: readonly { readonly id: string; readonly why: string }[];
}

const ad = (vaultId: string, pack: string, kind: PackKind, epoch: string): Buffer => Buffer.from([PACK_MAGIC, vaultId, pack, kind, epoch].join('\0'), 'utf8');

/** Seals a pack under the epoch of `keys`: a header line, then nonce ‖ ciphertext as raw bytes. */
export function sealPack(keys: EpochKeys, content: PackContent): Buffer {
  const na = sodium();
  const nonce = na.randomBytes(AEAD_NPUBBYTES);
  const ct = na.aeadEncrypt(Buffer.from(JSON.stringify(content), 'utf8'), ad(keys.vaultId, content.pack, content.kind, keys.epochId), nonce, keys.record);
  return Buffer.concat([Buffer.from(`${PACK_MAGIC} ${content.kind} ${keys.epochId}\n`, 'latin1'), nonce, ct]);
}

/** Longest header line: magic, kind, epoch id, three separators. */
const HEADER_MAX = PACK_MAGIC.length + 4 + 17 + 3;

/** The kind and epoch a pack claims (unauthenticated) and where its sealed bytes start, or null if it is not a pack. */
export function packHeader(raw: Uint8Array): { kind: PackKind; epoch: string; body: number } | null {
  const nl = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, HEADER_MAX)).indexOf(0x0a);
  if (nl < 0) return null;
  const m = /^coffer-vault-pack\/v2 (pack|ckpt) ([0-9]{8}-[0-9a-f]{8})$/.exec(Buffer.from(raw.buffer, raw.byteOffset, nl).toString('latin1'));
  return m ? { kind: m[1] as PackKind, epoch: m[2] as string, body: nl + 1 } : null;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Opens and checks a pack read from the folder. `id` and `kind` come from its file name (they are bound
 * by the AEAD). Throws VAULT_TAMPERED for a pack that fails authentication or whose framing is wrong;
 * records inside that fail validation are returned in `rejected` and left out.
 */
export function openPack(keys: EpochKeys, id: string, kind: PackKind, bytes: Uint8Array): OpenedPack {
  const head = packHeader(bytes);
  if (!head || head.kind !== kind || head.epoch !== keys.epochId) throw new CofferError('VAULT_TAMPERED', 'pack is malformed');
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset + head.body, bytes.byteLength - head.body);
  if (raw.length < AEAD_NPUBBYTES + 16) throw new CofferError('VAULT_TAMPERED', 'pack is malformed');
  const pt = sodium().aeadDecrypt(raw.subarray(AEAD_NPUBBYTES), ad(keys.vaultId, id, kind, keys.epochId), raw.subarray(0, AEAD_NPUBBYTES), keys.record);
  if (!pt) throw new CofferError('VAULT_TAMPERED', 'pack failed authentication (altered, renamed, or from another vault)');
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(pt.buffer, pt.byteOffset, pt.byteLength).toString('utf8'));
  } catch {
    throw new CofferError('VAULT_TAMPERED', 'pack content is malformed');
  }
  const why = packProblem(c, id, kind);
  if (why) throw new CofferError('VAULT_TAMPERED', `pack is invalid: ${why}`);
  const content = c as { records: unknown[] } & Omit<PackContent, 'records'>;
  const records: RecordBody[] = [];
  const rejected: { id: string; why: string }[] = [];
  const seen = new Set<string>();
  for (const r of content.records) {
    const rid = isObject(r) && typeof r.id === 'string' && ID_RE.test(r.id) ? r.id : null;
    const problem = rid === null ? 'the record has no valid entry id' : seen.has(rid) ? 'the entry appears twice in one pack' : recordProblem(r, rid);
    if (problem !== null) {
      rejected.push({ id: rid ?? '?', why: problem });
      continue;
    }
    seen.add(rid as string);
    records.push(r as RecordBody);
  }
  return { content: { ...content, records }, rejected };
}

function packProblem(c: unknown, id: string, kind: PackKind): string | null {
  if (!isObject(c)) return 'not a JSON object';
  if (c.v !== 2) return 'unknown pack version';
  if (c.pack !== id) return 'it names another pack id than its file';
  if (c.kind !== kind) return 'it names another kind than its file';
  if (!Array.isArray(c.records) || c.records.length > PACK_MAX_RECORDS) return 'the record list is malformed or too long';
  if (!Array.isArray(c.supersedes) || c.supersedes.length > MAX_SUPERSEDES || !c.supersedes.every((s) => typeof s === 'string' && ID_RE.test(s))) {
    return 'the superseded pack list is malformed';
  }
  if (kind === 'pack') {
    if (c.checkpoint !== null || c.supersedes.length > 0) return 'a batch pack cannot supersede packs';
    return null;
  }
  const cp = c.checkpoint;
  if (!isObject(cp) || typeof cp.id !== 'string' || !ID_RE.test(cp.id)) return 'the checkpoint part is malformed';
  if (!Number.isSafeInteger(cp.parts) || !Number.isSafeInteger(cp.part) || (cp.parts as number) < 1 || (cp.parts as number) > MAX_CHECKPOINT_PARTS
    || (cp.part as number) < 0 || (cp.part as number) >= (cp.parts as number)) return 'the checkpoint part is malformed';
  return null;
}

/** Cuts records into packs of at most PACK_TARGET_BYTES of JSON / PACK_MAX_RECORDS records. */
export function cutPacks(records: readonly RecordBody[]): RecordBody[][] {
  const out: RecordBody[][] = [];
  let cur: RecordBody[] = [];
  let bytes = 0;
  for (const r of records) {
    const n = JSON.stringify(r).length + 1;
    if (cur.length > 0 && (bytes + n > PACK_TARGET_BYTES || cur.length >= PACK_MAX_RECORDS)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Which packs the present checkpoints supersede. A checkpoint counts only when every one of its parts
 * is present and opened (a checkpoint still syncing supersedes nothing yet).
 */
export function supersededBy(packs: readonly PackContent[]): Set<string> {
  const parts = new Map<string, { parts: number; have: Set<number>; supersedes: readonly string[] }>();
  for (const p of packs) {
    if (!p.checkpoint) continue;
    let e = parts.get(p.checkpoint.id);
    if (!e) {
      e = { parts: p.checkpoint.parts, have: new Set(), supersedes: p.supersedes };
      parts.set(p.checkpoint.id, e);
    }
    // Parts disagreeing on their count or list are not one checkpoint: never complete.
    if (e.parts !== p.checkpoint.parts || e.supersedes.join() !== p.supersedes.join()) e.parts = -1;
    e.have.add(p.checkpoint.part);
  }
  const out = new Set<string>();
  for (const e of parts.values()) if (e.parts > 0 && e.have.size === e.parts) for (const s of e.supersedes) out.add(s);
  return out;
}

// ---- version clocks and the choice of an entry's record ----

export type Clock = Readonly<Record<string, number>>;

/** a has seen every change b has (a ≥ b pointwise). */
export function covers(a: Clock, b: Clock): boolean {
  for (const [k, v] of Object.entries(b)) if ((a[k] ?? 0) < v) return false;
  return true;
}

/**
 * Whether record `a` replaces record `b` of the same entry: with clocks on both, a's clock covers b's and
 * differs; otherwise (records from before clocks) the higher version does.
 */
export function replaces(a: RecordBody, b: RecordBody): boolean {
  if (a.clock && b.clock) return covers(a.clock, b.clock) && !covers(b.clock, a.clock);
  return a.version > b.version;
}

/** A stable text of a record body (keys sorted at every level), to tell identical copies apart from edits. */
export function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (isObject(x)) return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`).join(',')}}`;
  return JSON.stringify(x) ?? 'null';
}

/**
 * Whether two records of an entry say the same thing (equal apart from their clock and version): two
 * computers that made the same change, e.g. the same move, each on its own copy. Shown once.
 */
export function sameContent(a: RecordBody, b: RecordBody): boolean {
  const strip = ({ clock: _c, version: _v, ...rest }: RecordBody): Omit<RecordBody, 'clock' | 'version'> => rest;
  return canonical(strip(a)) === canonical(strip(b));
}

export interface Candidate<S> {
  readonly body: RecordBody;
  /** Where it came from (a loose record file or a pack): the caller's. */
  readonly source: S;
}

/**
 * Chooses an entry's record among its candidates: drops exact copies and every record another one
 * replaces; of what is left (concurrent edits) the highest version wins (ties: the smallest canonical
 * text), and the others are returned as `concurrent`. The result does not depend on the order of `cands`
 * except for which `source` represents identical copies (the first in `preferred` order).
 */
export function resolveEntry<S>(cands: readonly Candidate<S>[], preferred: (a: S, b: S) => number = () => 0): { winner: Candidate<S>; concurrent: Candidate<S>[] } {
  if (cands.length === 1) return { winner: cands[0] as Candidate<S>, concurrent: [] };
  const byText = new Map<string, Candidate<S>>();
  for (const c of cands) {
    const t = canonical(c.body);
    const had = byText.get(t);
    if (!had || preferred(c.source, had.source) < 0) byText.set(t, c);
  }
  const distinct = [...byText.entries()].map(([text, c]) => ({ text, c }));
  const maximal = distinct.filter((x) => !distinct.some((y) => y !== x && replaces(y.c.body, x.c.body)));
  maximal.sort((a, b) => b.c.body.version - a.c.body.version || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return { winner: (maximal[0] as { c: Candidate<S> }).c, concurrent: maximal.slice(1).map((x) => x.c) };
}

/**
 * The clock and version for a new record of an entry whose present records are `seen`: it covers all of
 * them (the writer has seen them) and counts one more change by `writer`.
 */
export function nextClock(seen: readonly RecordBody[], writer: string): { clock: Clock; version: number } {
  const clock: Record<string, number> = {};
  let version = 0;
  for (const b of seen) {
    version = Math.max(version, b.version);
    for (const [k, v] of Object.entries(b.clock ?? {})) clock[k] = Math.max(clock[k] ?? 0, v);
  }
  clock[writer] = (clock[writer] ?? 0) + 1;
  return { clock, version: version + 1 };
}
