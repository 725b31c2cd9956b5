/**
 * Unlocking: reads the epoch and slot files, opens the epochs the given keys reach (their wraps in
 * keys/), follows each opened epoch's chain to the older keys, authenticates the slots, and says
 * who is a member. open.ts runs these on every load; which history counts is history.ts's choice.
 */
import { timingSafeEqual } from 'node:crypto';
import { CofferError, isCofferError } from '../errors';
import { sodium } from '../crypto/sodium';
import { parseHeader, verifyHeaderMac } from '../format/header';
import { unwrapKey } from '../format/file';
import { validEpochAnchor } from './anchor';
import type { SlotObj, VaultCore, EpochObj } from './core';
import { EpochKeys, VAULT_KEY_BYTES, openChain, parseSignedObject, verifyObject } from './crypto';
import { EPOCHS, KEYS, SLOTS, VAULT_LIMITS, epochKey, sha256hex, wrapKeyName, type EpochBody } from './layout';
import { EPOCH_ID_RE, EPOCH_PAT, HEX12, SLOT_ID_RE, epochNumber, parseObjectName } from './names';
import { slotKind, type SlotBody, type SlotIdentities } from './slots';

export async function loadEpochs(c: VaultCore): Promise<void> {
  const out = new Map<string, EpochObj>();
  const listing = await c.storage.list(EPOCHS);
  const count = listing.filter((o) => o.name.endsWith('.epoch')).length;
  if (count > VAULT_LIMITS.epochFiles) {
    throw new CofferError('VAULT_INVALID', `${c.location}/${EPOCHS} holds ${count} epoch files, more than any vault makes (at most ${VAULT_LIMITS.epochFiles}): the folder was flooded; restore it from a good copy`);
  }
  for (const o of listing) {
    if (parseObjectName(o.name, '.manifest', EPOCH_PAT)?.conflict === null) continue; // read with its revocation
    const n = parseObjectName(o.name, '.epoch', EPOCH_PAT);
    if (!n) {
      c.problem({ severity: 'warning', code: 'UNKNOWN_FILE', object: `${EPOCHS}/${o.name}`, message: 'not an epoch file' });
      continue;
    }
    if (n.conflict) continue; // epochs are written once; a conflict copy adds nothing
    try {
      const raw = await c.storage.get(`${EPOCHS}/${o.name}`);
      const obj = parseSignedObject<EpochBody>((raw ?? Buffer.alloc(0)).toString('utf8'), `epoch ${n.id}`);
      const b = obj.body;
      const strings = (a: unknown): boolean => Array.isArray(a) && a.every((x) => typeof x === 'string');
      if ((b.v !== 1 && b.v !== 2) || b.vault !== c.id || b.epoch !== n.id || b.n !== epochNumber(n.id) || !Array.isArray(b.parents)
        || b.parents.some((p) => typeof p !== 'string' || !EPOCH_ID_RE.test(p) || epochNumber(p) >= b.n)
        || typeof b.chain !== 'object' || b.chain === null || Array.isArray(b.chain) || Object.values(b.chain).some((x) => typeof x !== 'string')
        || !strings(b.members) || !strings(b.revoked) || !strings(b.revokedFingerprints)
        || (b.memberKeys !== undefined && (typeof b.memberKeys !== 'object' || b.memberKeys === null || Array.isArray(b.memberKeys)))
        || (b.manifest !== undefined && (typeof b.manifest !== 'string' || !/^[0-9a-f]{64}$/.test(b.manifest)))
        || !validEpochAnchor(b.anchor)) {
        throw new CofferError('VAULT_TAMPERED', `epoch ${n.id} does not belong to this vault or is malformed`);
      }
      out.set(n.id, { id: n.id, obj });
    } catch (e) {
      c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: `${EPOCHS}/${o.name}`, message: (e as Error).message });
    }
  }
  c.epochs = out;
}

