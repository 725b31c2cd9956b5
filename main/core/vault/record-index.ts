/**
 * The vault's index of entry records (docs/FORMAT.md §6.5, §6.18): loose record files (`records/`) and
 * record packs (`packs/`), read through the storage door, authenticated, checked against the epoch
 * history and the revocations in force, and resolved to one record per entry (plus concurrent edits,
 * shown as conflicts).
 *
 * Writing: a change of one entry is a loose record (a sync client sees it as one file, and recognises a
 * concurrent change of the same file as a conflict); a batch of new entries is one pack; a checkpoint
 * (`compact`) rewrites every record into a few packs and removes what it absorbed, so that opening reads
 * a number of objects that does not grow with the number of entries.
 *
 * Nothing here trusts the folder: names are parsed strictly, sizes are capped by the storage door,
 * every pack and record is authenticated under a trusted epoch (records under a closed epoch only when a
 * revocation's manifest lists their exact bytes), and every record body is validated before use.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CofferError, isCofferError } from '../errors';
import { openRecord, recordEpoch, sealRecord, type EpochKeys } from './crypto';
import { HEX32, parseObjectName, type ObjectName } from './names';
import {
  PACKS, canonical, covers, cutPacks, nextClock, openPack, packHeader, replaces, resolveEntry, sameContent, sealPack, supersededBy,
  type Candidate, type PackContent, type PackKind,
} from './packs';
import type { VaultStorage } from './storage';
import type { RecordBody, VaultProblem } from './types';
import { validateRecordBody } from './validate';

export const RECORDS = 'records';

/** What a conflict node is: a sync client's copy of a record file, or a concurrent edit found by the clocks. */
export type NodeConflict = ObjectName['conflict'] | { readonly source: 'concurrent'; readonly marker: string };

/** One record the vault shows: an entry's current record, or a conflicting one kept beside it. */
export interface Node {
  /** Unique key: `<ID>.rec` for an entry's current record, the file name for a sync client's conflict copy, `<ID>.rec~<object>` for a concurrent edit. */
  readonly file: string;
  /** The record file's exact text (loose records), '' for a record held in a pack. */
  readonly tag: string;
  readonly body: RecordBody;
  readonly conflict: NodeConflict;
}

/** What the index needs to know about the vault's history (vault.ts provides it). */
export interface IndexContext {
  /** Keys of a trusted epoch (the chosen history, FORMAT §6.7), else undefined. */
  keysOf(epoch: string): EpochKeys | undefined;
  /**
   * Keys of a fork that a revocation in force closed (made on a copy that had not seen it), else undefined:
   * its objects count only as far as that revocation's manifest lists them, like a closed epoch's.
   */
  forkKeys(epoch: string): EpochKeys | undefined;
  /** How to report an object under an epoch without trusted keys. */
  untrusted(epoch: string): 'fork' | 'unopenable' | 'unknown';
  /** Revocations in force that `epoch` does not descend from (its objects must be in their manifests). */
  closedBy(epoch: string): readonly string[];
  /** Whether revocation `r`'s manifest lists an object with this SHA-256 (false when the manifest is missing). */
  manifestHas(r: string, hash: string): boolean;
  /** The version this computer saw of an entry (negative: deleted at that version), for replay checks. */
  seenVersion(id: string): number | undefined;
  problem(p: Omit<VaultProblem, 'repairable' | 'path'>): void;
  /** Changes whenever the trusted epochs or the revocations in force change (cached checks are redone). */
  readonly historyKey: string;
}

/** Source of a candidate record: a loose file or a pack file. */
interface Source {
  readonly kind: 'loose' | 'pack';
  /** The file name within its folder. */
  readonly file: string;
  /** Loose records: the file's text. */
  readonly text: string;
}

interface LooseEntry {
  readonly text: string;
  readonly epoch: string;
  readonly body: RecordBody;
  readonly name: ObjectName;
  checkedUnder: string;
}

interface PackEntry {
  readonly epoch: string;
  readonly hash: string;
  readonly content: PackContent;
  /**
   * Under an epoch a revocation closed, when the pack itself is not in the revocation's manifest: the records
   * whose bodies the manifest lists (null: the whole pack counts). Such a pack supersedes nothing.
   */
  accepted: readonly RecordBody[] | null;
  checkedUnder: string;
}

