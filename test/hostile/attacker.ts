/**
 * What an attacker who can write to the vault folder does, built from the format alone
 * (docs/FORMAT.md §6), never through the Vault class: the hostile tests use it to perform the
 * attacks of issue 9 for real.
 *
 *   W (no key)          plants files: epochs with any number, slots, key wraps, records.
 *   R (removed member)  also kept the vault key of every epoch they were a member of, so they can
 *                       make objects that authenticate under those epochs: forks, slots, records.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sodium } from '../../main/core/crypto/sodium';
import { encodeHeader, parseHeader, verifyHeaderMac } from '../../main/core/format/header';
import { unwrapKey } from '../../main/core/format/file';
import { encryptPayload } from '../../main/core/format/stream';
import { encodeB64 } from '../../main/core/format/base64';
import { PassphraseRecipient } from '../../main/core/keys/passphrase';
import { X25519Identity } from '../../main/core/keys/x25519';
import { nonInteractiveUI } from '../../main/core/keys/types';
import { EpochKeys, sealChain, sealRecord, signObject } from '../../main/core/vault/crypto';
import { newEpochId, newId, newSlotId } from '../../main/core/vault/names';
import { slotKind, type SlotBody } from '../../main/core/vault/slots';
import type { EpochBody } from '../../main/core/vault';
import type { RecordBody } from '../../main/core/vault/types';

const sha256hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

export function vaultIdOf(dir: string): string {
  return (JSON.parse(readFileSync(path.join(dir, 'coffer-vault.json'), 'utf8')) as { id: string }).id;
}

export function epochIds(dir: string): string[] {
  return readdirSync(path.join(dir, 'epochs')).filter((n) => n.endsWith('.epoch')).map((n) => n.slice(0, -'.epoch'.length)).sort();
}

export function epochBody(dir: string, id: string): EpochBody {
  return JSON.parse(readFileSync(path.join(dir, 'epochs', `${id}.epoch`), 'utf8').split('\n')[0] as string) as EpochBody;
}

/** Slot bodies as the files say (unauthenticated: the attacker reads public data only). */
export function slotBodies(dir: string): SlotBody[] {
  return readdirSync(path.join(dir, 'slots')).filter((n) => /^[0-9a-f]{12}\.slot$/.test(n))
    .map((n) => JSON.parse(readFileSync(path.join(dir, 'slots', n), 'utf8').split('\n')[0] as string) as SlotBody);
}

/** R unwraps the vault key of `epoch` from their own key wrap (what a member's client does at every open). */
export async function stealEpochKeys(dir: string, slot: string, who: X25519Identity, epoch: string): Promise<EpochKeys> {
  const header = parseHeader(readFileSync(path.join(dir, 'keys', `${slot}.${epoch}.key`)));
  const vk = await unwrapKey(header.stanzas, [who], nonInteractiveUI, (k) => verifyHeaderMac(header, k));
  return new EpochKeys(epoch, Uint8Array.from(vk), vaultIdOf(dir));
}

/** A copy of stolen keys for use in another place (EpochKeys are wiped by their owner). */
export function copyKeys(k: EpochKeys): EpochKeys {
  return new EpochKeys(k.epochId, Uint8Array.from(k.vk), k.vaultId);
}

export interface Forked {
  readonly epoch: string;
  readonly keys: EpochKeys;
  /** The attacker's own new slot, if one was added. */
  readonly slot: string | null;
}

/**
 * R's fork (finding 2): a new epoch whose chain holds the key R kept (`from`), wrapped for every
 * member listed in the folder's slots, plus a slot for a fresh key of R's own, all signed correctly
 * under the fork. Without `from` it is W's variant: a fresh history with no link to the real one.
 */
