/**
 * Changes that make a new epoch (new-epoch.ts does the making): rotation, revocation (optionally
 * re-encrypting every file's content), freshness anchors set up, retention changed, migration
 * asked for; and `rewriteSealedKeys` for strict vaults after their Transit key rotated.
 */
import { CofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { encodeB64 } from '../format/base64';
import { payloadSize } from '../format/sizes';
import { decryptPayload, encryptPayload } from '../format/stream';
import { parseTransitRecipientString } from '../keys/transit/slot';
import { isSealedFileKey } from '../keys/transit/strict';
import { defaultConcurrency, runPool, throwIfAborted } from '../jobs/pool';
import { ProgressTracker } from '../jobs/progress';
import { hardwareIdentities, type TransitAnchor } from './anchor';
import type { EpochObj, SlotObj, VaultCore } from './core';
import { transitAnchorAt, advanceAnchors } from './freshness';
import { VAULT_VERSION, blobKey } from './layout';
import { newId } from './names';
import { newEpoch } from './new-epoch';
import { mutate } from './open';
import { rewriteAll } from './records';
import type { StagedObject } from './storage';
import type { OpProgress, RecordBody, RotateResult } from './types';
import { memberSlots } from './unlock';
import { checkRetention, liveBlobs, type Retention } from './versions';

/**
 * A new epoch: a new vault key wrapped for every member, the older keys chained; records and content
 * untouched (records under older epochs are reached through the chain), so the cost does not grow
 * with the number of entries. `records` in the result counts the records the new epoch carries over.
 */
export async function rotate(c: VaultCore, opts: OpProgress = {}): Promise<RotateResult> {
  throwIfAborted(opts.signal);
  return mutate(c, () => newEpoch(c, { revoke: [], anchor: 'advance' }));
}

/**
 * Removes a slot, then rotates (new epoch without it, listing the records it keeps). With `reencrypt`,
 * every file's content is also re-encrypted under a new file key, because the removed member may
 * have kept file keys of files they opened before; without it those old versions stay readable to them.
 */
export async function revoke(c: VaultCore, slotId: string, opts: OpProgress & { reencrypt?: boolean } = {}): Promise<RotateResult> {
  return mutate(c, async () => {
    const m = memberSlots(c).find((s) => s.slot.obj.body.slot === slotId);
    if (!m) throw new CofferError('NOT_FOUND', `vault ${c.name} has no slot ${slotId} (see: coffer vault members)`);
    const anchored = transitAnchorAt(c, c.head)?.anchor;
    if (anchored?.slot === slotId) {
      throw new CofferError('USAGE', `slot ${slotId} (Vault Transit key ${anchored.key}) anchors the freshness of vault ${c.name} and cannot be revoked: an anchor is permanent. To stop using that key, move the files to a new vault`);
    }
    c.revokedHere.add(slotId);
    const r = await newEpoch(c, { revoke: [slotId], anchor: 'advance' });
    if (!opts.reencrypt) return r;
    const n = await reencryptAll(c, opts);
    return { ...r, records: n.records, blobsReencrypted: n.blobs, ms: r.ms + n.ms };
  });
}

/** Re-encrypts every file's content under a new file key and rewrites every record (inside a mutation). */
async function reencryptAll(c: VaultCore, opts: OpProgress): Promise<{ records: number; blobs: number; ms: number }> {
  const t0 = Date.now();
  const all = [...c.index.records.values()];
  const progress = new ProgressTracker(opts.onProgress);
  progress.setTotals(all.length, all.reduce((a, r) => a + r.body.size, 0));
  // Every blob a record keeps alive: current content and previous versions (versions.ts), each with the
  // key and size that open it. Released blobs (awaiting collection) are deleted below, not re-encrypted.
  const sources = new Map<string, RecordBody>();
  for (const r of all) {
    const b = r.body;
    if (b.type !== 'file') continue;
    if (liveBlobs(b).includes(b.blob as string)) sources.set(b.blob as string, b);
    for (const h of b.history ?? []) if (!sources.has(h.blob)) sources.set(h.blob, { ...b, key: h.key, size: h.size, blob: h.blob });
  }
  const newBlobs = new Map<string, string>();
  for (const blob of sources.keys()) newBlobs.set(blob, newId());
  const intent = await c.writeIntent('reencrypt', [...newBlobs.values()].map(blobKey));
  const keyFor = new Map<string, string>();
  const stagedNew: { staged: StagedObject; key: string }[] = [];
  let blobs = 0;
  await c.withFileKeys([...sources.values()], () => runPool([...newBlobs.entries()], defaultConcurrency(), async ([oldB, newB]) => {
    const owner = { body: sources.get(oldB) as RecordBody };
    const na = sodium();
    const k = na.secureAlloc(32);
    k.set(na.randomBytes(32));
    const oldK = await c.fileKey(owner.body);
    let last = 0;
    const src = c.storage.getStream(blobKey(oldB), payloadSize(owner.body.size)).pipe(decryptPayload(oldK, (n) => {
      progress.addBytes(n - last);
      last = n;
    }));
    stagedNew.push({ staged: await c.storage.stage(src.pipe(encryptPayload(k)), opts.signal), key: blobKey(newB) });
    if (stagedNew.length >= 512) await c.storage.commit(stagedNew.splice(0));
    keyFor.set(oldB, encodeB64(k));
    na.memzero(k);
    na.memzero(oldK);
    blobs++;
  }, opts.signal).catch(async (e: unknown) => {
    for (const x of stagedNew.splice(0)) await c.storage.discard(x.staged);
    throw e;
  }));
  await c.storage.commit(stagedNew.splice(0));
  if (c.keyGuard) {
    // Strict vaults: the new file keys are sealed in one batch before any record names them.
    const olds = [...keyFor.keys()];
    const sealed = await c.sealBodies(olds.map((b) => ({ body: { v: 1, id: b, type: 'file', parent: '', name: b, size: 0, mtime: 0, version: 1, key: keyFor.get(b) as string, blob: b } as RecordBody })));
    sealed.forEach((x, i) => keyFor.set(olds[i] as string, x.body.key as string));
  }
  const releasedOld = new Set<string>();
  // Every record names its new blobs and keys: a sync client's conflict copies in place, everything else in
  // one checkpoint under the new epoch (records.ts, FORMAT.md §6.18), which replaces every pack and loose record.
  const records = await rewriteAll(c, (body) => {
    let b = body;
    if (b.type === 'file' && b.blob && newBlobs.has(b.blob)) b = { ...b, blob: newBlobs.get(b.blob) as string, key: keyFor.get(b.blob) as string };
    if (b.history) b = { ...b, history: b.history.map((h) => ({ ...h, blob: newBlobs.get(h.blob) as string, key: keyFor.get(h.blob) as string })) };
    if (b.released) {
      for (const x of b.released) releasedOld.add(x.blob);
      const { released: _r, ...rest } = b;
      b = rest;
    }
    return b === body ? { ...b } : b;
  });
  for (let i = 0; i < all.length; i++) progress.fileDone();
  const versions: Record<string, number> = {};
  for (const n of c.index.records.values()) if (!n.conflict) versions[n.body.id] = n.body.version;
  for (const oldB of new Set([...newBlobs.keys(), ...releasedOld])) await c.storage.delete(blobKey(oldB));
  await c.storage.delete(intent);
  await c.saveVersions(versions);
  c.tree = null;
  progress.finish();
  return { records, blobs, ms: Date.now() - t0 };
}

/**
 * Strict vaults: rewrites every sealed file key through `transform` (e.g. a batched transit/rewrap
 * after the Transit key rotated), records re-sealed under the current epoch. Returns records changed.
 */
export async function rewriteSealedKeys(c: VaultCore, transform: (sealed: readonly string[]) => Promise<string[]>): Promise<number> {
  c.ensureOpen();
  if (!c.keyGuard) return 0;
  return mutate(c, async () => {
    // Previous versions' keys too (versions.ts), so that old versions stay readable after the rewrap.
    const sealedOf = (b: RecordBody): string[] => [b.key as string, ...(b.history ?? []).map((h) => h.key)].filter((k) => isSealedFileKey(k));
    const targets = [...c.index.records.values()].filter((r) => r.body.type === 'file' && !!r.body.key && sealedOf(r.body).length > 0);
    if (targets.length === 0) return 0;
    const all = targets.flatMap((r) => sealedOf(r.body));
    const out = await transform(all);
    const map = new Map(all.map((k, i) => [k, out[i] || k]));
    let n = 0;
    await rewriteAll(c, (body) => {
      if (body.type !== 'file' || !body.key) return body;
      const key = map.get(body.key) ?? body.key;
      const history = body.history?.map((h) => ({ ...h, key: map.get(h.key) ?? h.key }));
      if (key === body.key && (history ?? []).every((h, j) => h.key === body.history?.[j]?.key)) return body;
      n++;
      return { ...body, key, ...(history ? { history } : {}) };
    });
    const versions: Record<string, number> = {};
    for (const r of c.index.records.values()) if (!r.conflict) versions[r.body.id] = r.body.version;
    await c.saveVersions(versions);
    c.tree = null;
    return n;
  });
}

/**
 * Anchors the vault's freshness to its Vault Transit slot (`slotId`, or the only one): a new epoch
 * (rotating the Transit key, then raising min_decryption_version to the new version), and every later
 * rotation and revocation does the same. The Transit key must be dedicated to this vault: raising
 * min_decryption_version makes anything else it wrapped under older versions undecryptable.
 * Permanent: the anchor cannot be removed (a forged epoch could otherwise remove it).
 */
export async function anchorTransit(c: VaultCore, slotId?: string): Promise<RotateResult & { anchor: TransitAnchor }> {
  return mutate(c, async () => {
    const transit = memberSlots(c).filter((m) => m.status === 'active' && m.slot.obj.body.type === 'vault-transit' && (slotId === undefined || m.slot.obj.body.slot === slotId));
    if (transit.length === 0) throw new CofferError('USAGE', slotId ? `vault ${c.name} has no active Vault Transit slot ${slotId} (see: coffer vault members)` : `vault ${c.name} has no Vault Transit slot to anchor to; add one first (coffer vault grant DIR --transit-key NAME --anchor)`);
    if (transit.length > 1) throw new CofferError('USAGE', `vault ${c.name} has ${transit.length} Vault Transit slots; say which one anchors it (--slot ${transit.map((t) => t.slot.obj.body.slot).join(' or --slot ')})`);
    const slot = (transit[0] as { slot: SlotObj }).slot.obj.body;
    const current = transitAnchorAt(c, c.head)?.anchor;
    if (current && current.slot !== slot.slot) throw new CofferError('EXISTS', `vault ${c.name} is already anchored to Vault Transit key ${current.key} (slot ${current.slot}); an anchor is permanent`);
    const ref = parseTransitRecipientString(slot.recipient).ref;
    if (c.desc.strict) {
      const g = parseTransitRecipientString(c.desc.strict).ref;
      if (g.mount === ref.mount && g.key === ref.key) {
        throw new CofferError('USAGE', `Transit key ${ref.mount}/${ref.key} also seals this strict vault's file keys; anchoring raises its min_decryption_version, which would make older sealed keys unreadable. Anchor to a separate key dedicated to this vault`);
      }
    }
    const r = await newEpoch(c, { revoke: [], anchor: 'advance', anchorSlot: slot.slot });
    const a = c.bodyOf(r.epoch).anchor?.transit as TransitAnchor;
    c.freshness.push(`Vault Transit key ${a.key}`);
    return { ...r, anchor: a };
  });
}

/**
 * Writes this vault's freshness anchor (the current epoch) to every hardware key given to unlock it;
 * later rotations and revocations made with the token present update it. Returns the tokens written.
 */
export async function anchorHardware(c: VaultCore): Promise<string[]> {
  return mutate(c, async () => {
    const ids = hardwareIdentities(c.credentials.identities);
    if (ids.length === 0) throw new CofferError('USAGE', `give the hardware key to anchor vault ${c.name} to with -i STUB (its identity stub) and have the token present`);
    const e = c.epochs.get(c.head) as EpochObj;
    await advanceAnchors(c, c.head, e.obj.body.n, `${e.obj.text}\nmac: ${encodeB64(e.obj.mac)}\n`, null, 'create');
    return ids.map((i) => i.tokenName);
  });
}

/** Changes the retention: a new epoch carries it (authenticated like every vault setting). */
export async function setRetention(c: VaultCore, r: Retention): Promise<Retention> {
  const want = checkRetention(r);
  await mutate(c, () => newEpoch(c, { revoke: [], retention: want }));
  return c.retention;
}

/** Migrates a format 1 vault to format 2 now; false if it already was format 2. */
export async function migrate(c: VaultCore): Promise<boolean> {
  c.ensureOpen();
  const was = c.formatVersion;
  await mutate(c, () => Promise.resolve());
  return was !== VAULT_VERSION;
}