const sha256hex = (s: string): string => createHash('sha256').update(s, 'latin1').digest('hex');
/** What a revocation manifest lists for a record's content (FORMAT.md §6.15): SHA-256 of its canonical body, domain-separated. */
export const bodyHash = (b: RecordBody): string => createHash('sha256').update('coffer-vault-record-body/v2\0').update(canonical(b), 'utf8').digest('hex');
/**
 * An entry's candidates without the records held in packs that a sync client's conflict copy of the entry
 * replaces (by clocks). The copy is shown on its own, but its clock still counts: when a checkpoint holds an
 * edit its own computer changed again later, and the sync client kept that later record as a conflict copy
 * (the other computer's change being the original), the edit in the checkpoint is history, not a concurrent
 * change. A loose original stays whatever its copies say: original and copy are the two files the sync
 * client saw in conflict, both shown as before packs. `null` when nothing is left (e.g. the original was
 * refused after a revocation, and only a checkpoint's older version remained): the copies alone stand for
 * the entry.
 */
function withoutReplaced(found: Candidate<Source> | Candidate<Source>[], copies: readonly RecordBody[] | undefined): Candidate<Source> | Candidate<Source>[] | null {
  if (!copies) return found;
  const all = Array.isArray(found) ? found : [found];
  const left = all.filter((c) => c.source.kind !== 'pack' || !copies.some((b) => b.clock && c.body.clock && replaces(b, c.body)));
  if (left.length === all.length) return found;
  if (left.length === 0) return null;
  return left.length === 1 ? (left[0] as Candidate<Source>) : left;
}

const errMsg = (e: unknown): string => (e instanceof SyntaxError ? 'record content is malformed' : (e as Error).message);

/** Compaction thresholds: a checkpoint is written when a change leaves more loose records or packs than this. */
export const COMPACT_LOOSE = 512;
export const COMPACT_PACKS = 16;
/** A batch of at least this many new entries is written as a pack rather than loose records. */
export const PACK_MIN = 32;

export class RecordIndex {
  private readonly loose = new Map<string, LooseEntry>();
  private readonly packs = new Map<string, PackEntry>();
  /** Per entry id: the records still in play (current + concurrent, tombstones included). */
  private readonly maximal = new Map<string, RecordBody | RecordBody[]>();
  /** Entry id → file names of a sync client's conflict copies of its record (set by resolve). */
  private readonly copyFiles = new Map<string, string[]>();
  /** Entry ids that some live pack holds (removing such an entry needs a tombstone). */
  private readonly packed = new Set<string>();
  /** Live packs (not superseded) and every pack read (for a checkpoint's `supersedes`). */
  private livePacks: string[] = [];
  private stampKey: string | null = null;
  private problems: Omit<VaultProblem, 'repairable' | 'path'>[] = [];
  readonly records = new Map<string, Node>();
  /** Revocation epoch → the object hashes its manifest lists (null: format 1, or missing/altered); records.ts fills it. */
  readonly manifests = new Map<string, Set<string> | null>();

  constructor(private readonly storage: VaultStorage, private readonly vaultId: string) {}

  /** Re-reads what changed since the last call (nothing, when neither folder changed), then resolves. */
  async load(ctx: IndexContext): Promise<void> {
    const stamps = `${await this.storage.stamp(RECORDS)}|${await this.storage.stamp(PACKS)}|${ctx.historyKey}`;
    if (this.stampKey !== null && stamps === this.stampKey && !stamps.includes('null|null')) {
      for (const p of this.problems) ctx.problem(p);
      return;
    }
    const problems: Omit<VaultProblem, 'repairable' | 'path'>[] = [];
    const report = (p: Omit<VaultProblem, 'repairable' | 'path'>): void => {
      problems.push(p);
      ctx.problem(p);
    };
    await this.readLoose(ctx, report);
    await this.readPacks(ctx, report);
    this.resolve(ctx, report);
    this.problems = problems;
    this.stampKey = stamps;
  }

  /** Forgets everything (lock). */
  clear(): void {
    this.loose.clear();
    this.packs.clear();
    this.maximal.clear();
    this.copyFiles.clear();
    this.packed.clear();
    this.records.clear();
    this.stampKey = null;
    this.problems = [];
  }

  /** Marks the index stale (the next load re-reads the folders). */
  invalidate(): void {
    this.stampKey = null;
  }

