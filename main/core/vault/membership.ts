/**
 * Members: key slots and access requests. `grant` wraps the current vault key for a new member (no
 * content is touched), `passwd` changes or adds a passphrase slot, `rewriteSlotWraps` re-makes wraps
 * in place (Vault Transit rewrap). Removing a member is a new epoch: `revoke` in rotation.ts.
 */
import { CofferError } from '../errors';
import { initSodium } from '../crypto/sodium';
import { encodeHeader, parseHeader, verifyHeaderMac } from '../format/header';
import type { Argon2Params } from '../keys/passphrase';
import { parseRecipient } from '../keys/recipients';
import type { Recipient, Stanza } from '../keys/types';
import type { VaultCore } from './core';
import { signObject } from './crypto';
import { REQUESTS, nowIso, readDescriptor, slotKey, wrapKeyName } from './layout';
import { HEX12, newSlotId, parseObjectName } from './names';
import { mutate } from './open';
import { newPassphraseSlotKeys, slotTypeForRecipient, wrapSlotSecret, type SlotBody } from './slots';
import { FsStorage, type VaultStorage } from './storage';
import type { AccessRequest, SlotInfo } from './types';
import { loadSlots, memberSlots, verifySlots } from './unlock';

/** C0, DEL and C1 controls, the line and paragraph separators, and the bidi overrides and isolates. */
const REQUEST_NAME_FORBIDDEN = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** Drops an access request into the vault folder; no key needed. `members` lists it, `grant` approves it. */
export async function requestAccess(dir: string, recipient: string, name: string, storage: VaultStorage = new FsStorage(dir)): Promise<AccessRequest> {
  await initSodium();
  await readDescriptor(storage);
  const r = parseRecipient(recipient);
  const clean = name.trim();
  if (clean === '' || clean.length > 200) throw new CofferError('USAGE', 'give your name (1–200 characters) with --name');
  // Shown to members in `members` and the app: no line breaks, escape sequences or direction overrides.
  if (REQUEST_NAME_FORBIDDEN.test(clean)) {
    throw new CofferError('USAGE', 'your name may not hold control characters (line breaks, tabs, terminal escape sequences) or text-direction overrides; give it as plain text');
  }
  const req: AccessRequest = { id: newSlotId(), name: clean, recipient: recipient.trim(), fingerprint: r.fingerprint ?? '', created: nowIso() };
  await storage.put(`${REQUESTS}/${req.id}.req`, `${JSON.stringify({ v: 1, ...req })}\n`);
  return req;
}

/** Members (key slots) and pending access requests. */
export async function members(c: VaultCore): Promise<{ slots: SlotInfo[]; requests: AccessRequest[] }> {
  c.ensureOpen();
  const slots = memberSlots(c).map(({ slot, status }): SlotInfo => {
    const b = slot.obj.body;
    return { id: b.slot, type: b.type, label: b.label, fingerprint: b.fingerprint, created: b.created, status, current: c.openedBy.has(b.slot) };
  });
  slots.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  return { slots, requests: await requests(c) };
}