export async function forkEpoch(dir: string, from: EpochKeys | null, opts: { n?: number; ownRecipient?: string; skipSlots?: string[] } = {}): Promise<Forked> {
  const na = sodium();
  const vault = vaultIdOf(dir);
  const n = opts.n ?? (from ? Number(from.epochId.slice(0, 8)) + 1 : 1);
  const eid = newEpochId(n);
  const vk = Uint8Array.from(na.randomBytes(32));
  const keys = new EpochKeys(eid, vk, vault);
  const members = slotBodies(dir).filter((s) => !(opts.skipSlots ?? []).includes(s.slot));
  const created = new Date().toISOString();
  let own: SlotBody | null = null;
  if (opts.ownRecipient) {
    own = { v: 1, vault, slot: newSlotId(), type: 'x25519', label: 'Bob (new laptop)', fingerprint: '', created, epoch: eid, recipient: opts.ownRecipient };
  }
  const all = own ? [...members, own] : members;
  for (const s of all) {
    const stanzas = await slotKind(s.type).recipient(s).wrap(vk);
    writeFileSync(path.join(dir, 'keys', `${s.slot}.${eid}.key`), encodeHeader(stanzas, vk));
  }
  if (own) writeFileSync(path.join(dir, 'slots', `${own.slot}.slot`), signObject('slot', own, keys.mac));
  const body: EpochBody = {
    v: 2, vault, epoch: eid, n, parents: from ? [from.epochId] : [], created,
    descriptor: sha256hex(readFileSync(path.join(dir, 'coffer-vault.json'))),
    chain: from ? { [from.epochId]: sealChain(keys, from.epochId, from.vk) } : {},
    members: all.map((s) => s.slot), revoked: [], revokedFingerprints: [],
    memberKeys: Object.fromEntries(all.map((s) => [s.slot, sha256hex(s.recipient)])),
  };
  writeFileSync(path.join(dir, 'epochs', `${eid}.epoch`), signObject('epoch', body, keys.mac));
  return { epoch: eid, keys, slot: own?.slot ?? null };
}

/** R writes a file entry sealed under an epoch whose key R holds: a new blob and a record (finding 4). */
export async function forgeFile(dir: string, keys: EpochKeys, entry: { id?: string; parent?: string; name: string; version?: number; content: string }): Promise<string> {
  const na = sodium();
  const k = Uint8Array.from(na.randomBytes(32));
  const blob = newId();
  await pipeline(Readable.from([Buffer.from(entry.content)]), encryptPayload(k), createWriteStream(path.join(dir, 'blobs', `${blob}.blob`)));
  const id = entry.id ?? newId();
  const body: RecordBody = {
    v: 1, id, type: 'file', parent: entry.parent ?? '', name: entry.name, size: Buffer.byteLength(entry.content), mtime: Date.now(),
    version: entry.version ?? 1, key: encodeB64(k), blob,
  };
  writeFileSync(path.join(dir, 'records', `${id}.rec`), sealRecord(keys, id, Buffer.from(JSON.stringify(body), 'utf8')));
  return id;
}

/** W plants an epoch file it cannot authenticate (a random MAC), optionally naming parents. */
export function plantEpoch(dir: string, n: number, parents: string[] = []): string {
  const eid = newEpochId(n);
  const body = {
    v: 2, vault: vaultIdOf(dir), epoch: eid, n, parents, created: new Date().toISOString(), descriptor: '0'.repeat(64), chain: {},
    members: [], revoked: [], revokedFingerprints: [],
  };
  writeFileSync(path.join(dir, 'epochs', `${eid}.epoch`), `${JSON.stringify(body)}\nmac: ${randomBytes(32).toString('base64').replace(/=+$/, '')}\n`);
  return eid;
}

/**
 * W plants a passphrase slot (its own key pair, the secret wrapped by Argon2id under W's passphrase,
 * a random MAC) and, for every epoch given, a key wrap for it and one for `alsoFor` (public data)
 * where that slot has none.
 */
export async function plantPassphraseSlot(dir: string, epochs: string[], alsoFor: SlotBody[] = []): Promise<string> {
  const na = sodium();
  const kp = na.boxKeypair();
  const id = new X25519Identity(kp.secretKey);
  const recipient = id.recipient();
  const slot = newSlotId();
  const secret = encodeHeader(new PassphraseRecipient('not your passphrase', { opsLimit: 1, memKiB: 8 }).wrap(kp.secretKey), kp.secretKey).toString('latin1');
  const body: SlotBody = {
    v: 1, vault: vaultIdOf(dir), slot, type: 'passphrase', label: 'passphrase', fingerprint: recipient.fingerprint, created: new Date().toISOString(),
    epoch: epochs[0] ?? '00000001-00000000', recipient: recipient.toString(), secret,
  };
  writeFileSync(path.join(dir, 'slots', `${slot}.slot`), `${JSON.stringify(body)}\nmac: ${randomBytes(32).toString('base64').replace(/=+$/, '')}\n`);
  for (const e of epochs) {
    for (const s of [body, ...alsoFor]) {
      if (s !== body && existsSync(path.join(dir, 'keys', `${s.slot}.${e}.key`))) continue; // a real wrap stays
      const vk = Uint8Array.from(na.randomBytes(32));
      writeFileSync(path.join(dir, 'keys', `${s.slot}.${e}.key`), encodeHeader(await slotKind(s.type).recipient(s).wrap(vk), vk));
    }
  }
  return slot;
}