  private trustProblem(ctx: IndexContext, epoch: string, object: string, what: string): Omit<VaultProblem, 'repairable' | 'path'> {
    const kind = ctx.untrusted(epoch);
    if (kind === 'fork') return { severity: 'error', code: 'FORK', object, message: `${what} is under epoch ${epoch}, which is not part of this vault's history (a fork made with a key from before a revocation): ignored` };
    if (kind === 'unopenable') return { severity: 'warning', code: 'VAULT_INVALID', object, message: `${what} is under epoch ${epoch}, which these keys cannot open` };
    return { severity: 'error', code: 'VAULT_TAMPERED', object, message: `${what} claims epoch ${epoch}, which this vault does not have (from another vault, or its epoch has not synced yet)` };
  }

  /** The first revocation in force that closed `epoch` and whose manifest does not list `hash`, or undefined. */
  private closingWithout(ctx: IndexContext, epoch: string, hash: string): string | undefined {
    return ctx.closedBy(epoch).find((x) => !ctx.manifestHas(x, hash));
  }

  private closedMessage(epoch: string, r: string, what: string): string {
    return `${what} is sealed under epoch ${epoch}, which revocation ${r} closed, and is not among the objects that revocation kept: it was written with a key from before the revocation (by a removed member, or on a computer that had not seen it yet); ignored`;
  }

  private forkMessage(epoch: string, r: string, what: string): string {
    return `${what} is under epoch ${epoch}, a fork made with a key from before revocation ${r} (on a computer that had not seen it yet, or by a removed member), and is not among the records that revocation kept: ignored`;
  }

  /** Trusted keys for `epoch`, or a closed fork's (`fork`: its objects count only as a manifest lists them). */
  private keysFor(ctx: IndexContext, epoch: string): { keys: EpochKeys; fork: boolean } | undefined {
    const keys = ctx.keysOf(epoch);
    if (keys) return { keys, fork: false };
    const forked = ctx.forkKeys(epoch);
    return forked ? { keys: forked, fork: true } : undefined;
  }

  /**
   * A record under a closed epoch (or a closed fork) counts if its file is in the revocation's manifest, or
   * its content is (a copy that had not seen the revocation may have rewritten it, e.g. into a checkpoint,
   * even under an epoch of its own). Returns why it does not count, or null.
   */
  private closedRefusal(ctx: IndexContext, epoch: string, text: string, body: RecordBody, fork: boolean, object: string): Omit<VaultProblem, 'repairable' | 'path'> | null {
    const byFile = this.closingWithout(ctx, epoch, sha256hex(text));
    if (byFile === undefined) return null;
    const r = this.closingWithout(ctx, epoch, bodyHash(body));
    if (r === undefined) return null;
    return fork
      ? { severity: 'error', code: 'FORK', object, message: this.forkMessage(epoch, r, 'record') }
      : { severity: 'error', code: 'VAULT_TAMPERED', object, message: this.closedMessage(epoch, r, 'record') };
  }

  /** The records of a pack under `epoch` that count (null: all of it), reporting the others. */
  private acceptedOf(ctx: IndexContext, epoch: string, fork: boolean, hash: string, content: PackContent, object: string, report: (p: Omit<VaultProblem, 'repairable' | 'path'>) => void): readonly RecordBody[] | null {
    if (!fork && this.closingWithout(ctx, epoch, hash) === undefined) return null;
    const kept: RecordBody[] = [];
    const refused: string[] = [];
    let r = '';
    for (const b of content.records) {
      const closing = this.closingWithout(ctx, epoch, bodyHash(b));
      if (closing === undefined) kept.push(b);
      else {
        refused.push(b.name);
        r = closing;
      }
    }
    if (refused.length > 0) {
      // Named, so a person can tell which changes were lost (the change to each entry is its newest record here).
      const names = refused.slice(0, 3).map((n) => `"${n}"`).join(', ') + (refused.length > 3 ? ` and ${refused.length - 3} more` : '');
      const what = `${refused.length} record${refused.length === 1 ? '' : 's'} of this pack (${names})`;
      const why = fork ? this.forkMessage(epoch, r, what) : this.closedMessage(epoch, r, what);
      report({ severity: 'error', code: fork ? 'FORK' : 'VAULT_TAMPERED', object, message: `${why}; ${kept.length} that the revocation kept still count` });
    }
    return kept;
  }

