/**
 * The vault's side of its record index (docs/FORMAT.md §6.5, §6.15, §6.18): what the index
 * (record-index.ts: loose records and record packs) checks records against — the chosen history, the
 * revocation manifests, this computer's replay memory — and the writes the vault's operations make,
 * stamped with this computer's version clock. Compaction (checkpoints) runs from here under the writer
 * lock. The rest of the vault sees the verified records as `c.index.records`.
 */
import type { VaultCore } from './core';
import { PACKS } from './packs';
import { RECORDS, manifestKey, sha256hex } from './layout';
import { HEX32, parseObjectName } from './names';
import { isCofferError } from '../errors';
import type { IndexContext, Node } from './record-index';
import type { RecordBody } from './types';

/** A verified record: an entry's current record, a sync client's conflict copy, or a concurrent edit. */
export type RecordNode = Node;

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


/** Revocations in force that `epoch` does not descend from: objects under it must be in their manifests. */
function closedBy(c: VaultCore, epoch: string): string[] {
  return c.revocations.filter((r) => !c.ancestry.descends(epoch, r));
}

function context(c: VaultCore): IndexContext {
  const closed = new Map<string, string[]>();
  return {
    keysOf: (e) => (c.trusted.has(e) ? c.keyring.get(e) : undefined),
    // A fork's keys only where a revocation in force closed it (its objects are then checked per manifest).
    forkKeys: (e) => (!c.trusted.has(e) && closedBy(c, e).length > 0 ? c.keyring.get(e) : undefined),
    untrusted: (e) => (c.keyring.has(e) ? 'fork' : c.epochs.has(e) ? 'unopenable' : 'unknown'),
    closedBy: (e) => {
      let by = closed.get(e);
      if (!by) {
        by = closedBy(c, e);
        closed.set(e, by);
      }
      return by;
    },
    manifestHas: (r, h) => c.index.manifests.get(r)?.has(h) ?? false,
    seenVersion: (id) => c.memEntries[id],
    problem: (p) => c.problem(p),
    historyKey: `${[...c.trusted].sort().join()}|${c.revocationsKey}`,
  };
}

/**
 * Brings the records up to date with the folder: re-reads loose records only if `records/` changed and
 * packs only once (they are immutable), and re-checks what it holds only if the history changed.
 */
export async function loadRecords(c: VaultCore): Promise<void> {
  await c.index.load(context(c));
}

/** Writes a change of one entry (its own loose record, or `file` for a sync conflict copy); returns what was written. */
export async function writeRecord(c: VaultCore, body: RecordBody, file = `${body.id}.rec`): Promise<RecordBody> {
  const n = await c.index.write(c.headKeys(), body, file);
  c.tree = null;
  return n.body;
}

/** Writes many records at once (durable together): new entries as packs, changes as loose records. */
export async function writeRecords(c: VaultCore, bodies: readonly RecordBody[]): Promise<RecordBody[]> {
  const out = await c.index.writeMany(c.headKeys(), bodies);
  c.tree = null;
  return out;
}

/** Removes a record: a conflict copy's file, or an entry (its loose file, or a tombstone if a pack holds it). */
export async function deleteRecord(c: VaultCore, n: RecordNode): Promise<void> {
  await c.index.remove(c.headKeys(), n, c.now());
  c.tree = null;
}

/** Re-reads the records (unchanged ones are not decrypted again), to see other writers' entries. */
export async function rereadRecords(c: VaultCore): Promise<void> {
  c.loadProblems = c.loadProblems.filter((x) => !x.object.startsWith(`${RECORDS}/`) && !x.object.startsWith(`${PACKS}/`));
  await loadRecords(c);
  c.tree = null;
}

/**
 * Rewrites every record through `rewrite` (re-encryption after a revocation, a strict vault's key rewrap):
 * a sync client's conflict copies in place, every other record into one checkpoint under the current
 * epoch, each raised by one change of this writer so it replaces the record it was made from.
 * Returns how many records it rewrote.
 */
export async function rewriteAll(c: VaultCore, rewrite: (b: RecordBody) => RecordBody): Promise<number> {
  const copies = [...c.index.records.values()].filter((r) => r.conflict && r.conflict.source !== 'concurrent');
  for (const r of copies) {
    const b = rewrite(r.body);
    if (b !== r.body) await writeRecord(c, b, r.file);
  }
  await c.index.compact(c.headKeys(), (b) => {
    const nb = rewrite(b);
    return nb === b ? b : c.index.bump(nb);
  });
  await rereadRecords(c);
  return c.index.records.size;
}

/**
 * Writes a checkpoint when loose records or packs have piled up (FORMAT.md §6.18), so that the next open
 * reads a bounded number of objects. Call under the writer lock, on a freshly loaded vault.
 */
export async function compactIfNeeded(c: VaultCore): Promise<void> {
  if (!c.index.needsCompaction()) return;
  await c.index.compact(c.headKeys());
  await rereadRecords(c);
}

/** Writes a checkpoint now (under the writer lock, on a freshly loaded vault). */
export async function compactNow(c: VaultCore): Promise<{ packs: number; records: number; removed: number }> {
  const r = await c.index.compact(c.headKeys());
  await rereadRecords(c);
  return r;
}

/**
 * A revocation epoch's manifest, written before the epoch: the record files and packs accepted now.
 * After the revocation, objects under the epochs it closes count only if listed here (a removed member
 * still holds those epochs' keys). Returns the manifest's hash (for the epoch body) and what it lists.
 */
export async function writeManifest(c: VaultCore, eid: string): Promise<{ hash: string; kept: Set<string> | null }> {
  const text = manifestText(eid, c.index.objectHashes());
  await c.storage.put(manifestKey(eid), text);
  return { hash: sha256hex(Buffer.from(text, 'latin1')), kept: parseManifest(text, eid) };
}

/** Once its epoch is committed: what a revocation made here lists (as loadManifests would read it). */
export function rememberManifest(c: VaultCore, eid: string, kept: Set<string> | null): void {
  c.index.manifests.set(eid, kept);
}

/** Entry ids with a record (loose file, copy, or in a pack) that failed to load or verify at the last load. */
export function unreadableIds(c: VaultCore): Set<string> {
  const ids = new Set<string>();
  for (const p of c.loadProblems) {
    if (p.object.startsWith(`${RECORDS}/`)) {
      const n = parseObjectName(p.object.slice(RECORDS.length + 1), '.rec', HEX32);
      if (n) ids.add(n.id);
    } else if (p.object.startsWith(`${PACKS}/`)) {
      const m = /^record ([0-9a-f]{32}) in this pack/.exec(p.message);
      if (m) ids.add(m[1] as string);
      // A whole pack that could not be read may hold a record of any entry: hold every entry back.
      else if (p.code !== 'UNKNOWN_FILE') for (const n of c.index.records.values()) ids.add(n.body.id);
    }
  }
  return ids;
}
