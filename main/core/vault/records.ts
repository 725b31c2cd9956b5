/**
 * The vault's index: one encrypted record per file or folder (`records/<id>.rec`, docs/FORMAT.md §6.5),
 * and the revocation manifests that say which records from before a revocation still count (§6.8).
 * Every record read, written or deleted goes through this module; the rest of the vault sees the
 * verified records as `RecordIndex.records`.
 */
import { CofferError, isCofferError } from '../errors';
import type { VaultCore } from './core';
import { openRecord, recordEpoch, sealRecord } from './crypto';
import { RECORDS, manifestKey, recordKey, sha256hex } from './layout';
import { HEX32, parseObjectName, type ObjectName } from './names';
import type { RecordBody, VaultProblem } from './types';
import { validateRecordBody } from './validate';

/** A verified record (unique per record file). */
export interface RecordNode {
  /** Record object name (unique per node). */
  readonly file: string;
  readonly tag: string;
  readonly body: RecordBody;
  readonly conflict: ObjectName['conflict'];
}

/** What the vault holds of its records between loads. */
export class RecordIndex {
  /** Record file → its verified record (conflict copies included). */
  readonly records = new Map<string, RecordNode>();
  /** Record file → the epoch it is sealed under. */
  readonly recordEpochs = new Map<string, string>();
  /** Record file → the revocations in force (revocationsKey) when it was last checked against their manifests. */
  readonly recordCheckedUnder = new Map<string, string>();
  /** Revocation epoch → the record hashes its manifest lists (null: format 1, or missing/altered). */
  readonly manifests = new Map<string, Set<string> | null>();
  /** The records folder's stamp (with the history) at the last read, and the problems that read found. */
  recordsStamp: string | null = null;
  recordProblems: VaultProblem[] = [];
}

const MANIFEST_MAGIC = 'coffer-vault-manifest/v2';

/**
 * `epochs/<E>.manifest` of a revocation epoch E: the record files current when E was made, as the
 * SHA-256 of their exact bytes. Line 1 `coffer-vault-manifest/v2 E COUNT`, then COUNT lines of
 * lower-case hex, sorted, no duplicates. E's body holds the SHA-256 of these bytes (under E's MAC).
 */
export function manifestText(epoch: string, hashes: Iterable<string>): string {
  const list = [...new Set(hashes)].sort();
  return `${MANIFEST_MAGIC} ${epoch} ${list.length}\n${list.map((h) => `${h}\n`).join('')}`;
}

function parseManifest(text: string, epoch: string): Set<string> | null {
  const lines = text.split('\n');
  const head = /^coffer-vault-manifest\/v2 ([0-9]{8}-[0-9a-f]{8}) (0|[1-9][0-9]{0,8})$/.exec(lines[0] ?? '');
  if (!head || head[1] !== epoch || lines[lines.length - 1] !== '') return null;
  const list = lines.slice(1, -1);
  if (list.length !== Number(head[2])) return null;
  for (let i = 0; i < list.length; i++) {
    if (!/^[0-9a-f]{64}$/.test(list[i] as string) || (i > 0 && (list[i - 1] as string) >= (list[i] as string))) return null;
  }
  return new Set(list);
}


/** Reads the manifests of the revocations in force (once each). */
export async function loadManifests(c: VaultCore): Promise<void> {
  for (const r of c.revocations) {
    if (c.index.manifests.has(r)) continue;
    const want = c.bodyOf(r).manifest;
    if (want === undefined) {
      c.index.manifests.set(r, null); // format 1 revocation: it re-sealed every record and listed none
      continue;
    }
    // A manifest the storage refuses (too large, not a regular file) is as good as missing.
    const raw = await c.storage.get(manifestKey(r)).catch((e: unknown) => {
      if (isCofferError(e)) return null;
      throw e;
    });
    const set = raw && sha256hex(raw) === want ? parseManifest(raw.toString('latin1'), r) : null;
    if (!set) c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: manifestKey(r), message: `the record list of revocation ${r} is missing or altered: records from before it cannot be checked and are ignored` });
    c.index.manifests.set(r, set);
  }
}

/** Revocations in force that `epoch` does not descend from: records under it must be in their manifests. */
function closedBy(c: VaultCore, epoch: string): string[] {
  return c.revocations.filter((r) => !c.ancestry.descends(epoch, r));
}

/**
 * Brings the records up to date with the folder: re-reads it only if its stamp or the history changed,
 * and even then decrypts and checks only records whose bytes (or the revocations they answer to) changed.
 */
export async function loadRecords(c: VaultCore): Promise<void> {
  // Nothing added, replaced or removed since the last read (and the history is the same): keep it.
  const folder = await c.storage.stamp(RECORDS);
  const stamp = folder === null ? null : `${folder}|${[...c.trusted].sort().join()}|${c.revocationsKey}`;
  if (stamp !== null && stamp === c.index.recordsStamp) {
    c.loadProblems.push(...c.index.recordProblems);
    return;
  }
  const before = c.loadProblems.length;
  await readRecords(c);
  c.index.recordsStamp = stamp;
  c.index.recordProblems = c.loadProblems.slice(before);
}