  private async readLoose(ctx: IndexContext, report: (p: Omit<VaultProblem, 'repairable' | 'path'>) => void): Promise<void> {
    const names = await this.storage.listNames(RECORDS);
    const todo: { file: string; name: ObjectName }[] = [];
    for (const file of names) {
      const n = parseObjectName(file, '.rec', HEX32);
      if (!n) {
        report({ severity: 'warning', code: 'UNKNOWN_FILE', object: `${RECORDS}/${file}`, message: 'not a record file (left alone)' });
        continue;
      }
      todo.push({ file, name: n });
    }
    const present = new Set(todo.map((t) => t.file));
    for (const k of [...this.loose.keys()]) if (!present.has(k)) this.loose.delete(k);
    const raws = await this.storage.getMany(todo.map((t) => `${RECORDS}/${t.file}`));
    todo.forEach((t, i) => {
      const raw = raws[i];
      const object = `${RECORDS}/${t.file}`;
      if (!raw || isCofferError(raw)) {
        this.loose.delete(t.file);
        if (raw) report({ severity: 'error', code: raw.code, object, message: raw.message });
        return;
      }
      const text = raw.toString('latin1');
      const cached = this.loose.get(t.file);
      // Unchanged bytes, checked under the same history and revocations: nothing to decrypt again.
      if (cached && cached.text === text && cached.checkedUnder === ctx.historyKey) return;
      this.loose.delete(t.file);
      const epoch = recordEpoch(text);
      try {
        if (!epoch) throw new CofferError('VAULT_TAMPERED', 'record is malformed');
        const k = this.keysFor(ctx, epoch);
        if (!k) {
          report(this.trustProblem(ctx, epoch, object, 'record'));
          return;
        }
        // The one place a loose record is decoded: every field is validated (names above all) before use.
        const body = cached && cached.text === text ? cached.body : validateRecordBody(JSON.parse(openRecord(k.keys, t.name.id, text).toString('utf8')) as unknown, t.name.id);
        const refused = this.closedRefusal(ctx, epoch, text, body, k.fork, object);
        if (refused) {
          report(refused);
          return;
        }
        this.loose.set(t.file, cached && cached.text === text ? Object.assign(cached, { checkedUnder: ctx.historyKey }) : { text, epoch, body, name: t.name, checkedUnder: ctx.historyKey });
      } catch (e) {
        report({ severity: 'error', code: 'VAULT_TAMPERED', object, message: errMsg(e) });
      }
    });
  }

  private async readPacks(ctx: IndexContext, report: (p: Omit<VaultProblem, 'repairable' | 'path'>) => void): Promise<void> {
    const names = await this.storage.listNames(PACKS);
    const todo: { file: string; id: string; kind: PackKind }[] = [];
    for (const file of names) {
      const kind: PackKind | null = file.endsWith('.pack') ? 'pack' : file.endsWith('.ckpt') ? 'ckpt' : null;
      const n = kind ? parseObjectName(file, `.${kind}`, HEX32) : null;
      if (!kind || !n) {
        report({ severity: 'warning', code: 'UNKNOWN_FILE', object: `${PACKS}/${file}`, message: 'not a pack file (left alone)' });
        continue;
      }
      todo.push({ file, id: n.id, kind });
    }
    const present = new Set(todo.map((t) => t.file));
    for (const k of [...this.packs.keys()]) if (!present.has(k)) this.packs.delete(k);
    // Packs are immutable: one already read is only re-checked against a changed history, never re-read.
    const fresh = todo.filter((t) => !this.packs.has(t.file));
    const raws = await this.storage.getMany(fresh.map((t) => `${PACKS}/${t.file}`));
    const texts = new Map(fresh.map((t, i) => [t.file, raws[i]]));
    for (const t of todo) {
      const object = `${PACKS}/${t.file}`;
      const cached = this.packs.get(t.file);
      try {
        if (cached) {
          if (cached.checkedUnder === ctx.historyKey) continue;
          this.packs.delete(t.file);
          const k = this.keysFor(ctx, cached.epoch);
          if (!k) {
            report(this.trustProblem(ctx, cached.epoch, object, 'pack'));
            continue;
          }
          cached.accepted = this.acceptedOf(ctx, cached.epoch, k.fork, cached.hash, cached.content, object, report);
          cached.checkedUnder = ctx.historyKey;
          this.packs.set(t.file, cached);
          continue;
        }
        const raw = texts.get(t.file);
        if (!raw) continue; // removed meanwhile
        if (isCofferError(raw)) {
          report({ severity: 'error', code: raw.code, object, message: raw.message });
          continue;
        }
        const head = packHeader(raw);
        if (!head || head.kind !== t.kind) throw new CofferError('VAULT_TAMPERED', 'pack is malformed');
        const k = this.keysFor(ctx, head.epoch);
        if (!k) {
          report(this.trustProblem(ctx, head.epoch, object, 'pack'));
          continue;
        }
        const hash = createHash('sha256').update(raw).digest('hex');
        const opened = openPack(k.keys, t.id, t.kind, raw);
        for (const r of opened.rejected) {
          report({ severity: 'error', code: 'VAULT_TAMPERED', object, message: `record ${r.id} in this pack is invalid (${r.why}): ignored` });
        }
        const accepted = this.acceptedOf(ctx, head.epoch, k.fork, hash, opened.content, object, report);
        this.packs.set(t.file, { epoch: head.epoch, hash, content: opened.content, accepted, checkedUnder: ctx.historyKey });
      } catch (e) {
        report({ severity: 'error', code: 'VAULT_TAMPERED', object, message: errMsg(e) });
      }
    }
  }