export async function loadSlots(c: VaultCore): Promise<void> {
  const out: SlotObj[] = [];
  const listing = await c.storage.list(SLOTS);
  if (listing.length > VAULT_LIMITS.slotFiles) {
    throw new CofferError('VAULT_INVALID', `${c.location}/${SLOTS} holds ${listing.length} files, more than any vault makes (at most ${VAULT_LIMITS.slotFiles}): the folder was flooded; restore it from a good copy`);
  }
  for (const o of listing) {
    const n = parseObjectName(o.name, '.slot', HEX12);
    const object = `${SLOTS}/${o.name}`;
    if (!n) {
      c.problem({ severity: 'warning', code: 'UNKNOWN_FILE', object, message: 'not a slot file' });
      continue;
    }
    try {
      const raw = await c.storage.get(object);
      const obj = parseSignedObject<SlotBody>((raw ?? Buffer.alloc(0)).toString('utf8'), `slot ${n.id}`);
      out.push({ file: o.name, name: n, obj, verified: false });
    } catch (e) {
      c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object, message: (e as Error).message });
    }
  }
  // Originals first, then conflict copies, each in name order: deterministic.
  out.sort((a, b) => Number(a.name.conflict !== null) - Number(b.name.conflict !== null) || a.file.localeCompare(b.file));
  c.slots = out;
}

/**
 * The identities a slot yields for the credentials given, derived at most once per slot content
 * for the life of this object (a failure too: a planted passphrase slot costs one Argon2id, never
 * one per epoch or per change).
 */
async function identitiesFor(c: VaultCore, slot: SlotObj, errors: CofferError[]): Promise<SlotIdentities | null> {
  const key = `${slot.file}\0${slot.obj.text}`;
  let hit = c.slotIdentityCache.get(key);
  if (!hit) {
    try {
      hit = { ids: await slotKind(slot.obj.body.type).identities(slot.obj.body, c.credentials, c.ui) };
    } catch (e) {
      if (!isCofferError(e)) throw e;
      hit = { error: e };
    }
    c.slotIdentityCache.set(key, hit);
  }
  if (hit.error) {
    if (!errors.includes(hit.error)) errors.push(hit.error);
    return null;
  }
  return hit.ids ?? null;
}

function addKeys(c: VaultCore, keys: EpochKeys): void {
  const old = c.keyring.get(keys.epochId);
  if (old) {
    keys.wipe();
    return;
  }
  c.keyring.set(keys.epochId, keys);
}

/** Tries the slots that have a wrap of `epoch`; returns true when VK_epoch is in the keyring. */
async function unlockEpoch(c: VaultCore, epoch: string, errors: CofferError[]): Promise<boolean> {
  if (c.keyring.has(epoch)) return true;
  const eobj = c.epochs.get(epoch);
  if (!eobj) return false;
  const na = sodium();
  // Every slot is tried with the keys that need no person first (member keys, recovery key,
  // passphrase); only then are tokens asked for a PIN, so a hardware key is never prompted when
  // another key given already opens the vault (slots are in random id order). A slot is derived
  // only where a wrap of this epoch exists for it.
  for (const interactive of [false, true]) {
    for (const slot of c.slots) {
      const b = slot.obj.body;
      if (b.slot !== slot.name.id || !c.wrapNames.has(`${b.slot}.${epoch}.key`)) continue;
      const ids = await identitiesFor(c, slot, errors);
      if (!ids) continue;
      const use = ids.identities.filter((id) => id.interactive === interactive);
      if (use.length === 0) continue;
      let wrap: Buffer | null;
      try {
        wrap = await c.storage.get(wrapKeyName(b.slot, epoch));
      } catch (e) {
        if (!isCofferError(e)) throw e;
        c.problem({ severity: 'error', code: e.code, object: wrapKeyName(b.slot, epoch), message: e.message });
        errors.push(e);
        continue;
      }
      if (!wrap) continue;
      let vk: Uint8Array;
      try {
        const header = parseHeader(wrap);
        vk = await unwrapKey(header.stanzas, use, c.ui, (k) => verifyHeaderMac(header, k));
      } catch (e) {
        if (isCofferError(e) && e.code !== 'NO_IDENTITY' && e.code !== 'HEADER_MAC') errors.push(e);
        continue;
      }
      const secure = na.secureAlloc(VAULT_KEY_BYTES);
      secure.set(vk);
      na.memzero(vk);
      const keys = new EpochKeys(epoch, secure, c.id);
      if (!verifyObject('epoch', eobj.obj, keys.mac)) {
        // A wrap planted with a key of someone's own making: report it, and keep trying the others.
        keys.wipe();
        c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: epochKey(epoch), message: `epoch ${epoch} failed authentication with the key in ${wrapKeyName(b.slot, epoch)} (altered or forged)` });
        continue;
      }
      addKeys(c, keys);
      c.openedBy.add(b.slot);
      c.unlockedVia.set(epoch, b.slot);
      if (ids.secret && b.type === 'passphrase' && !c.slotSecrets.has(b.slot)) {
        const s = na.secureAlloc(32);
        s.set(ids.secret);
        c.slotSecrets.set(b.slot, s);
      }
      return true;
    }
  }
  return false;
}