/** Reads, authenticates and validates every record file; failures become problems and the record is left out. */
async function readRecords(c: VaultCore): Promise<void> {
  const names = await c.storage.listNames(RECORDS);
  const seen = new Set<string>();
  const todo: { file: string; name: ObjectName }[] = [];
  for (const file of names) {
    const n = parseObjectName(file, '.rec', HEX32);
    if (!n) {
      c.problem({ severity: 'warning', code: 'UNKNOWN_FILE', object: `${RECORDS}/${file}`, message: 'not a record file (left alone)' });
      continue;
    }
    seen.add(file);
    todo.push({ file, name: n });
  }
  for (const k of [...c.index.records.keys()]) if (!seen.has(k)) c.index.records.delete(k);
  const raws = await c.storage.getMany(todo.map((t) => `${RECORDS}/${t.file}`));
  const closed = new Map<string, string[]>();
  todo.forEach((t, i) => {
    const raw = raws[i];
    const object = `${RECORDS}/${t.file}`;
    if (!raw || isCofferError(raw)) {
      c.index.records.delete(t.file);
      if (raw) c.problem({ severity: 'error', code: raw.code, object, message: raw.message });
      return;
    }
    const text = raw.toString('latin1');
    const cached = c.index.records.get(t.file);
    // Unchanged bytes under an epoch of the same history, checked against the same revocations:
    // nothing to decrypt or check again. A revocation that arrived since (another writer's, synced
    // in) must be applied to records this session already holds, as a fresh open would.
    if (cached && cached.tag === text && c.trusted.has(recordEpochOf(c, cached))) {
      const ep = recordEpochOf(c, cached);
      let by = closed.get(ep);
      if (!by) {
        by = closedBy(c, ep);
        closed.set(ep, by);
      }
      if (by.length === 0 || c.index.recordCheckedUnder.get(t.file) === c.revocationsKey) return;
    }
    const epoch = recordEpoch(text);
    try {
      if (!epoch) throw new CofferError('VAULT_TAMPERED', 'record is malformed');
      const keys = c.trusted.has(epoch) ? c.keyring.get(epoch) : undefined;
      if (!keys) {
        c.index.records.delete(t.file);
        if (c.keyring.has(epoch)) {
          c.problem({ severity: 'error', code: 'FORK', object, message: `record is under epoch ${epoch}, which is not part of this vault's history (a fork made with a key from before a revocation): ignored` });
        } else {
          c.problem({ severity: c.epochs.has(epoch) ? 'warning' : 'error', code: c.epochs.has(epoch) ? 'VAULT_INVALID' : 'VAULT_TAMPERED', object, message: c.epochs.has(epoch) ? `record is under epoch ${epoch}, which these keys cannot open` : `record claims epoch ${epoch}, which this vault does not have (from another vault, or its epoch has not synced yet)` });
        }
        return;
      }
      let by = closed.get(epoch);
      if (!by) {
        by = closedBy(c, epoch);
        closed.set(epoch, by);
      }
      if (by.length > 0) {
        const h = sha256hex(raw);
        const r = by.find((x) => !c.index.manifests.get(x)?.has(h));
        if (r !== undefined) {
          throw new CofferError('VAULT_TAMPERED', `record is sealed under epoch ${epoch}, which revocation ${r} closed, and is not among the records that revocation kept: it was written with a key from before the revocation (by a removed member, or on a computer that had not seen it yet); ignored`);
        }
      }
      // The one place a record is decoded: every field is validated (names above all) before use.
      const body = validateRecordBody(JSON.parse(openRecord(keys, t.name.id, text).toString('utf8')) as unknown, t.name.id);
      if (!t.name.conflict) {
        const seenV = c.memEntries[t.name.id];
        if (seenV !== undefined && (Math.abs(seenV) > body.version || (seenV < 0 && -seenV >= body.version))) {
          throw new CofferError('VAULT_TAMPERED', seenV < 0
            ? `record of deleted entry "${body.name}" reappeared with an old version (v${body.version}): it was replayed`
            : `record of "${body.name}" is older (v${body.version}) than the version this computer already saw (v${seenV}): it was replayed or rolled back`);
        }
      }
      c.index.records.set(t.file, { file: t.file, tag: text, body, conflict: t.name.conflict });
      c.index.recordEpochs.set(t.file, epoch);
      c.index.recordCheckedUnder.set(t.file, c.revocationsKey);
    } catch (e) {
      c.index.records.delete(t.file);
      const msg = e instanceof SyntaxError ? 'record content is malformed' : (e as Error).message;
      c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object, message: msg });
    }
  });
}