  private resolve(ctx: IndexContext, report: (p: Omit<VaultProblem, 'repairable' | 'path'>) => void): void {
    this.records.clear();
    this.maximal.clear();
    this.copyFiles.clear();
    this.packed.clear();
    // Only packs that count as a whole supersede others (a checkpoint partly refused after a revocation does not).
    const superseded = supersededBy([...this.packs.values()].filter((p) => p.accepted === null).map((p) => p.content));
    // Most entries have one candidate: kept as is, an array only where there are several.
    const cands = new Map<string, Candidate<Source> | Candidate<Source>[]>();
    const add = (id: string, c: Candidate<Source>): void => {
      const l = cands.get(id);
      if (l === undefined) cands.set(id, c);
      else if (Array.isArray(l)) l.push(c);
      else cands.set(id, [l, c]);
    };
    this.livePacks = [];
    for (const [file, p] of this.packs) {
      if (superseded.has(p.content.pack)) continue;
      this.livePacks.push(file);
      const source: Source = { kind: 'pack', file, text: '' };
      for (const body of p.accepted ?? p.content.records) {
        add(body.id, { body, source });
        this.packed.add(body.id);
      }
    }
    // Highest version among a sync client's conflict copies, per entry (for the replay check below).
    const copies = new Map<string, number>();
    // The conflict copies' records, per entry (they still say which older records their writer replaced).
    const copyBodies = new Map<string, RecordBody[]>();
    for (const [file, l] of this.loose) {
      if (l.name.conflict) {
        // A sync client's copy of a record file: shown beside the original, as before packs.
        if (l.body.gone === undefined) this.records.set(file, { file, tag: l.text, body: l.body, conflict: l.name.conflict });
        copies.set(l.body.id, Math.max(copies.get(l.body.id) ?? 0, l.body.version));
        const had = copyBodies.get(l.body.id);
        if (had) had.push(l.body);
        else copyBodies.set(l.body.id, [l.body]);
        const files = this.copyFiles.get(l.body.id);
        if (files) files.push(file);
        else this.copyFiles.set(l.body.id, [file]);
        continue;
      }
      add(l.body.id, { body: l.body, source: { kind: 'loose', file, text: l.text } });
    }
    // Identical copies: the loose file represents them (its bytes are what a manifest names).
    const preferLoose = (a: Source, b: Source): number => Number(a.kind === 'pack') - Number(b.kind === 'pack');
    for (const [id, found] of cands) {
      const list = withoutReplaced(found, copyBodies.get(id));
      if (list === null) continue;
      const { winner, concurrent } = Array.isArray(list) ? resolveEntry(list, preferLoose) : { winner: list, concurrent: [] };
      const seen = ctx.seenVersion(id);
      const w = winner.body;
      // Replay: the entry's records are older than what this computer saw. A conflict copy holding that
      // version means the sync client kept the other computer's concurrent change as the original: not
      // a replay, and both are shown (a folder-writer renaming records can only make both visible).
      const top = Math.max(w.version, copies.get(id) ?? 0);
      if (seen !== undefined && (Math.abs(seen) > top || (seen < 0 && -seen >= w.version && w.gone === undefined))) {
        const object = winner.source.kind === 'loose' ? `${RECORDS}/${winner.source.file}` : `${PACKS}/${winner.source.file}`;
        report({ severity: 'error', code: 'VAULT_TAMPERED', object, message: seen < 0
          ? `record of deleted entry "${w.name}" reappeared with an old version (v${w.version}): it was replayed`
          : `record of "${w.name}" is older (v${w.version}) than the version this computer already saw (v${seen}): it was replayed or rolled back` });
        continue;
      }
      this.maximal.set(id, concurrent.length === 0 ? w : [w, ...concurrent.map((c) => c.body)]);
      const key = `${id}.rec`;
      if (w.gone === undefined) this.records.set(key, { file: key, tag: winner.source.kind === 'loose' ? winner.source.text : '', body: w, conflict: null });
      for (const c of concurrent) {
        // The same change made on two copies (e.g. the same move) is shown once; both stay in play, so the
        // next change of the entry covers both clocks (stampChange).
        if (c.body.gone !== undefined || sameContent(c.body, w)) continue;
        const where = c.source.kind === 'loose' ? `${RECORDS}/${c.source.file}` : `${PACKS}/${c.source.file}`;
        const ck = `${key}~${where}`;
        this.records.set(ck, { file: ck, tag: '', body: c.body, conflict: { source: 'concurrent', marker: where } });
      }
    }
  }

