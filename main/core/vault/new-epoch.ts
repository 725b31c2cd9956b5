/**
 * Making an epoch (FORMAT.md §6.6–6.8): a fresh vault key wrapped for every remaining member, the
 * older keys chained into it, a revocation's record manifest, the Transit anchor advanced. Used by
 * rotation, revocation, retention changes, migration, and heal (joining concurrent epochs).
 */
import { CofferError, isCofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { parseTransitRecipientString } from '../keys/transit/slot';
import { Ancestry } from './history';
import { anchorClient, transitStanzaFor } from './anchor';
import type { VaultCore } from './core';
import { EpochKeys, VAULT_KEY_BYTES, parseSignedObject, sealChain, signObject } from './crypto';
import { advanceAnchors, transitAnchorAt } from './freshness';
import { KEYS, SLOTS, epochKey, manifestKey, nowIso, sha256hex, slotKey, wrapKeyName, type EpochBody } from './layout';
import { newEpochId } from './names';
import { rememberManifest, writeManifest } from './records';
import type { SlotBody } from './slots';
import { updateMemory } from './state';
import type { RotateResult } from './types';
import { loadSlots, memberSlots, verifySlots } from './unlock';
import { parseRetention, type Retention } from './versions';

/**
 * Makes a new epoch: a fresh VK wrapped for every remaining member, older keys chained, then (if
 * asked) every record re-encrypted under it. Order: wraps, then the epoch (the commit point), then
 * slots and records; a crash before the commit leaves only leftovers, after it a readable vault.
 */
export async function newEpoch(c: VaultCore, opts: { revoke: string[]; retention?: Retention; anchor?: 'advance' | 'carry'; anchorSlot?: string }): Promise<RotateResult> {
  const t0 = Date.now();
  const na = sodium();
  // Parents: the current epoch and the heads to join; never a fork (history.ts).
  const parents = [c.head, ...c.joinable];
  const members = memberSlots(c).filter((m) => m.status === 'active' && !opts.revoke.includes(m.slot.obj.body.slot));
  if (members.length === 0) throw new CofferError('USAGE', 'this would leave the vault with no way in; add another slot first');
  // The Transit freshness anchor (anchor.ts): permanent once set, so every new epoch carries it; a
  // rotation or revocation ("advance") first rotates the Transit key, and raises min_decryption_version
  // to the new version once the epoch is committed.
  const inherited = parents.map((p) => transitAnchorAt(c, p)).filter((x) => x !== null)
    .sort((a, b) => c.bodyOf(b.epoch).n - c.bodyOf(a.epoch).n)[0]?.anchor;
  const anchorSlotId = opts.anchorSlot ?? inherited?.slot;
  let anchorPlan: { slot: string; recipient: string; ref: { mount: string; key: string }; version: number; client: ReturnType<typeof anchorClient> | null } | null = null;
  if (anchorSlotId !== undefined) {
    const m = members.find((x) => x.slot.obj.body.slot === anchorSlotId && x.slot.obj.body.type === 'vault-transit');
    if (!m) {
      throw new CofferError('VAULT_INVALID', `vault ${c.name} is anchored to Vault Transit slot ${anchorSlotId}, which is no longer an active member, so no new epoch can be anchored; grant that Transit key again (coffer vault grant DIR --transit-key NAME) or ask the vault's owner`);
    }
    const recipient = m.slot.obj.body.recipient;
    anchorPlan = { slot: anchorSlotId, recipient, ref: parseTransitRecipientString(recipient).ref, version: 0, client: null };
    if (opts.anchor === 'advance') {
      const name = `${anchorPlan.ref.mount}/${anchorPlan.ref.key}`;
      try {
        anchorPlan.client = anchorClient(recipient);
        await anchorPlan.client.rotateKey(anchorPlan.ref);
      } catch (e) {
        if (!isCofferError(e)) throw e;
        throw new CofferError(e.code, `vault ${c.name} is anchored to Vault Transit key ${name}: this change must rotate that key (transit/keys/${anchorPlan.ref.key}/rotate) and could not: ${e.message} Nothing was changed.`);
      }
    }
  }
  const revokedFps = memberSlots(c).filter((m) => opts.revoke.includes(m.slot.obj.body.slot)).map((m) => m.slot.obj.body.fingerprint).filter((f) => f !== '');
  // Numbered after the trusted history only: a planted epoch with a huge number changes nothing.
  const n = Math.max(...[...c.trusted].map((e) => c.bodyOf(e).n)) + 1;
  const eid = newEpochId(n);
  const vk = na.secureAlloc(VAULT_KEY_BYTES);
  vk.set(na.randomBytes(VAULT_KEY_BYTES));
  const keys = new EpochKeys(eid, vk, c.id);
  const revoking = opts.revoke.length > 0;
  let epochText = '';
  // A vault setting carried from epoch to epoch (versions.ts); changed only by setRetention.
  const retention = opts.retention ?? parseRetention(c.bodyOf(c.head).retention) ?? undefined;
  const intent = await c.writeIntent('epoch', [epochKey(eid), ...(revoking ? [manifestKey(eid)] : []), ...members.map((m) => wrapKeyName(m.slot.obj.body.slot, eid))]);
  let kept: Set<string> | null = null;
  try {
    let manifest: string | undefined;
    if (revoking) {
      // The records known now: after this revocation, records under the epochs it closes count
      // only if listed here (a removed member still holds those epochs' keys).
      const m = await writeManifest(c, eid);
      manifest = m.hash;
      kept = m.kept;
    }
    for (const m of members) {
      const stanzas = await c.writeWrap(m.slot.obj.body, eid, vk);
      if (anchorPlan && m.slot.obj.body.slot === anchorPlan.slot) {
        const found = transitStanzaFor(stanzas, anchorPlan.ref);
        if (!found) throw new CofferError('INTERNAL', `the Transit wrap for slot ${anchorPlan.slot} has no stanza for ${anchorPlan.ref.mount}/${anchorPlan.ref.key}`);
        anchorPlan.version = found.version;
      }
    }
    const chain: Record<string, string> = {};
    for (const p of parents) chain[p] = sealChain(keys, p, (c.keyring.get(p) as EpochKeys).vk);
    const body: EpochBody = {
      v: 2, vault: c.id, epoch: eid, n, parents, created: nowIso(), descriptor: sha256hex(c.descBytes), chain,
      members: members.map((m) => m.slot.obj.body.slot), revoked: [...opts.revoke], revokedFingerprints: revokedFps,
      memberKeys: Object.fromEntries(members.map((m) => [m.slot.obj.body.slot, sha256hex(Buffer.from(m.slot.obj.body.recipient, 'utf8'))])),
      ...(manifest ? { manifest } : {}),
      ...(anchorPlan ? { anchor: { transit: { slot: anchorPlan.slot, key: `${anchorPlan.ref.mount}/${anchorPlan.ref.key}`, version: anchorPlan.version } } } : {}),
      ...(retention ? { retention } : {}),
    };
    const signed = signObject('epoch', body, keys.mac);
    epochText = signed;
    await c.storage.put(epochKey(eid), signed);
    c.epochs.set(eid, { id: eid, obj: parseSignedObject<EpochBody>(signed, 'epoch') });
    c.keyring.set(eid, keys);
    c.links.set(eid, parents);
    c.ancestry = new Ancestry(c.links);
    c.trusted.add(eid);
    c.joinable = [];
    c.head = eid;
    if (revoking) {
      c.revocations = [...c.revocations, eid].sort();
      c.revocationsKey = c.revocations.join();
      rememberManifest(c, eid, kept);
    }
    await updateMemory(c.stateDir, c.id, { epochN: n, epochId: eid, revocations: revoking ? [eid] : [] });
  } catch (e) {
    await c.storage.delete(intent).catch(() => undefined);
    throw e;
  }
  // Committed. The anchors follow: Transit's min_decryption_version, then the hardware keys present.
  await advanceAnchors(c, eid, n, epochText, anchorPlan, opts.anchor === 'advance' ? 'update' : 'quiet');
  // Re-sign remaining slots under the new epoch; drop the revoked ones and their wraps.
  for (const m of members) {
    const b: SlotBody = { ...m.slot.obj.body, epoch: eid };
    const text = signObject('slot', b, keys.mac);
    await c.storage.put(slotKey(b.slot), text);
  }
  for (const sid of opts.revoke) {
    for (const s of c.slots.filter((x) => x.name.id === sid)) await c.storage.delete(`${SLOTS}/${s.file}`);
    for (const o of await c.storage.list(KEYS)) if (o.name.startsWith(`${sid}.`)) await c.storage.delete(`${KEYS}/${o.name}`);
  }
  await loadSlots(c);
  verifySlots(c);
  // Records are not re-sealed: the new epoch's chain reaches the keys they are under, and after a
  // revocation its manifest vouches for them (docs/FORMAT.md §6.8). Cost: the wraps, not the entries.
  const records = c.index.records.size;
  await c.storage.delete(intent);
  return { epoch: eid, previous: parents, records, slots: members.length, blobsReencrypted: 0, ms: Date.now() - t0 };
}