/**
 * Opens the epochs these keys reach: newest first, each epoch not already reached through a verified
 * chain is tried where a wrap of it exists (at most VAULT_LIMITS.epochTries per open), then every
 * opened epoch's chain is followed. Fills the keyring and the verified links.
 */
export async function openEpochs(c: VaultCore, errors: CofferError[]): Promise<void> {
  // Keys kept from an earlier load must still match the epoch files as they are now.
  for (const [id, keys] of [...c.keyring]) {
    const e = c.epochs.get(id);
    if (e && verifyObject('epoch', e.obj, keys.mac)) continue;
    keys.wipe();
    c.keyring.delete(id);
    if (e) c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: epochKey(id), message: `epoch ${id} failed authentication (altered or forged)` });
  }
  c.wrapNames = new Set((await c.storage.list(KEYS)).map((o) => o.name));
  c.links = new Map();
  const linked = new Set<string>();
  const order = [...c.epochs.values()].sort((a, b) => b.obj.body.n - a.obj.body.n || (a.id < b.id ? 1 : -1));
  const slotIds = [...new Set(c.slots.map((s) => s.name.id))];
  let tried = 0;
  let untried = 0;
  for (const e of order) {
    if (c.keyring.has(e.id)) {
      expandChains(c, [e.id], linked);
      continue;
    }
    if (!slotIds.some((sid) => c.wrapNames.has(`${sid}.${e.id}.key`))) continue;
    if (tried >= VAULT_LIMITS.epochTries) {
      untried++;
      continue;
    }
    tried++;
    if (await unlockEpoch(c, e.id, errors)) expandChains(c, [e.id], linked);
  }
  if (untried > 0) {
    c.problem({ severity: 'warning', code: 'VAULT_INVALID', object: EPOCHS, message: `${untried} more epochs with key wraps were not tried (at most ${VAULT_LIMITS.epochTries} per open): the folder may have been flooded with epoch files` });
  }
}