  /** The records of an entry in play: its current one first, then concurrent edits (tombstones included). */
  private inPlay(id: string): RecordBody[] {
    const m = this.maximal.get(id);
    return m === undefined ? [] : Array.isArray(m) ? m : [m];
  }

  /** Highest version known of an entry (current or concurrent), 0 if none. */
  versionOf(id: string): number {
    return Math.max(0, ...this.inPlay(id).map((b) => b.version));
  }

  /**
   * The record to write for a change of an entry: `body` with a clock that has seen `from` (the record
   * being changed; by default the entry's current one) and one more change by `writer`, and a version
   * above every record of the entry in play. Concurrent edits `from` has not seen stay concurrent.
   */
  stampChange(body: RecordBody, writer: string, from?: RecordBody | null): RecordBody {
    const all = this.inPlay(body.id);
    const base = from === undefined ? all[0] : from;
    const mine = Math.max(0, ...all.map((b) => b.clock?.[writer] ?? 0));
    const clock: Record<string, number> = { ...(base?.clock ?? {}) };
    // Records that say what `base` says (the same change made on two copies, shown once: in play, or a
    // sync client's copy) have been seen too.
    if (base) {
      const twins = [...all.filter((b) => b !== base && sameContent(b, base)), ...this.echoes(body.id, base).map((f) => (this.loose.get(f) as LooseEntry).body)];
      for (const twin of twins) for (const [k, v] of Object.entries(twin.clock ?? {})) clock[k] = Math.max(clock[k] ?? 0, v);
    }
    clock[writer] = Math.max(clock[writer] ?? 0, mine) + 1;
    const version = Math.max(body.version, this.versionOf(body.id) + 1);
    return { ...body, version, clock };
  }

  /**
   * `body` as a rewrite of itself (re-encryption, a key rewrap): one more change by this writer on its own
   * clock, so it replaces the record it was made from but stays concurrent with the entry's other edits.
   */
  bump(body: RecordBody): RecordBody {
    return { ...body, version: body.version + 1, clock: { ...(body.clock ?? {}), [this.writer]: (body.clock?.[this.writer] ?? 0) + 1 } };
  }

  /** A record covering every record of the entry in play (resolves a concurrent edit), with `body`'s content. */
  private stampResolve(body: RecordBody, writer: string): RecordBody {
    const all = this.inPlay(body.id);
    const { clock, version } = nextClock(all, writer);
    return { ...body, version: Math.max(version, body.version), clock };
  }

  private remember(b: RecordBody, node: Node | null): void {
    const rest = this.inPlay(b.id).filter((x) => x.clock && b.clock ? !covers(b.clock, x.clock) : x.version >= b.version);
    const kept = rest.filter((x) => x !== b);
    this.maximal.set(b.id, kept.length === 0 ? b : [b, ...kept]);
    if (node) this.records.set(node.file, node);
  }

  /** Set once at open: this computer's writer id for version clocks (client state). */
  writer = '';

