/**
 * Freshness anchors on the vault side (anchor.ts has the Transit and hardware-token mechanics;
 * FORMAT.md §6.17): which Transit anchor is in force at an epoch, the checks on open (hardware
 * anchors read once, the Transit key asked), and the anchors advanced after a new epoch is committed.
 */
import { isCofferError } from '../errors';
import { parseHeader, verifyHeaderMac } from '../format/header';
import type { Stanza } from '../keys/types';
import {
  anchorClient, checkTransitAnchor, epochFileHash, hardwareIdentities, keyRefOf, readHardwareAnchor, writeHardwareAnchor,
  type TransitAnchor,
} from './anchor';
import type { VaultCore } from './core';
import { DESCRIPTOR_KEY, epochKey, wrapKeyName } from './layout';

/**
 * The Transit anchor in force at `epoch`: the newest anchored epoch on its verified history (an
 * anchor is permanent, so descendants of an anchored epoch are held to it even if they omit it).
 */
export function transitAnchorAt(c: VaultCore, epoch: string): { epoch: string; anchor: TransitAnchor } | null {
  let best: { epoch: string; anchor: TransitAnchor; n: number } | null = null;
  for (const e of c.ancestry.of(epoch)) {
    const b = c.epochs.get(e)?.obj.body;
    const t = b?.anchor?.transit;
    if (b && t && (!best || b.n > best.n)) best = { epoch: e, anchor: t, n: b.n };
  }
  return best ? { epoch: best.epoch, anchor: best.anchor } : null;
}

/** On open: hardware keys given may hold this vault's freshness anchor (read once, then required on every load). */
export async function readHardwareAnchors(c: VaultCore): Promise<void> {
  for (const id of hardwareIdentities(c.credentials.identities)) {
    // A token is never prompted only for this where this computer's state already guards against
    // rollback and another key opened the vault; on a first open the anchor is worth one PIN.
    if (c.hadState && !id.hasPin) continue;
    const r = await readHardwareAnchor(id, c.id, c.ui);
    if (r.error) {
      const msg = `could not read the freshness anchor of vault ${c.name} on ${r.token} (${r.error.message})`;
      if (!c.hadState) c.openWarnings.push(`${msg}: this computer cannot use it to rule out a rollback`);
      else c.problem({ severity: 'info', code: 'ANCHOR', object: DESCRIPTOR_KEY, message: msg });
      continue;
    }
    if (!r.anchor) continue;
    c.hwAnchors.push({ id: r.anchor.epoch, source: `hardware key ${r.token}`, hash: r.anchor.hash });
    c.freshness.push(`hardware key ${r.token}`);
  }
}

/** On open: the Transit anchor, if the history has one (anchor.ts). */
export async function confirmTransitAnchor(c: VaultCore, current: string): Promise<void> {
  const found = transitAnchorAt(c, current);
  if (!found) return;
  const a = found.anchor;
  const slot = c.slots.find((s) => s.verified && s.obj.body.slot === a.slot && s.obj.body.type === 'vault-transit');
  const recipient = slot?.obj.body.recipient ?? `vault-transit:${a.key}`;
  const vk = c.headKeysOf(current).vk;
  let stanzas: Stanza[] | null = null;
  try {
    const raw = await c.storage.get(wrapKeyName(a.slot, current));
    if (raw) {
      const h = parseHeader(raw);
      verifyHeaderMac(h, vk);
      stanzas = [...h.stanzas];
    }
  } catch (e) {
    if (!isCofferError(e)) throw e;
    stanzas = null;
  }
  let res;
  try {
    res = await checkTransitAnchor({
      vaultName: c.name, epoch: current, anchor: a, recipient, stanzas, epochKey: vk, proved: c.unlockedVia.get(current) === a.slot, ui: c.ui,
    });
  } catch (e) {
    // A key that no longer exists cannot confirm anything; where state protects, say so and go on.
    if (c.hadState && isCofferError(e) && e.code === 'VAULT_ROLLBACK' && /no longer exists/.test(e.message)) {
      c.openWarnings.push(e.message);
      return;
    }
    throw e;
  }
  if (res.status === 'unreachable') {
    const msg = `vault ${c.name} is anchored to Vault Transit key ${a.key}, but Vault could not be asked (${res.reason})`;
    if (!c.hadState) c.openWarnings.push(`${msg}: this computer has not opened it before, so it cannot rule out a rollback to an older copy (for example one from before a member was removed). Configure Vault and open it again, or confirm with another member that epoch ${current} is the newest`);
    else c.problem({ severity: 'info', code: 'ANCHOR', object: DESCRIPTOR_KEY, message: msg });
    return;
  }
  c.freshness.push(`Vault Transit key ${a.key}`);
  // An anchored change that stopped before raising min_decryption_version: finish it.
  const own = c.bodyOf(current).anchor?.transit;
  if (own && own.slot === a.slot && own.version > res.minDecryption) {
    try {
      await anchorClient(recipient).setMinDecryptionVersion(keyRefOf(own), own.version);
    } catch (e) {
      if (!isCofferError(e)) throw e;
      c.problem({ severity: 'warning', code: 'ANCHOR', object: epochKey(current), message: `could not raise min_decryption_version of Transit key ${a.key} to ${own.version} (${e.message}); the next change retries` });
    }
  }
}

/**
 * After a committed epoch: raises the Transit anchor, and updates the hardware anchors that exist on
 * the tokens given (`hw`: 'create' also creates one; 'update' may ask for a PIN, as a rotation or
 * revocation is an explicit act with the token given; 'quiet' only where the PIN is held, so an
 * automatic join never prompts). Failures are warnings: the epoch is already made.
 */
export async function advanceAnchors(c: VaultCore, eid: string, n: number, epochText: string, plan: { recipient: string; ref: { mount: string; key: string }; version: number; client: ReturnType<typeof anchorClient> | null } | null, hw: 'create' | 'update' | 'quiet'): Promise<void> {
  const hwCreate = hw === 'create';
  if (plan?.client) {
    try {
      await plan.client.setMinDecryptionVersion(plan.ref, plan.version);
    } catch (e) {
      if (!isCofferError(e)) throw e;
      c.openWarnings.push(`epoch ${eid} is made, but min_decryption_version of Vault Transit key ${plan.ref.mount}/${plan.ref.key} could not be raised to ${plan.version} (${e.message}); until it is, older copies of the folder are not refused. The next open with Vault reachable, or the next change, retries`);
    }
  }
  for (const id of hardwareIdentities(c.credentials.identities)) {
    if (hw === 'quiet' && !id.hasPin) continue;
    try {
      const wrote = await writeHardwareAnchor(id, { v: 1, vault: c.id, epoch: eid, n, hash: epochFileHash(epochText) }, c.ui, !hwCreate);
      if (wrote && hwCreate) c.freshness.push(`hardware key ${id.tokenName}`);
    } catch (e) {
      if (!isCofferError(e)) throw e;
      c.openWarnings.push(`epoch ${eid} is made, but the freshness anchor on ${id.tokenName} could not be updated (${e.message}); run coffer vault anchor DIR --hwkey with the token present`);
      if (hwCreate) throw e;
    }
  }
}