/** The epoch a held record is sealed under ('' if unknown). */
function recordEpochOf(c: VaultCore, n: RecordNode): string {
  return c.index.recordEpochs.get(n.file) ?? '';
}

/** Seals one record under the current epoch and writes it (its own file, or `file` for a conflict copy). */
export async function writeRecord(c: VaultCore, body: RecordBody, file = `${body.id}.rec`): Promise<void> {
  const text = sealRecord(c.headKeys(), body.id, Buffer.from(JSON.stringify(body), 'utf8'));
  await c.storage.put(`${RECORDS}/${file}`, text);
  c.index.records.set(file, { file, tag: text, body, conflict: null });
  c.index.recordEpochs.set(file, c.head);
  c.tree = null;
}

/** Seals and writes many records at once (durable together), under the current epoch. */
export async function writeRecords(c: VaultCore, bodies: readonly RecordBody[]): Promise<void> {
  const keys = c.headKeys();
  for (let i = 0; i < bodies.length; i += 1024) {
    const part = bodies.slice(i, i + 1024);
    const texts = part.map((b) => sealRecord(keys, b.id, Buffer.from(JSON.stringify(b), 'utf8')));
    await c.storage.putMany(part.map((b, j) => ({ key: recordKey(b.id), data: texts[j] as string })));
    for (const [j, b] of part.entries()) {
      const file = `${b.id}.rec`;
      c.index.records.set(file, { file, tag: texts[j] as string, body: b, conflict: null });
      c.index.recordEpochs.set(file, c.head);
    }
  }
  c.tree = null;
}

/** Deletes a record file (an entry, or a conflict copy, leaves the index). */
export async function deleteRecord(c: VaultCore, n: RecordNode): Promise<void> {
  await c.storage.delete(`${RECORDS}/${n.file}`);
  c.index.records.delete(n.file);
  c.tree = null;
}

/** Re-reads the records only (unchanged ones are not decrypted again), to see other writers' entries. */
export async function rereadRecords(c: VaultCore): Promise<void> {
  c.loadProblems = c.loadProblems.filter((x) => !x.object.startsWith(`${RECORDS}/`));
  await loadRecords(c);
  c.tree = null;
}

/**
 * Rewrites records in place under the current epoch, in batches written together (the records keep
 * their file names, conflict copies included). For re-encryption after a revocation.
 */
export async function resealRecords(c: VaultCore, part: readonly { r: RecordNode; b: RecordBody }[]): Promise<void> {
  const texts = part.map(({ b }) => sealRecord(c.headKeys(), b.id, Buffer.from(JSON.stringify(b), 'utf8')));
  await c.storage.putMany(part.map((x, j) => ({ key: `${RECORDS}/${x.r.file}`, data: texts[j] as string })));
  part.forEach(({ r, b }, j) => {
    c.index.records.set(r.file, { ...r, tag: texts[j] as string, body: b });
    c.index.recordEpochs.set(r.file, c.head);
  });
}

/** Rewrites one record in place under the current epoch (its file name kept; for rewrapped file keys). */
export async function resealRecord(c: VaultCore, r: RecordNode, b: RecordBody): Promise<void> {
  await c.storage.put(`${RECORDS}/${r.file}`, sealRecord(c.headKeys(), b.id, Buffer.from(JSON.stringify(b), 'utf8')));
  c.index.records.set(r.file, { ...r, body: b });
  c.index.recordEpochs.set(r.file, c.head);
}

/**
 * A revocation epoch's manifest, written before the epoch: the records known now. After the
 * revocation, records under the epochs it closes count only if listed here (a removed member still
 * holds those epochs' keys). Returns the manifest's hash (for the epoch body) and what it lists.
 */
export async function writeManifest(c: VaultCore, eid: string): Promise<{ hash: string; kept: Set<string> | null }> {
  const text = manifestText(eid, [...c.index.records.values()].map((r) => sha256hex(Buffer.from(r.tag, 'latin1'))));
  await c.storage.put(manifestKey(eid), text);
  return { hash: sha256hex(Buffer.from(text, 'latin1')), kept: parseManifest(text, eid) };
}

/** Once its epoch is committed: what a revocation made here lists (as loadManifests would read it). */
export function rememberManifest(c: VaultCore, eid: string, kept: Set<string> | null): void {
  c.index.manifests.set(eid, kept);
}

/** Entry ids with a record file (original or copy) that failed to load or verify at the last load. */
export function unreadableIds(c: VaultCore): Set<string> {
  const ids = new Set<string>();
  for (const p of c.loadProblems) {
    if (!p.object.startsWith(`${RECORDS}/`)) continue;
    const n = parseObjectName(p.object.slice(RECORDS.length + 1), '.rec', HEX32);
    if (n) ids.add(n.id);
  }
  return ids;
}