  private async putLoose(keys: EpochKeys, body: RecordBody, file = `${body.id}.rec`): Promise<Node> {
    const text = sealRecord(keys, body.id, Buffer.from(JSON.stringify(body), 'utf8'));
    await this.storage.put(`${RECORDS}/${file}`, text);
    const conflict = file === `${body.id}.rec` ? null : parseObjectName(file, '.rec', HEX32)?.conflict ?? null;
    const node: Node = { file, tag: text, body, conflict };
    if (!conflict) this.remember(body, body.gone === undefined ? node : null);
    else this.records.set(file, node);
    this.invalidate();
    return node;
  }

  /**
   * Writes a change of one entry as a loose record (or into a sync client's conflict copy `file`), stamped
   * with a clock that has seen the record it changes (`from`: by default the entry's current one).
   */
  async write(keys: EpochKeys, body: RecordBody, file = `${body.id}.rec`, from?: RecordBody): Promise<Node> {
    if (file.includes('~')) throw new CofferError('VAULT_CONFLICT', 'this entry is a concurrent edit of another: keep it with mv (it becomes an entry of its own) or remove it with rm first');
    const isCopy = file !== `${body.id}.rec`;
    const base = isCopy ? this.records.get(file)?.body ?? null : from ?? this.inPlay(body.id)[0];
    const echoes = isCopy || !base ? [] : this.echoes(body.id, base);
    const node = await this.putLoose(keys, this.stampChange(body, this.writer, isCopy ? base : from), file);
    await this.dropEchoes(echoes);
    return node;
  }

  /**
   * A sync client's copies of an entry's record that say what `base` says (the same change made on two
   * copies; not shown). A change of the entry has seen them, so they are removed with it: left, they would
   * show up as a conflict holding the old content.
   */
  private echoes(id: string, base: RecordBody): string[] {
    const out: string[] = [];
    for (const file of this.copyFiles.get(id) ?? []) {
      const l = this.loose.get(file);
      if (l && sameContent(l.body, base)) out.push(file);
    }
    return out;
  }

  private async dropEchoes(files: readonly string[]): Promise<void> {
    for (const file of files) {
      await this.storage.delete(`${RECORDS}/${file}`);
      this.loose.delete(file);
      this.records.delete(file);
    }
    if (files.length > 0) this.invalidate();
  }

  /**
   * Writes many records, durable together, each stamped as a change of the entry's current record:
   * entries new to the vault as packs (when there are at least PACK_MIN of them), changes of existing
   * entries as loose records.
   */
  async writeMany(keys: EpochKeys, input: readonly RecordBody[]): Promise<RecordBody[]> {
    const echoes = input.flatMap((b) => {
      const base = this.inPlay(b.id)[0];
      return base ? this.echoes(b.id, base) : [];
    });
    const bodies = input.map((b) => this.stampChange(b, this.writer));
    const fresh = bodies.filter((b) => !this.maximal.has(b.id));
    const asPack = fresh.length >= PACK_MIN ? new Set(fresh.map((b) => b.id)) : new Set<string>();
    const items: { key: string; data: string | Buffer }[] = [];
    const nodes: { body: RecordBody; tag: string }[] = [];
    for (const part of cutPacks(bodies.filter((b) => asPack.has(b.id)))) {
      const pack = randomBytes(16).toString('hex');
      items.push({ key: `${PACKS}/${pack}.pack`, data: sealPack(keys, { v: 2, pack, kind: 'pack', supersedes: [], checkpoint: null, records: part }) });
      for (const body of part) nodes.push({ body, tag: '' });
    }
    for (const b of bodies) {
      if (asPack.has(b.id)) continue;
      const text = sealRecord(keys, b.id, Buffer.from(JSON.stringify(b), 'utf8'));
      items.push({ key: `${RECORDS}/${b.id}.rec`, data: text });
      nodes.push({ body: b, tag: text });
    }
    for (let i = 0; i < items.length; i += 1024) await this.storage.putMany(items.slice(i, i + 1024));
    await this.dropEchoes(echoes);
    for (const n of nodes) {
      const file = `${n.body.id}.rec`;
      this.remember(n.body, n.body.gone === undefined ? { file, tag: n.tag, body: n.body, conflict: null } : null);
      if (n.tag === '') this.packed.add(n.body.id);
    }
    this.invalidate();
    return bodies;
  }