export async function requests(c: VaultCore): Promise<AccessRequest[]> {
  const out: AccessRequest[] = [];
  for (const o of await c.storage.list(REQUESTS)) {
    const n = parseObjectName(o.name, '.req', HEX12);
    if (!n) continue;
    try {
      const r = JSON.parse(((await c.storage.get(`${REQUESTS}/${o.name}`)) ?? Buffer.alloc(0)).toString('utf8')) as AccessRequest;
      const rec = parseRecipient(r.recipient);
      out.push({ id: n.id, name: String(r.name).slice(0, 200), recipient: r.recipient, fingerprint: rec.fingerprint ?? '', created: String(r.created) });
    } catch {
      /* malformed requests are ignored */
    }
  }
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

/**
 * Adds a member: `recipient` is a recipient string or the id of a pending access request.
 * No content is re-encrypted: the current VK is wrapped for them (older epochs are reachable through the chain).
 */
export async function grant(c: VaultCore, recipient: string, opts: { label?: string } = {}): Promise<SlotInfo> {
  return mutate(c, async () => {
    const reqs = await requests(c);
    const req = reqs.find((r) => r.id === recipient.trim() || r.recipient === recipient.trim());
    const text = req ? req.recipient : recipient.trim();
    const r: Recipient = parseRecipient(text);
    const type = slotTypeForRecipient(r);
    const existing = memberSlots(c).find((m) => m.slot.obj.body.recipient === text);
    const label = opts.label ?? req?.name ?? existing?.slot.obj.body.label ?? `member ${r.fingerprint ?? ''}`.trim();
    const body: SlotBody = {
      v: 1, vault: c.id, slot: existing?.slot.obj.body.slot ?? newSlotId(), type, label, fingerprint: r.fingerprint ?? '',
      created: existing?.slot.obj.body.created ?? nowIso(), epoch: c.head, recipient: text,
    };
    if (existing && existing.status === 'active') throw new CofferError('EXISTS', `${text.slice(0, 24)}… is already a member (slot ${body.slot})`);
    await c.writeWrap(body, c.head, c.headKeys().vk);
    await c.storage.put(slotKey(body.slot), signObject('slot', body, c.headKeys().mac));
    for (const q of reqs.filter((x) => x.recipient === text)) await c.storage.delete(`${REQUESTS}/${q.id}.req`);
    await loadSlots(c);
    verifySlots(c);
    return { id: body.slot, type, label, fingerprint: body.fingerprint, created: body.created, status: 'active', current: false };
  });
}

/**
 * Changes the passphrase of the passphrase slot that opened the vault (or `slotId`); if the vault
 * was opened another way and has no such slot, adds a passphrase slot. Content is not touched.
 */
export async function passwd(c: VaultCore, newPassphrase: string, opts: { kdf?: Argon2Params; slotId?: string } = {}): Promise<SlotInfo> {
  return mutate(c, async () => {
    const passSlots = memberSlots(c).filter((m) => m.slot.obj.body.type === 'passphrase' && m.status === 'active');
    const target = opts.slotId
      ? passSlots.find((m) => m.slot.obj.body.slot === opts.slotId)
      : passSlots.find((m) => c.slotSecrets.has(m.slot.obj.body.slot));
    if (opts.slotId && !target) throw new CofferError('NOT_FOUND', `no passphrase slot ${opts.slotId}`);
    let body: SlotBody;
    if (target) {
      const sk = c.slotSecrets.get(target.slot.obj.body.slot);
      if (!sk) throw new CofferError('WRONG_PASSPHRASE', `unlock with slot ${target.slot.obj.body.slot}'s current passphrase to change it`);
      body = { ...target.slot.obj.body, epoch: c.head, secret: wrapSlotSecret(sk, newPassphrase, opts.kdf) };
    } else {
      const p = newPassphraseSlotKeys(newPassphrase, opts.kdf);
      body = { v: 1, vault: c.id, slot: newSlotId(), type: 'passphrase', label: 'passphrase', fingerprint: p.recipient.fingerprint, created: nowIso(), epoch: c.head, recipient: p.recipient.toString(), secret: p.secret };
      await c.writeWrap(body, c.head, c.headKeys().vk);
      c.slotSecrets.set(body.slot, p.secretKey);
    }
    await c.storage.put(slotKey(body.slot), signObject('slot', body, c.headKeys().mac));
    await loadSlots(c);
    verifySlots(c);
    return { id: body.slot, type: body.type, label: body.label, fingerprint: body.fingerprint, created: body.created, status: 'active', current: true };
  });
}

/**
 * Rewrites existing key-slot wraps without changing any vault key: `transform` receives every wrap
 * of an epoch this vault has open (slot, epoch, stanzas) at once and returns replacement stanzas
 * (null keeps a wrap). The header MAC is recomputed with that epoch's key. `coffer vault rewrap`
 * uses it to move Vault Transit stanzas to the latest key version with a batched transit/rewrap.
 */
export async function rewriteSlotWraps(c: VaultCore, transform: (wraps: readonly { slot: SlotBody; epoch: string; stanzas: readonly Stanza[] }[]) => Promise<(Stanza[] | null)[]>): Promise<number> {
  c.ensureOpen();
  return mutate(c, async () => {
    const wraps: { slot: SlotBody; epoch: string; stanzas: readonly Stanza[]; key: string; vk: Uint8Array }[] = [];
    for (const slot of c.slots) {
      const b = slot.obj.body;
      if (b.slot !== slot.name.id) continue;
      for (const [epoch, keys] of c.keyring) {
        if (!c.trusted.has(epoch)) continue;
        const key = wrapKeyName(b.slot, epoch);
        let header;
        try {
          const bytes = await c.storage.get(key);
          if (!bytes) continue;
          header = parseHeader(bytes);
          verifyHeaderMac(header, keys.vk);
        } catch {
          continue; // not made with this epoch's key: left for verify to report
        }
        wraps.push({ slot: b, epoch, stanzas: header.stanzas, key, vk: keys.vk });
      }
    }
    if (wraps.length === 0) return 0;
    const next = await transform(wraps.map(({ slot, epoch, stanzas }) => ({ slot, epoch, stanzas })));
    let n = 0;
    for (const [i, w] of wraps.entries()) {
      const st = next[i];
      if (!st) continue;
      await c.storage.put(w.key, encodeHeader(st, w.vk));
      n++;
    }
    return n;
  });
}