/** Follows `chain` from the given epochs: opens older epochs and records each verified link once. */
function expandChains(c: VaultCore, start: string[], linked: Set<string>): void {
  const queue = [...start];
  while (queue.length > 0) {
    const eid = queue.shift() as string;
    if (linked.has(eid)) continue;
    linked.add(eid);
    const keys = c.keyring.get(eid);
    const e = c.epochs.get(eid);
    if (!keys || !e) continue;
    const parents: string[] = [];
    for (const [pid, sealed] of Object.entries(e.obj.body.chain)) {
      if (!e.obj.body.parents.includes(pid)) continue;
      const pe = c.epochs.get(pid);
      if (!pe) {
        c.problem({ severity: 'warning', code: 'VAULT_INVALID', object: epochKey(pid), message: `epoch ${pid} is missing (referenced by ${eid})` });
        continue;
      }
      try {
        const vk = openChain(keys, pid, sealed);
        const pk = new EpochKeys(pid, vk, c.id);
        if (!verifyObject('epoch', pe.obj, pk.mac)) {
          pk.wipe();
          throw new CofferError('VAULT_TAMPERED', `epoch ${pid} failed authentication (altered or forged)`);
        }
        const have = c.keyring.get(pid);
        if (have && !timingSafeEqual(have.vk, pk.vk)) {
          pk.wipe();
          throw new CofferError('VAULT_TAMPERED', `epoch ${eid} holds a different key for epoch ${pid}`);
        }
        addKeys(c, pk);
        parents.push(pid);
        queue.push(pid);
      } catch (e2) {
        c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: epochKey(pid), message: (e2 as Error).message });
      }
    }
    c.links.set(eid, parents);
  }
}

export function verifySlots(c: VaultCore): void {
  for (const s of c.slots) {
    const b = s.obj.body;
    const epoch = typeof b.epoch === 'string' ? b.epoch : '';
    const keys = c.trusted.has(epoch) ? c.keyring.get(epoch) : undefined;
    s.verified = !!keys && b.v === 1 && b.vault === c.id && b.slot === s.name.id && SLOT_ID_RE.test(b.slot) && verifyObject('slot', s.obj, keys.mac);
    if (s.verified) continue;
    if (!keys && c.keyring.has(epoch)) {
      c.problem({ severity: 'warning', code: 'FORK', object: `${SLOTS}/${s.file}`, message: `slot ${s.name.id} is signed under epoch ${epoch}, which is not part of this vault's history (a fork): it is not a member and gets no keys` });
    } else if (!keys && c.epochs.has(epoch)) {
      c.problem({ severity: 'warning', code: 'VAULT_INVALID', object: `${SLOTS}/${s.file}`, message: `slot ${s.name.id} is signed under epoch ${epoch}, which these keys cannot open` });
    } else {
      c.problem({ severity: 'error', code: 'VAULT_TAMPERED', object: `${SLOTS}/${s.file}`, message: `slot ${s.name.id} failed authentication (altered, forged or from another vault)` });
    }
  }
}

/** One verified slot object per slot id, with its membership status; revoked slots left out. */
export function memberSlots(c: VaultCore): { slot: SlotObj; status: 'active' | 'unconfirmed' }[] {
  const out = new Map<string, { slot: SlotObj; status: 'active' | 'unconfirmed' }>();
  const revs = c.revocations.map((id) => c.bodyOf(id));
  const anc = c.ancestry;
  // A revocation applies to slots signed under epochs that do not descend from it (verified links);
  // a key granted again afterwards (signed under a descendant) is a deliberate new member.
  const revokedBy = (b: SlotBody): boolean => revs.some((r) => (r.revoked.includes(b.slot) || (b.fingerprint !== '' && r.revokedFingerprints.includes(b.fingerprint)))
    && !anc.descends(b.epoch, r.epoch));
  // A slot signed under an epoch that does not descend from a revocation counts only if that
  // revocation kept it (by id and, from format 2, by the hash of its recipient): otherwise it was
  // made concurrently with the revocation, or forged by someone holding an older key.
  const keptBy = (b: SlotBody, r: EpochBody): boolean => r.members.includes(b.slot)
    && (r.memberKeys === undefined || (Object.hasOwn(r.memberKeys, b.slot) && r.memberKeys[b.slot] === sha256hex(Buffer.from(String(b.recipient), 'utf8'))));
  for (const s of c.slots) {
    if (!s.verified) continue;
    const b = s.obj.body;
    if (out.has(b.slot) || revokedBy(b)) continue;
    const unconfirmed = revs.some((r) => !anc.descends(b.epoch, r.epoch) && !keptBy(b, r));
    out.set(b.slot, { slot: s, status: unconfirmed ? 'unconfirmed' : 'active' });
  }
  return [...out.values()];
}