  /**
   * Removes a record. A sync client's conflict copy: its file is deleted. A concurrent edit: a record that
   * has seen it (keeping the current content) is written. An entry: its loose file is deleted when that
   * is its only record; otherwise a tombstone is written (packs are immutable).
   */
  async remove(keys: EpochKeys, node: Node, now: number): Promise<void> {
    const writer = this.writer;
    if (node.conflict && node.conflict.source !== 'concurrent') {
      await this.storage.delete(`${RECORDS}/${node.file}`);
      this.records.delete(node.file);
      this.invalidate();
      return;
    }
    const id = node.body.id;
    const all = this.inPlay(id);
    if (node.conflict) {
      const cur = all[0] ?? node.body;
      this.records.delete(node.file);
      const b = this.stampResolve(cur, writer);
      await this.putLoose(keys, b);
      this.maximal.set(id, b);
      return;
    }
    const onlyLoose = !this.packed.has(id) && all.length <= 1 && this.loose.has(`${id}.rec`);
    this.records.delete(node.file);
    if (onlyLoose) {
      await this.storage.delete(`${RECORDS}/${id}.rec`);
      this.loose.delete(`${id}.rec`);
      this.maximal.delete(id);
      this.invalidate();
      return;
    }
    const b = node.body;
    // The tombstone has seen the current record only: a concurrent edit stays, shown as a conflict.
    const stone = this.stampChange({
      v: 1, id, type: b.type, parent: b.parent, name: b.name, size: 0, mtime: b.mtime, version: b.version, gone: now,
      ...(b.released ? { released: b.released } : {}),
    }, writer, b);
    await this.putLoose(keys, stone);
  }

  /**
   * What a revocation made now must list: the SHA-256 of every record file and pack accepted, and of the
   * content of every record in play (so a copy that rewrites them before seeing the revocation, e.g. into a
   * checkpoint, is still accepted for exactly that content).
   */
  objectHashes(): string[] {
    const out: string[] = [];
    for (const l of this.loose.values()) out.push(sha256hex(l.text), bodyHash(l.body));
    for (const p of this.packs.values()) out.push(p.hash);
    for (const m of this.maximal.values()) for (const b of Array.isArray(m) ? m : [m]) out.push(bodyHash(b));
    return out;
  }

  /** How many objects an open reads: loose records and live packs. */
  counts(): { loose: number; packs: number; superseded: number } {
    const originals = [...this.loose.values()].filter((l) => !l.name.conflict).length;
    return { loose: originals, packs: this.livePacks.length, superseded: this.packs.size - this.livePacks.length };
  }

  needsCompaction(): boolean {
    const c = this.counts();
    return c.loose > COMPACT_LOOSE || c.packs > COMPACT_PACKS || c.superseded > 0;
  }

  /**
   * Writes a checkpoint: every record in play (current, concurrent, tombstones) re-sealed under `keys`
   * into packs that supersede every pack read; then removes the superseded packs and the loose records
   * it absorbed (each re-read first: one that changed meanwhile, e.g. synced in, is kept).
   * A sync client's conflict copies stay loose. Returns what it wrote and removed.
   */
  async compact(keys: EpochKeys, rewrite?: (b: RecordBody) => RecordBody): Promise<{ packs: number; records: number; removed: number }> {
    const records: RecordBody[] = [];
    for (const m of this.maximal.values()) for (const b of Array.isArray(m) ? m : [m]) records.push(rewrite ? rewrite(b) : b);
    const supersedes = [...new Set([...this.packs.values()].map((p) => p.content.pack))].sort();
    const parts = cutPacks(records);
    const id = randomBytes(16).toString('hex');
    const items = parts.map((part, i) => {
      const pack = randomBytes(16).toString('hex');
      return { key: `${PACKS}/${pack}.ckpt`, data: sealPack(keys, { v: 2, pack, kind: 'ckpt', supersedes, checkpoint: { id, part: i, parts: parts.length }, records: part }) };
    });
    await this.storage.putMany(items);
    let removed = 0;
    for (const file of this.packs.keys()) {
      await this.storage.delete(`${PACKS}/${file}`);
      removed++;
    }
    const absorbed = [...this.loose.entries()].filter(([, l]) => !l.name.conflict);
    const now = await this.storage.getMany(absorbed.map(([f]) => `${RECORDS}/${f}`));
    for (const [i, [file, l]] of absorbed.entries()) {
      const raw = now[i];
      if (!raw || isCofferError(raw) || raw.toString('latin1') !== l.text) continue;
      await this.storage.delete(`${RECORDS}/${file}`);
      removed++;
    }
    this.invalidate();
    return { packs: items.length, records: records.length, removed };
  }
}
